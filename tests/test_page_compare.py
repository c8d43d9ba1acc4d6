"""The Compare page in AppTest: two models side by side on one image, and the batch part on a button."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_util import ENTRY, chart

PAIR = ("mnist-relu-cnn", "mnist-robust-cnn")


def _open(a: str, b: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=600)
    at.run()
    at.switch_page("app_pages/compare.py")
    at.session_state["compare_a"], at.session_state["compare_b"] = a, b
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.slow
def test_compare_page_opens_on_the_fashion_pair_by_default() -> None:
    at = AppTest.from_file(ENTRY, default_timeout=600)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception and not at.error
    assert (at.selectbox(key="compare_a").value, at.selectbox(key="compare_b").value) == (
        "fmnist-relu-cnn", "fmnist-robust-cnn")
    assert "fmnist-robust-cnn's boundary is" in at.info[0].value


@pytest.mark.slow
def test_compare_page_shows_both_models_and_the_batch_on_a_button() -> None:
    at = _open(*PAIR)
    assert "mnist-robust-cnn's boundary is" in at.info[0].value
    names = [t.get("name", "") for t in chart(at, "compare_shared")["data"]]
    assert "boundary, mnist-relu-cnn" in names and "boundary, mnist-robust-cnn" in names
    assert {t["name"] for t in chart(at, "compare_spectra")["data"] if t.get("name")} >= set(PAIR)
    assert not any("compare_profiles" in (c.proto.id or "") for c in at.get("plotly_chart"))  # not before the click
    at.slider(key="compare_n").set_value(10)
    at.checkbox(key="compare_detection").uncheck()
    next(b for b in at.button if "Compute" in b.label).click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(i.value.startswith("Over 10 images") for i in at.info)
    profiles = chart(at, "compare_profiles")
    assert sum("median" in t.get("name", "") for t in profiles["data"]) == 2
