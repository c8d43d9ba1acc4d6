"""AppTest of the guided tour (steps open views with their settings; Back/Next; larger fonts survive pages)
and of shareable links (the URL's parameters restore model, image and the view's settings; every run writes
them back)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app import state, tour
from tests.app_util import ENTRY, open_page


def _page_title(at: AppTest) -> str:
    return at.title[0].value if at.title else ""


def test_tour_walks_the_views_with_their_settings():
    at = open_page("tour", timeout=240)
    assert len(tour.STEPS) == 8 and len(at.get("button")) >= 9
    at.button(key="tour_start").click().run()
    assert not at.exception and _page_title(at) == "Decision Atlas"
    assert "step 1 of 8" in at.markdown[0].value
    at.button(key="tour_next").click().run()  # step 2: the (normal, random) cross-section
    assert not at.exception and _page_title(at) == "Boundary cross-sections"
    assert at.selectbox(key="xs_kind").value == "normal × random"
    at.button(key="tour_next").click().run()  # step 3: the (normal, curvature) plane
    assert not at.exception and at.selectbox(key="xs_kind").value == "normal × curvature"
    at.toggle(key=tour.K_BIG).set_value(True).run()  # larger fonts
    assert any("font-size: 20px" in m.value for m in at.markdown)
    at.button(key="tour_back").click().run()
    assert not at.exception and at.selectbox(key="xs_kind").value == "normal × random"
    assert any("font-size: 20px" in m.value for m in at.markdown)  # still on after a page change
    at.button(key="tour_end").click().run()
    assert not at.exception and not any("step 2 of 8" in m.value for m in at.markdown)


def test_tour_paths_step_opens_the_example_pair():
    at = open_page("tour", timeout=240)
    at.button(key="tour_open_5").click().run()
    assert not at.exception and _page_title(at) == "Connecting paths"
    text = " ".join(m.value for m in at.markdown)
    i, j = at.session_state[state.SAMPLE_INDEX], at.session_state["paths_partner"]
    assert f"sample #{i} → #{j}" in text and "step 6 of 8" in text


def test_a_shared_link_restores_model_image_and_settings():
    at = AppTest.from_file(ENTRY, default_timeout=240)
    at.query_params.update({"model": "mnist-softplus-cnn", "sample": "7", "plane": "random × random",
                            "res": "40", "clip": "0"})
    at.switch_page("app_pages/cross_sections.py")
    at.run()
    assert not at.exception
    sel = at.session_state[state.SELECTION]
    assert sel.model.name == "mnist-softplus-cnn" and "#7 " in sel.image_name + " "
    assert at.selectbox(key="xs_kind").value == "random × random"
    assert at.select_slider(key="xs_res").value == 40 and at.checkbox(key="xs_clip").value is False
    link = at.get("code")[0].value  # the sidebar's "Share this view" box
    for part in ("/cross_sections?", "model=mnist-softplus-cnn", "sample=7", "res=40", "clip=0"):
        assert part in link, link


def test_a_bad_link_is_reported_not_a_traceback():
    at = AppTest.from_file(ENTRY, default_timeout=240)
    at.query_params.update({"model": "no-such-model", "sample": "99999"})
    at.run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "model=no-such-model" in warnings and "#99999 does not exist" in warnings


def test_every_tour_step_opens_its_view_without_error():
    """Next, step by step to the end: each step's view renders with the step's settings and no traceback; Back,
    step by step to the start: each step opens on the same image as it did going forward."""
    titles = {"": "Decision Atlas", "cross_sections": "Boundary cross-sections", "curvature": "Curvature spectra",
              "paths": "Connecting paths", "detection": "Detection"}
    at = open_page("tour", timeout=400)
    at.button(key="tour_start").click().run()
    shown = []  # the sample each step opened on
    for i, step in enumerate(tour.STEPS):
        if i:
            at.button(key="tour_next").click().run()
        assert not at.exception, (i, at.exception)
        assert _page_title(at).startswith(titles[step.page]), (i, _page_title(at))
        assert f"step {i + 1} of {len(tour.STEPS)}" in at.markdown[0].value
        for key, value in step.settings.items():
            if key in ("xs_kind", "curv_view", "paths_mode"):  # the widgets that show the step's view
                assert at.session_state[key] == value, (i, key)
        shown.append(at.session_state[state.SAMPLE_INDEX])
    assert at.button(key="tour_next").disabled  # the last step
    assert shown[5] == shown[6]  # step 7 attacks step 6's first image
    for i in range(len(tour.STEPS) - 2, -1, -1):  # Back shows each step on the image Next showed
        at.button(key="tour_back").click().run()
        assert not at.exception and f"step {i + 1} of" in at.markdown[0].value
        assert at.session_state[state.SAMPLE_INDEX] == shown[i], (i, shown)
