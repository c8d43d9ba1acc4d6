"""Decision Atlas: the Streamlit entry point. A router and picture frame: the shared sidebar, then the page.

Run with `decision-atlas ui` or `streamlit run app/streamlit_app.py`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import share, sidebar, state, tour

PAGES = Path(__file__).parent / "app_pages"


def run() -> None:
    """Build the navigation and run the selected page (a function, so tests can drive it)."""
    st.set_page_config(page_title="Decision Atlas", page_icon=":material/explore:", layout="wide")
    nav = st.navigation([
        st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True),
        st.Page(PAGES / "cross_sections.py", title="Cross-sections", icon=":material/grid_on:"),
        st.Page(PAGES / "curvature.py", title="Curvature", icon=":material/ssid_chart:"),
        st.Page(PAGES / "paths.py", title="Connecting paths", icon=":material/route:"),
        st.Page(PAGES / "detection.py", title="Detection", icon=":material/policy:"),
        st.Page(PAGES / "compare.py", title="Compare models", icon=":material/compare:"),
        st.Page(PAGES / "findings.py", title="Findings", icon=":material/fact_check:"),
        st.Page(PAGES / "toy.py", title="2-D toy", icon=":material/school:"),
        st.Page(PAGES / "tour.py", title="Guided tour", icon=":material/tour:"),
    ])
    page = nav.url_path
    tour.navigate(page)  # a tour step may ask for another page
    state.apply_pending()  # widget values asked for by a tour step or an example, before any widget
    ignored = share.restore(page)  # a shared link's settings, on the session's first run
    tour.big_fonts()
    tour.bar(page)
    sidebar.render()
    with st.sidebar:
        share.share_box(page, ignored)
    share.sync(page)
    nav.run()


run()
