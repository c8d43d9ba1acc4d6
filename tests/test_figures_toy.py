"""Figure builders of the 2-D toy view, from hand-made data: class map and boundary contour, click grid, the
DeepFool arrow / normal / osculating circle overlay, the path overlay and the zoom windows.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.figures import toy as figs
from geometry.paths import ConnectingPath, PathConfig
from geometry.spectrum import CurvatureSpectrum
from tests.plotly_util import figure_dict

NAMES = ("upper moon", "lower moon")


def _grid(n: int = 31):
    xs = ys = np.linspace(-3, 3, n)
    gx, _ = np.meshgrid(xs, ys)
    return xs, ys, gx - 0.5  # F = x₁ − 0.5: class 1 right of the vertical line x₁ = 0.5


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name", "").startswith(name))


def _spectrum(kappa: float) -> CurvatureSpectrum:
    """x = (0, 0), boundary point z = (1, 0), normal (1, 0) out of x's region, tangent (0, 1)."""
    return CurvatureSpectrum(
        eigenvalues=np.array([kappa]), eigenvectors=np.array([[0.0, 1.0]]), residuals=np.zeros(1),
        x=np.zeros(2), point=np.array([1.0, 0.0]), normal=np.array([1.0, 0.0]), perturbation=np.array([1.0, 0.0]),
        grad_norm=2.0, label=0, target=1, at="boundary", solver="full", method="exact", h=None, n_hvp=1,
        seconds=0.0, converged=True, asymmetry=0.0)


def _path() -> ConnectingPath:
    t = np.linspace(0, 1, 11)
    inside = (t < 0.25) | (t > 0.55)  # outside at t = 0.3, 0.4, 0.5
    return ConnectingPath(
        anchors=np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), label=0, connected=True, straight_inside=False,
        n_segments=2, length_ratio=float(np.sqrt(2)), depth=1, path_s=t, path_prob=np.ones(11),
        path_inside=np.ones(11, bool), line_t=t, line_prob=inside.astype(float), line_inside=inside,
        check_spacing=0.1, n_pushed=1, push_failures=0, config=PathConfig())


def test_osculating_circle_centre_and_radius():
    z, n = np.array([1.0, 0.0]), np.array([1.0, 0.0])
    pts, centre = figs.osculating_circle(z, n, 0.5)
    np.testing.assert_allclose(centre, [-1.0, 0.0])  # κ > 0: centre on x's side, against the normal
    np.testing.assert_allclose(np.linalg.norm(pts - centre, axis=1), 2.0)
    assert np.min(np.linalg.norm(pts - z, axis=1)) < 1e-9  # tangent at z: z lies on the circle
    _, centre = figs.osculating_circle(z, n, -0.5)
    np.testing.assert_allclose(centre, [3.0, 0.0])  # κ < 0: beyond the boundary
    assert figs.osculating_circle(z, n, 1e-6) is None


def test_class_map_has_regions_boundary_and_optional_layers():
    xs, ys, f = _grid()
    fig = figure_dict(figs.class_map_figure(xs, ys, f, NAMES))
    heat = fig["data"][0]
    assert heat["type"] == "heatmap"
    np.testing.assert_array_equal(np.asarray(heat["z"]), (f > 0).astype(float))
    contour = _trace(fig, figs.BOUNDARY_NAME)
    assert contour["type"] == "contour" and contour["contours"]["start"] == contour["contours"]["end"] == 0
    assert not any(t.get("name") == figs.CLICK_TRACE for t in fig["data"])
    pts, labels = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), np.array([0, 1, 1])
    fig = figure_dict(figs.class_map_figure(xs, ys, f, NAMES, data=(pts, labels), click_step=3))
    assert len(_trace(fig, "training data: lower moon")["x"]) == 2
    click = _trace(fig, figs.CLICK_TRACE)
    assert len(click["x"]) == len(xs[::3]) ** 2
    assert set(click["text"]) == set(NAMES)


def test_constant_map_has_no_boundary():
    xs, ys, f = _grid()
    fig = figure_dict(figs.class_map_figure(xs, ys, np.abs(f) + 1, NAMES))
    assert not any(t["type"] == "contour" for t in fig["data"])


def test_boundary_point_overlay():
    xs, ys, f = _grid()
    fig = figure_dict(figs.add_boundary_point(figs.class_map_figure(xs, ys, f, NAMES), _spectrum(0.5)))
    arrow = _trace(fig, "r(x)")
    assert list(arrow["x"]) == [0.0, 1.0] and list(arrow["y"]) == [0.0, 0.0]  # from x to z
    normal = _trace(fig, "normal")
    np.testing.assert_allclose([normal["x"][-1], normal["y"][-1]], [1 + figs.NORMAL_LENGTH, 0.0])
    circle = _trace(fig, "osculating circle")
    r = np.hypot(np.asarray(circle["x"]) + 1.0, np.asarray(circle["y"]))
    np.testing.assert_allclose(r, 2.0)
    assert "2" in circle["name"]  # radius in the legend
    assert len(fig["layout"]["annotations"]) == 2  # arrowheads of r(x) and n


def test_flat_boundary_draws_the_tangent():
    xs, ys, f = _grid()
    fig = figure_dict(figs.add_boundary_point(figs.class_map_figure(xs, ys, f, NAMES), _spectrum(0.0)))
    tangent = _trace(fig, "tangent")
    np.testing.assert_allclose(tangent["x"], [1.0, 1.0])  # the vertical line through z
    assert not any(t.get("name", "").startswith("osculating") for t in fig["data"])


def test_path_overlay():
    xs, ys, f = _grid()
    fig = figure_dict(figs.add_path(figs.class_map_figure(xs, ys, f, NAMES), _path()))
    line = _trace(fig, "straight segment")
    assert list(line["x"]) == [-1.0, 1.0]
    path = _trace(fig, "connecting path")
    assert list(path["x"]) == [-1.0, 0.0, 1.0] and list(path["y"]) == [0.0, 1.0, 0.0]
    out = _trace(fig, "where the segment leaves")
    np.testing.assert_allclose([out["x"][0], out["x"][1]], [-1.0 + 2 * 0.3, -1.0 + 2 * 0.5])


def test_outside_runs():
    t = np.array([0.5, 0.0, 0.1, 0.2, 0.3, 0.4])  # unsorted on purpose
    inside = np.array([True, True, False, False, True, False])
    assert figs.outside_runs(t, inside) == [(0.1, 0.2), (0.4, 0.4)]
    assert figs.outside_runs(t, np.ones(6, bool)) == []


@pytest.mark.parametrize("kappa", [0.5, -4.0, 0.0])
def test_point_window_holds_x_z_and_small_circles(kappa):
    spec = _spectrum(kappa)
    centre, half = figs.point_window(spec)
    pts = [spec.x, spec.point, spec.point + figs.NORMAL_LENGTH * spec.normal]
    if abs(kappa) > 1 / 1.5:
        c = spec.point - spec.normal / kappa
        pts += [c - 1 / abs(kappa), c + 1 / abs(kappa)]
    assert all(np.all(np.abs(np.asarray(p) - centre) <= half) for p in pts)


def test_focus_stays_inside_bounds():
    xs, ys, f = _grid()
    fig = figs.focus(figs.class_map_figure(xs, ys, f, NAMES), np.array([2.9, -2.9]), 1.0, (-3.0, 3.0))
    d = figure_dict(fig)["layout"]
    assert d["xaxis"]["range"] == [1.0, 3.0] and d["yaxis"]["range"] == [-3.0, -1.0]
