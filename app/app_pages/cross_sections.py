"""Boundary cross-sections (issue #3): placeholder until the view lands."""

import streamlit as st

st.title("Boundary cross-sections")
st.info("This view is being built (issue #3). The Home page shows the model, image and DeepFool result.")
