"""Detection scores (issue #6): placeholder until the view lands."""

import streamlit as st

st.title("Detection scores")
st.info("This view is being built (issue #6). The Home page shows the model, image and DeepFool result.")
