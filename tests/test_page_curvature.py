"""AppTest of the curvature page: spectrum on load, sub-views, a new h, a bad target shown as an error; the heavy
panels run only for the model, image and settings they were asked for; planes keyed on their direction."""

from __future__ import annotations

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from app import state
from app.cache import curvature as cache_curvature
from geometry.spectrum import CurvatureSpectrum, curvature_spectrum
from geometry.vulnerability import SubspaceExperiment
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
    said = next(md.value for md in page.markdown if "On this image the boundary is" in md.value)
    assert "flat along most directions, curved along a few" in said  # measured, stated on the default digit
    assert page.get("download_button")


@pytest.mark.slow
def test_views_and_new_step(page):
    page.segmented_control(key="curv_view").set_value("Cross-sections").run()
    assert not page.exception
    planes = chart(page, "curv_planes")
    assert [d["type"] for d in planes["data"]][:6] == ["heatmap", "contour", "scatter"] * 2
    legend = [d["name"] for d in planes["data"] if d.get("showlegend")]  # the colours are explained
    assert len(legend) == 4 and "(x's class)" in legend[0] and "boundary of x's region" in legend
    page.segmented_control(key="curv_view").set_value("Directions").run()
    assert len(chart(page, "curv_dirs")["data"]) == 10
    page.number_input(key="curv_h").set_value(0.5)
    page.button(key=COMPUTE).click().run()
    assert not page.exception
    assert any("h = 0.5," in c.value for c in page.caption)


def test_bad_target_is_an_error_not_a_traceback(page):
    sel = page.session_state[state.SELECTION]
    label = int(sel.model.predict(torch.from_numpy(sel.image)[None])[0])
    page.selectbox(key="curv_target").set_value(label)  # the image's own label
    page.button(key=COMPUTE).click().run()
    assert not page.exception
    assert page.error and "other than the label" in page.error[0].value


def _experiment() -> SubspaceExperiment:
    ones = np.ones((3, 2))
    return SubspaceExperiment(dims=np.array([1, 10]), dim=784, ratio_curved=ones * 0.5, ratio_random=ones * 0.1,
                              fooled_curved=ones.astype(bool), fooled_random=np.zeros((3, 2), bool),
                              norm_curved=ones * 1.5, norm_random=np.full((3, 2), np.nan), full_norm=np.ones(3),
                              which="abs", budget=3.0, n_hvp=10, n_forward=5, seconds=1.0)


def _sweep(*_args, **_kwargs) -> dict[str, CurvatureSpectrum]:
    img = np.zeros((1, 28, 28), dtype=np.float32)
    spec = CurvatureSpectrum(eigenvalues=np.array([1.0, 0.0, -1.0]), eigenvectors=np.zeros((3, 1, 28, 28)),
                             residuals=np.zeros(3), x=img, point=img, normal=img, perturbation=img,
                             grad_norm=1.0, label=0, target=1, at="boundary", solver="lanczos", method="fd",
                             h=1.0, n_hvp=3, seconds=0.1, converged=True, asymmetry=0.0)
    return {f"h = {h:g}": spec for h in (0.05, 1.0)}


def _shows(page: AppTest, key: str) -> bool:
    return any(key in c.proto.id for c in page.get("plotly_chart"))


def _counting(monkeypatch, name: str, result) -> list[tuple]:
    calls = []
    monkeypatch.setattr(cache_curvature, name, lambda *a, **k: calls.append(a) or result(*a, **k))
    return calls


