"""Connecting paths (issue #5): placeholder until the view lands."""

import streamlit as st

st.title("Connecting paths")
st.info("This view is being built (issue #5). The Home page shows the model, image and DeepFool result.")
