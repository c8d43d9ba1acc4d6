"""The geometry of the 2-D toy view on the embedded toy model: DeepFool lands on F = 0, the 2-D curvature spectrum
has one value that matches the boundary curve's curvature measured directly, its sign follows the stated
convention, and the default path is connected where the straight segment is not.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.cache import toy as cache_toy
from app.cache.toy import DEFAULT_ENDS, DEFAULT_X, moons
from geometry import AtlasError
from geometry.deepfool import deepfool
from geometry.loading import load_embedded
from geometry.paths import connecting_path
from geometry.spectrum import curvature_spectrum

# Points with a visible bend at their DeepFool boundary point: the lower moon's tip (κ > 0, the boundary curves
# around x's region), above that tip (κ < 0, small radius) and right of the upper moon (κ > 0).
POINTS = [DEFAULT_X, (0.0, 1.0), (0.5, 1.0)]


@pytest.fixture(scope="module")
def toy():
    return load_embedded("toy-moons-mlp")


def _decision(model, pts: torch.Tensor, label: int, target: int) -> torch.Tensor:
    logits = model.logits(pts.to(model.dtype))
    return logits[:, target] - logits[:, label]  # F = f_target − f_label, < 0 on x's side


def _spectrum(model, xy):
    return curvature_spectrum(model, torch.tensor([xy], dtype=model.dtype))


def test_moons_are_the_training_distribution(toy):
    x, y = moons()
    assert x.shape == (2000, 2) and set(np.unique(y)) == {0, 1}
    acc = float((toy.predict(torch.from_numpy(x)).numpy() == y).mean())
    assert acc > 0.98  # a relabelled or shifted copy of the generator would fail this


def test_deepfool_reaches_the_boundary(toy):
    x = torch.tensor(POINTS + [(2.0, 1.0), (-1.0, -2.0)], dtype=toy.dtype)
    bp = deepfool(toy, x)
    assert bool(bp.success.all())
    rows = torch.arange(len(x))
    logits = toy.logits(bp.boundary)
    f = logits[rows, bp.target] - logits[rows, bp.label]
    assert float(f.abs().max()) < 1e-4
    step = 1e-3 * bp.normal  # the normal points out of the label's region
    assert torch.equal(toy.predict(bp.boundary - step), bp.label)
    assert torch.equal(toy.predict(bp.boundary + step), bp.target)


def test_spectrum_has_one_exact_curvature_in_2d(toy):
    s = _spectrum(toy, DEFAULT_X)
    assert s.eigenvalues.shape == (1,) and s.eigenvectors.shape == (1, 2)
    assert s.method == "exact" and s.solver == "full" and s.n_hvp == 1
    t = s.eigenvectors[0]
    assert abs(np.linalg.norm(t) - 1) < 1e-5 and abs(float(t @ s.normal)) < 1e-5  # the tangent line


def _boundary_offsets(model, s, ts: np.ndarray, width: float) -> np.ndarray:
    """s(t) with F(z + t u + s(t) n) = 0, by bisection along the normal line at each tangent offset t."""
    z, n, u = (torch.as_tensor(a, dtype=torch.float64).reshape(2) for a in (s.point, s.normal, s.eigenvectors[0]))
    base = z + torch.as_tensor(ts)[:, None] * u  # (T, 2)
    lo, hi = torch.full((len(ts),), -width, dtype=torch.float64), torch.full((len(ts),), width, dtype=torch.float64)
    assert bool((_decision(model, base + lo[:, None] * n, s.label, s.target) < 0).all())
    assert bool((_decision(model, base + hi[:, None] * n, s.label, s.target) > 0).all())
    for _ in range(40):
        mid = (lo + hi) / 2
        below = _decision(model, base + mid[:, None] * n, s.label, s.target).double() < 0
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return ((lo + hi) / 2).numpy()


@pytest.mark.parametrize("xy", POINTS)
def test_curvature_matches_the_boundary_curve(toy, xy):
    """κ = −s''(0) for the boundary written as s(t) along the normal over the tangent line (a sphere of radius
    R, seen from inside, gives s = −t²/(2R) and κ = 1/R)."""
    s = _spectrum(toy, xy)
    kappa = float(s.eigenvalues[0])
    h = 0.05 * min(1.0, 1 / abs(kappa))
    ts = np.linspace(-h, h, 11)
    offsets = _boundary_offsets(toy, s, ts, width=0.5 * h)
    c, b, a = np.polyfit(ts, offsets, 4)[2:]  # quartic: the t³, t⁴ terms would bias a lower-order fit
    assert abs(a) < 1e-5 and abs(b) < 1e-3  # z is on the boundary and u is tangent to it
    assert -2 * c == pytest.approx(kappa, rel=0.01)  # measured: within 0.1%


def test_sign_convention_centre_of_curvature_side(toy):
    """κ > 0 exactly when the centre z − n/κ of the osculating circle lies in x's region."""
    signs = []
    for xy in POINTS[:2]:
        s = _spectrum(toy, xy)
        kappa = float(s.eigenvalues[0])
        centre = torch.as_tensor(s.point - s.normal / kappa)[None]
        same = int(toy.predict(centre)[0]) == s.label
        assert same == (kappa > 0)
        signs.append(kappa > 0)
    assert signs == [True, False]  # both signs are exercised


def test_default_path_bends_around_the_other_moon(toy):
    a, b = (torch.tensor(e, dtype=toy.dtype) for e in DEFAULT_ENDS)
    p = connecting_path(toy, a, b)
    assert p.connected and not p.straight_inside
    assert p.n_segments >= 2 and p.length_ratio > 1.05
    assert bool(p.path_inside.all()) and not bool(p.line_inside.all())
    inner = torch.as_tensor(p.anchors[1:-1])
    assert bool((toy.predict(inner) == p.label).all())


def test_far_corner_falls_back_to_a_longer_deepfool(toy):
    """Deep in the saturated lower-right corner DeepFool's default 50 steps run out; the view retries longer."""
    with pytest.raises(AtlasError, match="DeepFool"):
        _spectrum(toy, (3.0, -3.0))
    p = cache_toy.point(cache_toy.MODEL_NAME, 3.0, -3.0, toy)
    np.testing.assert_allclose(p.spectrum.x, [3.0, -3.0])
    assert abs(p.decision_z) < 1e-4 and p.decision_x > 1 and p.spectrum.eigenvalues.shape == (1,)
    np.testing.assert_allclose(p.spectrum.perturbation, p.spectrum.point - p.spectrum.x)


def test_push_steps_do_not_fly_to_the_bounds_where_the_logits_are_flat(toy):
    """From (-1, -0.5) the first midpoint sits where the tanh units saturate: an uncapped linearised push
    jumped to the corner (-3, 3) (length ratio 4.4); capped at half the segment, it stays near the moon."""
    p = connecting_path(toy, torch.tensor([-1.0, -0.5]), torch.tensor([0.9, 0.2]))
    assert p.connected
    assert np.abs(p.anchors).max() < 2.5
    assert p.length_ratio < 2.5