def test_subspace_experiment_only_for_the_run_asked_for(page, monkeypatch):
    calls = _counting(monkeypatch, "subspace", lambda *a, **k: _experiment())
    page.segmented_control(key="curv_view").set_value("Vulnerability").run()
    assert not page.exception and not calls and not _shows(page, "curv_vuln_fig")
    page.button(key="curv_vuln_run").click().run()
    assert len(calls) == 1 and calls[0][2]["h"] == 1.0 and _shows(page, "curv_vuln_fig")
    page.number_input(key="curv_h").set_value(0.5)  # a display-only rerun keeps the result
    page.segmented_control(key="curv_view").set_value("Vulnerability").run()
    assert len(calls) == 2 and _shows(page, "curv_vuln_fig")  # (served by st.cache_data in the real page)
    page.number_input(key="sample_index").set_value(7).run()  # another image: nothing runs by itself
    assert not page.exception and len(calls) == 2
    assert not _shows(page, "curv_vuln_fig")
    assert any("Run the subspace experiment" in i.value for i in page.info)
    page.number_input(key="curv_vuln_h").set_value(0.5)
    page.button(key="curv_vuln_run").click().run()
    assert len(calls) == 3 and calls[-1][1] != calls[0][1] and calls[-1][2]["h"] == 0.5


def test_h_sweep_only_for_the_run_asked_for(page, monkeypatch):
    calls = _counting(monkeypatch, "h_sweep", _sweep)
    page.segmented_control(key="curv_view").set_value("Step h").run()
    assert not calls
    page.button(key="curv_h_run").click().run()
    assert not page.exception and len(calls) == 1 and _shows(page, "curv_h_fig")
    page.selectbox(key="curv_target").set_value(1)  # the image is a "0": 1 is another class
    page.button(key=COMPUTE).click().run()  # a new spectrum config: the sweep waits for its button again
    assert not page.exception and len(calls) == 1
    assert not _shows(page, "curv_h_fig")


def test_planes_are_keyed_on_the_direction_and_clipped(relu_cnn, digits, monkeypatch):
    st.cache_data.clear()
    grids = []
    real = cache_curvature.cross_section
    monkeypatch.setattr(cache_curvature, "cross_section", lambda *a, **k: grids.append(1) or real(*a, **k))
    x = torch.from_numpy(digits.images[2])
    spec = curvature_spectrum(relu_cnn, x, solver="lanczos", k=2, max_steps=20)
    extent = 3 * float(np.linalg.norm(spec.perturbation))
    kw = dict(extent=extent, resolution=61, ref_class=spec.target, kind="normal × curvature")
    pos, neg = spec.positive_directions(1)[0], spec.negative_directions(1)[0]
    maps = [cache_curvature.plane("relu", relu_cnn, spec.point, d, spec.normal, **kw) for d in (pos, neg)]
    assert len(grids) == 2  # a new direction at the same point is a new map, not a cache hit
    assert abs(float(maps[0].plane.u.reshape(-1) @ maps[1].plane.u.reshape(-1))) < 0.1
    again = cache_curvature.plane("relu", relu_cnn, spec.point.copy(), pos.copy(), spec.normal.copy(), **kw)
    assert len(grids) == 2 and np.array_equal(again.labels, maps[0].labels)  # same content: cached
    cs = maps[0]
    assert not cs.clip and cs.method == "adaptive" and cs.n_forward < 61**2 and cs.outside_fraction > 0
    np.testing.assert_allclose(cs.plane.v.reshape(-1), spec.normal.reshape(-1), atol=1e-6)  # rows: the normal
    assert abs(float(cs.plane.u.reshape(-1) @ cs.plane.v.reshape(-1))) < 1e-9
    assert cs.labels[0, 30] == spec.label and cs.labels[-1, 30] == spec.target  # below / above z along n
    # the Cross-sections page's mechanism, on the same plane, gives the same map
    same = real(relu_cnn, cs.plane, extent=extent, resolution=61, ref_class=spec.target)
    np.testing.assert_array_equal(same.labels, cs.labels)


def test_only_the_step_and_k_that_act_are_shown(page):
    """The ReLU net with auto HVPs uses finite differences (h shows) and the full solver (k hidden)."""
    keys = {w.key for w in page.main.get("number_input")} | {w.key for w in page.main.get("slider")}
    assert "curv_h" in keys and "curv_k" not in keys
    page.selectbox(key="curv_method").set_value("exact").run()
    page.selectbox(key="curv_solver").set_value("lanczos").run()
    assert not page.exception
    keys = {w.key for w in page.main.get("number_input")} | {w.key for w in page.main.get("slider")}
    assert "curv_h" not in keys and "curv_k" in keys
