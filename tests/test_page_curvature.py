"""AppTest of the curvature page: spectrum on load, sub-views, a new h, and a bad target shown as an error."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_util import chart, metrics, open_page

COMPUTE = "FormSubmitter:curv_form-Compute spectrum"


@pytest.fixture
def page() -> AppTest:
    return open_page("curvature", timeout=180)


def test_spectrum_on_load(page):
    m = metrics(page)
    assert m["HVPs"] == "783" and float(m["max κ"]) > 0 > float(m["min κ"])
    profile = chart(page, "curv_profile")
    assert profile["data"][0]["mode"] == "lines"
    assert any("finite-difference HVPs at h = 0.05" in c.value for c in page.caption)
    assert page.get("download_button")


def test_views_and_new_step(page):
    page.segmented_control(key="curv_view").set_value("Cross-sections").run()
    assert not page.exception
    planes = chart(page, "curv_planes")
    assert [d["type"] for d in planes["data"]] == ["heatmap", "contour", "scatter"] * 2
    page.segmented_control(key="curv_view").set_value("Directions").run()
    assert len(chart(page, "curv_dirs")["data"]) == 10
    page.number_input(key="curv_h").set_value(0.5)
    page.button(key=COMPUTE).click().run()
    assert not page.exception
    assert any("h = 0.5," in c.value for c in page.caption)


def test_bad_target_is_an_error_not_a_traceback(page):
    page.selectbox(key="curv_target").set_value(0)  # the image's own label
    page.button(key=COMPUTE).click().run()
    assert not page.exception
    assert page.error and "other than the label" in page.error[0].value
