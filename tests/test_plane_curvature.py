"""The boundary curve's curvature in a plane, from bisection on the model (geometry.plane_curvature), against
circles of a sphere and the conic of a quadratic classifier, whose curvatures are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import AtlasError
from geometry.plane_curvature import plane_curvature
from geometry.planes import normal_plane, random_plane


def _conic_curvature(quadratic_model, plane, point: tuple[float, float]) -> float:
    """Curvature of the level curve φ = 0 of φ(a, b) = F(origin + a u + b v) at (a, b), F = f_1 − f_0 negative
    on x's side: (φ_aa φ_b² − 2 φ_ab φ_a φ_b + φ_bb φ_a²) / |∇φ|³ (a circle around x gives +1/R)."""
    m = quadratic_model.module.net
    a_mat, b_vec = m.a.numpy(), m.b.numpy()
    u, v = plane.u, plane.v
    hess = np.array([[u @ a_mat @ u, u @ a_mat @ v], [v @ a_mat @ u, v @ a_mat @ v]])
    y = plane.point(*point)
    g = a_mat @ y + b_vec
    ga, gb = g @ u, g @ v
    return float((hess[0, 0] * gb**2 - 2 * hess[0, 1] * ga * gb + hess[1, 1] * ga**2) / np.hypot(ga, gb) ** 3)


def test_great_circle_of_a_sphere(sphere_model):
    x = torch.tensor([0.5, 0.3, 0.0, 0.0], dtype=torch.float64)
    pc = plane_curvature(sphere_model, normal_plane(sphere_model, x, seed=0))  # holds the centre: radius 2
    assert pc.curvature == pytest.approx(0.5, rel=0.005)  # positive: the ball bends around x
    assert pc.distance == pytest.approx(2.0 - np.hypot(0.5, 0.3), rel=1e-6) and pc.where.startswith("z")
    assert len(pc.fit_points) == 9 and pc.window == pytest.approx(0.1 * pc.distance)


def test_small_circle_of_a_sphere_in_a_random_plane(sphere_model):
    x = torch.tensor([0.5, 0.3, 0.0, 0.0], dtype=torch.float64)
    plane = random_plane(sphere_model, x, seed=1)
    pc = plane_curvature(sphere_model, plane)
    centre = -plane.origin  # the centre (0) relative to x
    off = np.linalg.norm(centre - (centre @ plane.u) * plane.u - (centre @ plane.v) * plane.v)
    assert pc.curvature == pytest.approx(1 / np.sqrt(4.0 - off**2), rel=0.005)  # the circle's radius
    assert pc.where == "the boundary point nearest to x"
    assert np.linalg.norm(plane.point(*pc.point)) == pytest.approx(2.0, abs=1e-6)  # p is on the sphere


def test_outside_a_ball_the_curve_bends_away(sphere_model):
    x = torch.tensor([3.0, 0.0, 0.0, 0.0], dtype=torch.float64)  # label 'outside': its region is concave
    pc = plane_curvature(sphere_model, normal_plane(sphere_model, x, seed=0))
    assert pc.curvature == pytest.approx(-0.5, rel=0.005) and pc.distance == pytest.approx(1.0, rel=1e-6)


def test_quadratic_conic_matches_the_closed_form(quadratic_model):
    x = torch.zeros(6, dtype=torch.float64)
    for plane in (normal_plane(quadratic_model, x, seed=3), random_plane(quadratic_model, x, seed=2)):
        pc = plane_curvature(quadratic_model, plane)
        assert np.isfinite(pc.curvature)
        assert pc.curvature == pytest.approx(_conic_curvature(quadratic_model, plane, pc.point), rel=0.02,
                                             abs=1e-3)
        f = quadratic_model.logits(torch.from_numpy(plane.point(*pc.point))[None])[0]
        assert abs(float(f[1] - f[0])) < 1e-6  # p lies on the boundary


def test_straight_boundary_and_no_boundary(linear_model):
    x = torch.zeros(1, 5, dtype=torch.float64)
    plane = normal_plane(linear_model, x, seed=1)
    pc = plane_curvature(linear_model, plane)
    assert abs(pc.curvature) < 1e-6 and pc.distance == pytest.approx(plane.distance, rel=1e-6)
    far = plane_curvature(linear_model, random_plane(linear_model, x, seed=0, extent=1.0), search=1e-3)
    assert np.isnan(far.curvature) and "no boundary" in far.where and "no boundary" in far.describe()
    with pytest.raises(AtlasError, match="window_fraction"):
        plane_curvature(linear_model, plane, window_fraction=0.0)
