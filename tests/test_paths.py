"""Connecting paths (Algorithm 1) against toy regions whose topology is known, and on the embedded CNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import AtlasError, Classifier, analytic
from geometry.path_plane import path_plane
from geometry.path_table import path_table
from geometry.paths import PathConfig, connecting_path, connecting_paths, resample_path


def _t(*v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def _radii(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points.reshape(len(points), -1), axis=1)


def test_ring_path_bends_around_the_hole_and_stays_inside():
    model = analytic.annulus_classifier(1.0, 2.0)
    x1, x2 = _t(1.5, 0.1), _t(-1.5, 0.0)
    p = connecting_path(model, x1, x2)
    assert p.connected and not p.straight_inside  # the straight line crosses the hole
    assert np.allclose(p.anchors[0], x1.numpy()) and np.allclose(p.anchors[-1], x2.numpy())
    dense, _ = resample_path(p.anchors, 4000)
    r = _radii(dense)
    # Between two checked points (spacing d) inside the ring, a chord can dip below the unit circle by at
    # most d^2/8: that is the stated resolution; a 4000-point resampling must respect it.
    d = p.check_spacing
    assert r.min() > 1.0 - d**2 / 8 and r.max() < 2.0
    assert p.path_inside.all() and not p.line_inside.all()
    assert p.n_segments == len(p.anchors) - 1 >= 2 and p.length_ratio > 1.0
    assert p.push_failures == 0 and p.depth <= p.config.max_depth


def test_disconnected_region_reports_failure():
    model = analytic.annulus_classifier(1.0, 2.0)
    x1, x2 = _t(0.2, 0.1), _t(-2.5, 0.3)  # hole and outside: both 'other', never joined inside 'other'
    p = connecting_path(model, x1, x2, config=PathConfig(max_depth=6, max_segments=32))
    assert not p.connected
    assert not p.path_inside.all()  # the failure is visible in the checked points
    r = _radii(resample_path(p.anchors, 2000)[0])
    assert ((r > 1.0) & (r < 2.0)).any()  # the returned polyline indeed crosses the ring: no false path


def test_sphere_outside_path_goes_around_the_ball(sphere_model):
    x1, x2 = _t(3.0, 0.2, 0.0, 0.0), _t(-3.0, 0.0, 0.1, 0.0)
    p = connecting_path(sphere_model, x1, x2)
    assert p.connected and not p.straight_inside
    assert _radii(resample_path(p.anchors, 3000)[0]).min() > 2.0 - p.check_spacing**2 / 16  # chord dip, R=2


def test_straight_segment_inside_gives_one_segment(linear_model):
    x = torch.randn(40, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pred = linear_model.predict(x)
    i, j = [int(v) for v in (pred == pred[0]).nonzero()[:2, 0]]  # convex region: the segment is inside
    p = connecting_path(linear_model, x[i], x[j])
    assert p.connected and p.straight_inside and p.n_segments == 1 and p.depth == 0
    assert p.length_ratio == pytest.approx(1.0)
    assert p.check_spacing == pytest.approx(float((x[j] - x[i]).norm()) / p.config.n_check)


def test_batched_pairs_equal_single_pairs():
    model = analytic.annulus_classifier(1.0, 2.0)
    x1 = torch.stack([_t(1.5, 0.1), _t(0.0, 1.4)])
    x2 = torch.stack([_t(-1.5, 0.0), _t(1.3, 0.0)])
    both = connecting_paths(model, x1, x2)
    for i in range(2):
        single = connecting_path(model, x1[i], x2[i])
        assert single.n_segments == both[i].n_segments
        assert np.allclose(single.anchors, both[i].anchors)


def test_bad_inputs_raise():
    model = analytic.annulus_classifier(1.0, 2.0)
    with pytest.raises(AtlasError, match="classified"):
        connecting_path(model, _t(1.5, 0.0), _t(0.0, 0.0))
    with pytest.raises(AtlasError, match="same point"):
        connecting_path(model, _t(1.5, 0.0), _t(1.5, 0.0))
    with pytest.raises(AtlasError, match="invalid path settings"):
        connecting_path(model, _t(1.5, 0.0), _t(0.0, 1.5), config=PathConfig(n_check=1))


def test_resample_path_is_uniform_in_arc_length():
    anchors = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 3.0]])
    pts, s = resample_path(anchors, 5)
    assert np.allclose(pts, [[0, 0], [1, 0], [1, 1], [1, 2], [1, 3]]) and np.allclose(s, np.linspace(0, 1, 5))


def test_mnist_table_is_consistent(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:60])
    cfg = PathConfig(max_depth=5, max_segments=16, n_check=32)
    table = path_table(relu_cnn, x, n_same=3, n_adversarial=1, config=cfg, seed=0)
    assert table.kinds[0] == "same class" and table.n_pairs[0] == 3
    for kind, paths in table.paths.items():
        pairs = table.pairs[kind]
        pred = relu_cnn.predict(x).numpy()
        assert (pred[pairs[:, 1]] == [p.label for p in paths]).all()
        for p in paths:
            assert p.connected == p.certification.certified and p.certification.n_checks == len(p.path_s)
            if not p.path_inside.all():  # a check point with another label: never connected
                assert not p.connected and p.certification.n_outside == int((~p.path_inside).sum())
            if p.connected:
                assert p.certification.min_margin > 0 and p.certification.min_bound > 0
            assert p.anchors.min() >= 0.0 and p.anchors.max() <= 1.0  # pushed midpoints are clipped
    again = path_table(relu_cnn, x, n_same=3, n_adversarial=0, config=cfg, seed=0)
    assert (again.pairs["same class"] == table.pairs["same class"]).all()  # seeded pair choice
    for r, kind in enumerate(table.kinds):  # the table's share is that of the paths it lists
        assert table.fraction_connected[r] == np.mean([p.connected for p in table.paths[kind]])


def test_plane_contains_the_ends_and_shows_the_hole():
    model = analytic.annulus_classifier(1.0, 2.0)
    p = connecting_path(model, _t(1.5, 0.1), _t(-1.5, 0.0))
    plane = path_plane(model, p, resolution=31)
    assert np.allclose(plane.anchors_uv[0], 0.0) and plane.off_plane.max() < 1e-9  # 2-D: all in the plane
    assert plane.inside.shape == (31, 31) and plane.inside.any() and not plane.inside.all()
    # the straight line (v = 0) crosses the hole: some grid points near v = 0 between the ends are outside
    row = np.abs(plane.v).argmin()
    between = (plane.u > 0.5) & (plane.u < plane.anchors_uv[-1, 0] - 0.5)
    assert not plane.inside[row, between].all()


def test_chunk_size_does_not_change_the_path():
    model = analytic.annulus_classifier(1.0, 2.0)
    x1, x2 = _t(1.5, 0.1), _t(-1.5, 0.0)
    a, b = connecting_path(model, x1, x2), connecting_path(model, x1, x2, batch_size=7)
    assert a.n_segments == b.n_segments and np.allclose(a.anchors, b.anchors)
    assert np.allclose(a.path_prob, b.path_prob)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_and_cuda_agree():
    cpu = analytic.annulus_classifier(1.0, 2.0)
    gpu = Classifier(cpu.module.net, cpu.card, device="cuda", dtype=torch.float64)
    a = connecting_path(cpu, _t(1.5, 0.1), _t(-1.5, 0.0))
    b = connecting_path(gpu, _t(1.5, 0.1), _t(-1.5, 0.0))
    assert a.connected and b.connected and a.n_segments == b.n_segments
    assert np.allclose(a.anchors, b.anchors, atol=1e-9)


# --- the certified final check ------------------------------------------------------------------------------

def _lens_classifier(d: int, center: float, width: float, beta: float = 1e4, gamma: float = 1e2):
    """Class 1 ('quadratic') is a thin lens across the line x = t·n: β((n·(x − c))² ... ) < 0, i.e.
    |n·(x − c)| < width/2 on the line, extent √(β/γ)·width/2 sideways; class 0 is connected around it."""
    gen = torch.Generator().manual_seed(d)
    n = torch.randn(d, generator=gen, dtype=torch.float64)
    n /= n.norm()
    proj = torch.outer(n, n)
    a = -2 * beta * proj - 2 * gamma * (torch.eye(d, dtype=torch.float64) - proj)
    c = center * n
    # ½(x − c)ᵀA(x − c) + β w²/4 written as ½ xᵀAx + bᵀx + c0
    model = analytic.quadratic_classifier(a, -a @ c, float(0.5 * c @ a @ c + beta * width**2 / 4))
    return model, n


@pytest.mark.parametrize("d", [2, 10])
def test_thin_intrusion_fools_the_coarse_check_but_not_the_certifier(d):
    # Lens of width 0.01 at t = 0.013 on the segment t ∈ [-1, 1]: the old uniform check (spacing 2/64) has
    # points at t = 0 and t = 0.03125 around it, both outside the lens.
    model, n = _lens_classifier(d, center=0.013, width=0.01)
    x1, x2 = -n, n
    coarse = model.predict(x1 + torch.linspace(0, 1, 65, dtype=torch.float64)[:, None] * (x2 - x1))
    assert (coarse == 0).all()  # the old check: every point labelled 'zero', so "connected"
    assert model.predict((0.013 * n)[None])[0] == 1  # yet the line crosses class 1
    p = connecting_path(model, x1, x2)
    c = p.certification
    assert not p.connected and not p.straight_inside and c.n_outside >= 1
    assert c.min_margin < 0 and abs(c.min_margin_s - (1 + 0.013) / 2) < 0.01 / 2  # found inside the lens
    assert p.verdict.startswith("not connected") and c.n_checks > 65


def test_segment_beside_the_intrusion_is_certified():
    model, n = _lens_classifier(2, center=0.013, width=0.01)  # lens extent sideways: 10 · 0.005 = 0.05
    side = torch.tensor([-n[1], n[0]], dtype=torch.float64) * 0.2  # a parallel line 0.2 away
    p = connecting_path(model, side - n, side + n)
    c = p.certification
    assert p.connected and p.straight_inside and c.certified and c.n_outside == 0 and c.n_uncertain == 0
    assert c.min_margin > 0 and c.min_bound > 0 and c.resolution <= c.max_spacing == p.check_spacing
    assert p.verdict.startswith("connected (certified at resolution")


def test_coarse_resolution_leaves_the_path_uncertified_not_connected():
    # Refinement stopped far above the lens width: no check lands in it, but the margin bound near it stays
    # <= 0, so the path is "not certified" rather than "connected".
    model, n = _lens_classifier(2, center=0.013, width=0.01)
    p = connecting_path(model, -n, n, config=PathConfig(resolution=0.02))
    c = p.certification
    assert not p.connected and c.n_outside == 0 and c.n_uncertain >= 1 and c.min_bound <= 0
    assert p.verdict.startswith("not certified")
    with pytest.raises(AtlasError, match="invalid path check settings"):
        connecting_path(model, -n, n, config=PathConfig(slope_safety=0.5))


def test_each_segment_is_checked_relative_to_its_own_length():
    model = analytic.annulus_classifier(1.0, 2.0)
    p = connecting_path(model, _t(1.5, 0.1), _t(-1.5, 0.0))
    seg = np.linalg.norm(np.diff(p.anchors, axis=0), axis=1)
    edges = np.concatenate([[0.0], np.cumsum(seg)]) / seg.sum()
    for lo, hi, length in zip(edges[:-1], edges[1:], seg, strict=True):
        inner = (p.path_s >= lo - 1e-12) & (p.path_s <= hi + 1e-12)
        assert inner.sum() >= p.config.n_check + 1  # even the shortest segment gets n_check intervals
        assert np.diff(p.path_s[inner]).max() * seg.sum() <= length / p.config.n_check + 1e-9
