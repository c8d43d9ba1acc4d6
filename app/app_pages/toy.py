"""2-D toy (teaching): placeholder until the view lands."""

import streamlit as st

st.title("2-D toy: the whole input space")
st.info("This teaching view is being built.")
