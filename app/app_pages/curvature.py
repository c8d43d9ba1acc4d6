"""Curvature spectra (issue #4): placeholder until the view lands."""

import streamlit as st

st.title("Curvature spectra")
st.info("This view is being built (issue #4). The Home page shows the model, image and DeepFool result.")
