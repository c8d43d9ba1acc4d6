"""AppTest of the cross-sections page: the default view computes a real map; controls recompute it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import state
from app.cache.cross_section import plane as cached_plane
from geometry import load_embedded
from geometry.plane_curvature import plane_curvature
from tests.plotly_util import chart_specs

ENTRY = str(Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py")


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("app_pages/cross_sections.py")
    at.run()
    return at


def _map(at: AppTest) -> dict:
    charts = chart_specs(at)
    assert charts, "no plotly chart on the page"
    return charts[0]


def test_default_view_shows_a_map(app):
    assert not app.exception
    assert not app.error, [e.value for e in app.error]
    fig = _map(app)
    heat = fig["data"][0]
    assert heat["type"] == "heatmap" and len(heat["z"]) == 60
    assert any(t["type"] == "contour" for t in fig["data"])  # the boundary is in view by default
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["forward passes"].replace(",", "")) < 3601  # adaptive by default
    # the true plane by default, with the share of points whose pixels leave the range, and the auto extent
    assert app.checkbox(key="xs_clip").value is False and app.select_slider(key="xs_extent").value == "auto"
    captions = " ".join(c.value for c in app.caption)
    assert "The true plane x + a·u + b·v, not clipped" in captions and "pixel outside" in captions
    assert "true plane:" in fig["layout"]["title"]["text"]
    assert math.isfinite(float(metrics["curvature in plane"]))  # a number, not "n/a"


def test_controls_recompute(app):
    app.selectbox(key="xs_kind").set_value("random × random")
    app.select_slider(key="xs_res").set_value(40)
    app.radio(key="xs_method").set_value("dense")
    app.button(key="xs_submit").click()
    app.run()
    assert not app.exception and not app.error
    fig = _map(app)
    assert len(fig["data"][0]["z"]) == 40
    assert {m.label: m.value for m in app.metric}["forward passes"] == "1,601"
    assert "random × random" in fig["layout"]["title"]["text"]


def test_display_option_does_not_recompute(monkeypatch):
    import streamlit as st

    import app.cache.cross_section as cxs
    calls = []
    real = cxs.cross_section
    monkeypatch.setattr(cxs, "cross_section", lambda *a, **k: calls.append(1) or real(*a, **k))
    st.cache_data.clear()
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("app_pages/cross_sections.py").run()
    assert not at.exception and len(calls) == 1
    at.slider(key="xs_flevels").set_value(3).run()
    assert not at.exception
    assert len(calls) == 1  # only the figure was rebuilt
    assert sum(t["type"] == "contour" for t in _map(at)["data"]) >= 1


def test_three_image_plane_marks_the_images(app):
    app.selectbox(key="xs_kind").set_value("three images")
    app.radio(key="xs_method").set_value("adaptive")
    app.button(key="xs_submit").click()
    app.run()
    assert not app.exception and not app.error
    marks = [t for t in _map(app)["data"] if t.get("mode") == "markers+text"]
    assert len(marks) == 3 and marks[0]["name"] == "x"
    assert "#10" in marks[1]["name"] and "#20" in marks[2]["name"]


def test_curvature_choice_reuses_one_spectrum_and_the_pages_deepfool(monkeypatch, relu_cnn, digits):
    """"most positive", "most negative" and "largest |κ|" pick from one cached Lanczos spectrum, computed at the
    DeepFool result the page already has (DeepFool does not run inside curvature_spectrum)."""
    import streamlit as st

    import app.cache.cross_section as cxs
    from geometry import spectrum

    spectra = []
    real = cxs.curvature_spectrum
    monkeypatch.setattr(cxs, "curvature_spectrum", lambda *a, **k: spectra.append(k) or real(*a, **k))
    monkeypatch.setattr(spectrum, "deepfool", lambda *a, **k: pytest.fail("DeepFool ran inside the spectrum"))
    st.cache_data.clear()
    image = digits.images[3]
    planes = {which: cxs.plane("relu", "digit-3", relu_cnn, image, "normal × curvature", 0, (0, 1), which)
              for which in ("most positive", "most negative", "largest |κ|")}
    assert len(spectra) == 1 and spectra[0]["boundary"] is not None
    pos, neg = (planes[w] for w in ("most positive", "most negative"))
    assert abs(float((pos.v * neg.v).sum())) < 0.1  # two different (orthogonal) eigenvectors
    kappas = {w: float(p.note.split("κ = ")[1].split(" ")[0]) for w, p in planes.items()}
    assert kappas["most positive"] > 0 > kappas["most negative"]
    assert abs(kappas["largest |κ|"]) == max(abs(kappas["most positive"]), abs(kappas["most negative"]))


def test_curvature_number_does_not_depend_on_the_grid():
    """The plane's curvature comes from bisection on the model: 60 and 200 grid points give the same number
    (a contour fitted to the grid gave −0.20 and −0.41 for this digit), and it is the geometric one."""
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(ENTRY, default_timeout=180)
    at.run()
    at.switch_page("app_pages/cross_sections.py").run()
    first = {m.label: m.value for m in at.metric}
    at.select_slider(key="xs_res").set_value(200)
    at.button(key="xs_submit").click().run()
    assert not at.exception and not at.error
    assert len(_map(at)["data"][0]["z"]) == 200
    second = {m.label: m.value for m in at.metric}
    for label in ("curvature in plane", "distance in plane"):
        assert first[label] == second[label], label
    model = load_embedded("mnist-relu-cnn", device="cpu")
    image = at.session_state[state.SELECTION].image  # the page's example digit
    plane = cached_plane("k", "i", model, image, "normal × random", 0)
    assert float(first["curvature in plane"]) == pytest.approx(plane_curvature(model, plane).curvature,
                                                                      rel=1e-3, abs=1e-3)
    at.checkbox(key="xs_clip").check()
    at.button(key="xs_submit").click().run()
    assert not at.exception and "Clipped to the pixel range" in " ".join(c.value for c in at.caption)
    assert "clipped to the pixel range" in _map(at)["layout"]["title"]["text"]
