"""The guided tour: eight steps through the views that tell the paper's story, each opening a view with its
settings; a bar with Back / Next on top of every page while the tour runs; larger fonts for a projector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from . import state
from .examples import ADV, K_FORCE, SAME

K_STEP, K_ACTIVE, K_BIG, K_GOTO = "tour_step", "tour_active", "tour_big_fonts", "tour_goto"
K_BIG_ON = "tour_big_fonts_on"  # the toggle's value, kept while no toggle is drawn (Streamlit drops widget state)


@dataclass(frozen=True)
class Step:
    page: str  # url path of the view ("" = home)
    title: str
    text: str
    settings: dict = field(default_factory=dict)  # widget values the step sets


STEPS = (
    Step("", "An image is a point",
         "Each image is a point of a space with one axis per pixel. DeepFool finds the nearest point where the "
         "label changes: the perturbation r(x) is much smaller than the image itself."),
    Step("cross_sections", "The boundary is flat along random directions",
         "Cut the space by a plane through x, spanned by the direction to the boundary and a random one: the "
         "boundary (black line) looks nearly straight.", {"xs_kind": "normal × random"}),
    Step("cross_sections", "… and curved along a few",
         "Replace the random direction by the most curved one: now the boundary bends (paper section 3).",
         {"xs_kind": "normal × curvature", "xs_curv": "largest |κ|"}),
    Step("curvature", "Principal curvatures",
         "All principal curvatures of the boundary near x, sorted: most are close to zero, a few are large at "
         "both ends.", {"curv_view": "Profile"}),
    Step("curvature", "The most curved directions",
         "The directions of the largest curvatures, drawn as images (red +, blue −). The paper finds the "
         "classifier most vulnerable along such directions.", {"curv_view": "Directions"}),
    Step("paths", "Regions are connected",
         "Two images of one class: even where the straight line between them leaves the class region, a path "
         "that stays inside exists (paper section 1). The banner says how often the line leaves.",
         {"paths_mode": SAME, "paths_autorun": True}),
    Step("paths", "Adversarial images too",
         "The DeepFool image x + r(x) of step 6's first image is joined to a natural image of its new class by "
         "a path inside that class's region: adversarial images are not isolated pockets.",
         {"paths_mode": ADV, "paths_autorun": True}),
    Step("detection", "Does curvature tell perturbed images apart?",
         "The paper finds that the boundary curves differently around perturbed images than around clean ones, "
         "and scores that (Algorithm 2) to flag them and recover their label (section 4). The banner says how "
         "often the detector flags an attack on this model: where it rarely does, the claim does not hold here "
         "(Findings compares it with a trivial baseline)."),
)


def go(i: int) -> None:
    """Callback: open step i (clamped) with its settings."""
    i = max(0, min(len(STEPS) - 1, int(i)))
    step = STEPS[i]
    st.session_state[K_ACTIVE] = True
    st.session_state[K_STEP] = i
    state.request(step.settings)
    # every step opens its view's example, so Back shows what Next showed (step 7: step 6's first image)
    st.session_state[K_FORCE] = step.page or "home"
    st.session_state[K_GOTO] = step.page


def end() -> None:
    st.session_state[K_ACTIVE] = False
    st.session_state.pop(K_FORCE, None)


def navigate(page: str) -> None:
    """Switch to the page a step asked for (called by the entry script before anything is drawn)."""
    target = st.session_state.pop(K_GOTO, None)
    if target is not None and target != page:
        # an absolute path: it names the page whichever script Streamlit was started with (Streamlit resolves a
        # relative one against the entry script's folder; bench/classroom_no_figures.py wraps the app)
        st.switch_page(Path(__file__).parent / "app_pages" / f"{target or 'home'}.py")


def big_fonts() -> None:
    """Larger text for a projector: the page's root size and every chart's text."""
    if st.session_state.get(K_BIG_ON):
        st.markdown(BIG_FONTS_CSS, unsafe_allow_html=True)


# Larger text, and labels that wrap instead of ending in "…" (buttons, metrics, widget labels were sized for the
# normal font).
BIG_FONTS_CSS = """<style>
html { font-size: 20px; }
[data-testid='stPlotlyChart'] text { font-size: 16px !important; }
[data-testid='stMetricLabel'] *, [data-testid='stWidgetLabel'] *, .stButton button *, .stCheckbox label * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
.stButton button { height: auto !important; }
</style>"""


def bar(page: str) -> None:
    """The tour's bar above the page while the tour runs."""
    if not st.session_state.get(K_ACTIVE):
        return
    i = int(st.session_state.get(K_STEP, 0))
    step = STEPS[i]
    with st.container(border=True, key="tour_bar"):
        stop = "" if step.title.endswith("?") else "."
        st.markdown(f"**Tour, step {i + 1} of {len(STEPS)}: {step.title}{stop}** {step.text}")
        c = st.columns([1, 1, 1, 2, 2])
        c[0].button("◀ Back", key="tour_back", on_click=go, args=(i - 1,), disabled=i == 0)
        c[1].button("Next ▶", key="tour_next", on_click=go, args=(i + 1,), disabled=i == len(STEPS) - 1,
                    type="primary")
        c[2].button("End tour", key="tour_end", on_click=end)
        if page != step.page:
            c[3].button("Back to this step's view", key="tour_return", on_click=go, args=(i,))
        fonts_toggle(c[4])


def _keep_fonts() -> None:
    st.session_state[K_BIG_ON] = st.session_state[K_BIG]


def fonts_toggle(where) -> None:
    """The larger-fonts switch; its value survives pages where it is not drawn."""
    st.session_state[K_BIG] = bool(st.session_state.get(K_BIG_ON, False))
    where.toggle("larger fonts (projector)", key=K_BIG, on_change=_keep_fonts)
