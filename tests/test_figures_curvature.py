"""Curvature figures built from hand-made results: traces, ranks, images, planes and the subspace panel."""

import dataclasses

import numpy as np
import pytest

from app.figures import curvature as figs
from geometry.spectrum import CurvatureSpectrum
from geometry.vulnerability import SubspaceExperiment


def _spectrum(solver: str = "full", n: int = 15) -> CurvatureSpectrum:
    rng = np.random.default_rng(0)
    ev = np.sort(rng.standard_normal(n))[::-1]
    vecs = rng.standard_normal((n, 1, 4, 4))
    img = np.zeros((1, 4, 4))
    return CurvatureSpectrum(eigenvalues=ev, eigenvectors=vecs, residuals=np.zeros(n), x=img, point=img,
                             normal=img + 0.25, perturbation=img + 1, grad_norm=1.0, label=0, target=1,
                             at="boundary", solver=solver, method="fd", h=0.05, n_hvp=n, seconds=0.1,
                             converged=True, asymmetry=0.0)


def test_profile_full_and_lanczos_ranks():
    full = _spectrum()
    lz = dataclasses.replace(_spectrum("lanczos", 4))
    fig = figs.profile_figure({"full": full, "lanczos": lz})
    assert len(fig.data) == 2 and fig.data[0].mode == "lines" and fig.data[1].mode == "markers"
    assert list(fig.data[0].x) == list(range(1, 16))
    assert list(fig.data[1].x) == [1, 2, 14, 15]  # top-2 at the front, bottom-2 at the end of d − 1 = 15
    np.testing.assert_allclose(fig.data[0].y, full.eigenvalues)
    with pytest.raises(ValueError):
        figs.profile_figure({})


def test_density_with_slq_overlay():
    s = _spectrum()
    slq = {"nodes": np.array([-1.0, 0.0, 1.0]), "weights": np.array([0.25, 0.5, 0.25])}
    fig = figs.density_figure(s, slq)
    assert fig.data[0].type == "histogram" and len(fig.data[0].x) == 15
    grid, dens = figs.slq_curve(np.array([-1.0, 0.0, 1.0]), np.array([0.25, 0.5, 0.25]))
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, rel=1e-3)
    assert fig.data[1].name == "SLQ density"


def test_directions_figure_shows_both_ends():
    s = _spectrum()
    fig = figs.directions_figure(s, m=3)
    assert len(fig.data) == 6 and all(t.type == "heatmap" for t in fig.data)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0] == f"κ = {s.eigenvalues[0]:+.3g}" and titles[3] == f"κ = {s.eigenvalues[-1]:+.3g}"
    np.testing.assert_allclose(fig.data[3].z, s.eigenvectors[-1][0])


def test_planes_figure_traces_and_boundary():
    t = np.linspace(-1, 1, 5)
    curved = np.where(t[:, None] > t[None, :] ** 2 - 0.5, 1, 0)
    flat = np.where(t[:, None] > 0, 1, 0)
    planes = [dict(title="curved", labels=curved, a=t, b=t, label=0, target=1),
              dict(title="flat", labels=flat, a=t, b=t, label=0, target=1)]
    fig = figs.planes_figure(planes, ["zero", "one"])
    kinds = [d.type for d in fig.data]
    assert kinds[:6] == ["heatmap", "contour", "scatter"] * 2 and kinds[6:] == ["scatter"] * 4  # + legend keys
    assert fig.data[0].z.shape == (5, 5) and fig.data[1].contours.start == 0.5
    assert (fig.data[2].x[0], fig.data[2].y[0]) == (0, 0)


def test_vulnerability_figure():
    dims = np.array([1, 10, 100])
    ones = np.ones((2, 3))
    exp = SubspaceExperiment(dims=dims, dim=784, ratio_curved=ones * 0.5, ratio_random=ones * 0.1,
                             fooled_curved=ones.astype(bool), fooled_random=np.zeros((2, 3), bool),
                             norm_curved=ones * 1.5, norm_random=np.full((2, 3), np.nan),
                             full_norm=np.ones(2), which="abs", budget=3.0, n_hvp=10, n_forward=5,
                             seconds=1.0)
    fig = figs.vulnerability_figure(exp)
    names = [d.name for d in fig.data]
    assert names[:3] == ["curvature S", "random", "√(m/d)"]
    np.testing.assert_allclose(fig.data[2].y, np.sqrt(dims / 784))
    np.testing.assert_allclose(fig.data[3].y, [1, 1, 1])  # fooling rate, curved
    assert np.all(np.isnan(np.asarray(fig.data[6].y, dtype=float)))  # random never fooled: no median norm


def test_half_width_chart_titles_stay_clear_of_the_toolbar():
    """The profile and density charts sit side by side: a centred title ran under Plotly's toolbar (top
    right), so their titles start at the left edge."""
    for fig in (figs.profile_figure({"this image": _spectrum()}), figs.density_figure(_spectrum(), None)):
        assert fig.layout.title.text and fig.layout.title.xanchor == "left" and fig.layout.title.x <= 0.05
