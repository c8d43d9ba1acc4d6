"""The guided tour's start page: the steps, a start button, larger fonts for a projector."""

import streamlit as st

from app import tour


def main() -> None:
    st.title("Guided tour")
    st.markdown("Eight steps through the views that tell the story of Fawzi et al. (CVPR 2018): the boundary "
                "is flat in most directions and curved in a few, regions are connected, and curvature "
                "detects perturbed images. Each step opens a view with its settings; **Next** and **Back** sit "
                "in a bar on top of every page while the tour runs. Made for a classroom projector: switch on "
                "larger fonts below or in the bar.")
    c = st.columns([1, 2])
    c[0].button("Start the tour", key="tour_start", type="primary", on_click=tour.go, args=(0,))
    if not st.session_state.get(tour.K_ACTIVE):  # while the tour runs, its bar above holds the switch
        tour.fonts_toggle(c[1])
    for i, step in enumerate(tour.STEPS):
        with st.container(border=True):
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.markdown(f"**{i + 1}. {step.title}** — {step.text}")
            right.button("Open", key=f"tour_open_{i}", on_click=tour.go, args=(i,))


main()
