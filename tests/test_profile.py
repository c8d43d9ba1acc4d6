"""Dataset-level curvature profile on classifiers whose curvatures are known in closed form."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from geometry import analytic
from geometry.errors import AtlasError
from geometry.profile import curvature_profile


def _inside_points(n: int, d: int, radius: float, seed: int = 0) -> torch.Tensor:
    """n points strictly inside the ball (norms between 0.2 R and 0.8 R), in random directions."""
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(n, d, generator=gen, dtype=torch.float64)
    r = radius * (0.2 + 0.6 * torch.rand(n, 1, generator=gen, dtype=torch.float64))
    return u / u.norm(dim=1, keepdim=True) * r


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_sphere_profile_is_one_over_radius(method):
    radius, d = 2.0, 6
    model = analytic.sphere_classifier(torch.zeros(d), radius)
    seen = []
    p = curvature_profile(model, _inside_points(5, d, radius), method=method, progress=seen.append)
    assert p.curvatures.shape == (5, d - 1)
    np.testing.assert_allclose(p.curvatures, 1 / radius, rtol=1e-3)
    np.testing.assert_allclose(p.median, 1 / radius, rtol=1e-3)
    np.testing.assert_allclose([p.lower, p.upper], 1 / radius, rtol=1e-3)
    np.testing.assert_allclose(p.distance, radius - _inside_points(5, d, radius).norm(dim=1).numpy(), atol=1e-3)
    assert p.method == method and p.solver == "full" and p.converged.all()
    assert list(p.ranks) == list(range(d - 1)) and p.skipped.size == 0
    assert seen[-1] == 1.0 and all(a <= b for a, b in zip(seen, seen[1:], strict=False))


def test_quadratic_profile_matches_hessian_over_gradient():
    """F = βx₀ + ½ Σ aᵢxᵢ²: from x = −t e₀ DeepFool reaches z = 0, where ∇F = β e₀ and κᵢ = aᵢ/β."""
    a = torch.tensor([0.0, 3.0, 1.0, -0.5, -2.0], dtype=torch.float64)
    beta = 2.0
    model = analytic.quadratic_classifier(torch.diag(a), beta * torch.eye(5, dtype=torch.float64)[0], 0.0)
    x = torch.zeros(3, 5, dtype=torch.float64)
    x[:, 0] = torch.tensor([-0.5, -1.0, -2.0])
    p = curvature_profile(model, x)
    expected = np.sort(a[1:].numpy() / beta)[::-1]
    np.testing.assert_allclose(p.curvatures, np.tile(expected, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(p.max_curvature, 1.5, atol=1e-6)
    np.testing.assert_allclose(p.min_curvature, -1.0, atol=1e-6)
    # |κ| < 0.2 · max|κ| = 0.3 holds for −0.25 only, one of the four curvatures
    np.testing.assert_allclose(p.flat_fraction(0.2), 0.25)


def test_bands_are_quantiles_over_images():
    """Off-axis points of a quadratic boundary have different curvatures; the bands are the per-column
    quantiles of the rows."""
    a = torch.tensor([0.0, 3.0, 1.0], dtype=torch.float64)
    model = analytic.quadratic_classifier(torch.diag(a), torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                                          0.0)
    gen = torch.Generator().manual_seed(3)
    x = torch.cat([-1 - torch.rand(6, 1, generator=gen, dtype=torch.float64),
                   0.3 * torch.randn(6, 2, generator=gen, dtype=torch.float64)], dim=1)
    p = curvature_profile(model, x)
    assert p.curvatures.std(axis=0).max() > 1e-3  # the off-axis points really differ
    np.testing.assert_allclose(p.lower, np.quantile(p.curvatures, 0.1, axis=0))
    np.testing.assert_allclose(p.upper, np.quantile(p.curvatures, 0.9, axis=0))
    np.testing.assert_allclose(p.median, np.median(p.curvatures, axis=0))
    assert np.all(np.diff(p.curvatures, axis=1) <= 1e-12)  # each row sorted descending


def test_deterministic_and_json_export():
    model = analytic.sphere_classifier(torch.zeros(4), 1.5)
    x = _inside_points(3, 4, 1.5, seed=1)
    p1, p2 = curvature_profile(model, x, seed=7), curvature_profile(model, x, seed=7)
    np.testing.assert_array_equal(p1.curvatures, p2.curvatures)
    d = json.loads(json.dumps(p1.to_dict()))
    assert d["method"] == "exact" and len(d["median"]) == 3 and d["quantiles"] == [0.1, 0.9]


def test_lanczos_ranks_and_flat_fraction_refused():
    a = torch.cat([torch.zeros(1), torch.linspace(-2.0, 3.0, 11)]).double()  # κ = aᵢ/β at z = 0, β = 1
    model = analytic.quadratic_classifier(torch.diag(a), torch.eye(12, dtype=torch.float64)[0], 0.0)
    x = torch.zeros(2, 12, dtype=torch.float64)
    x[:, 0] = torch.tensor([-0.5, -1.5])
    p = curvature_profile(model, x, solver="lanczos", k=2, tol=1e-8)
    assert p.solver == "lanczos" and p.curvatures.shape == (2, 4)
    assert list(p.ranks) == [0, 1, 9, 10]
    np.testing.assert_allclose(p.curvatures, np.tile([3.0, 2.5, -1.5, -2.0], (2, 1)), atol=1e-5)
    with pytest.raises(AtlasError, match="solver='full'"):
        p.flat_fraction()


def test_errors_are_clear():
    model = analytic.sphere_classifier(torch.zeros(3), 1.0)
    with pytest.raises(AtlasError, match="at must be"):
        curvature_profile(model, _inside_points(2, 3, 1.0), at="middle")
    with pytest.raises(AtlasError, match="at least one image"):
        curvature_profile(model, torch.zeros(0, 3, dtype=torch.float64))
