"""Plane constructions: orthonormal directions, marked points at the right coordinates, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import AtlasError
from geometry.planes import (
    curvature_plane,
    normal_plane,
    orthonormalize,
    points_plane,
    random_plane,
    three_point_plane,
    visible_extent,
)


def _orthonormal(p) -> None:
    u, v = p.u.ravel(), p.v.ravel()
    assert abs(u @ u - 1) < 1e-10 and abs(v @ v - 1) < 1e-10 and abs(u @ v) < 1e-10


def test_three_point_plane_places_the_points():
    gen = np.random.default_rng(0)
    x1, x2, x3 = gen.normal(size=(3, 2, 4, 4))
    p = three_point_plane(x1, x2, x3)
    _orthonormal(p)
    for name, pt in zip(("x1", "x2", "x3"), (x1, x2, x3), strict=True):
        a, b = p.marks[name]
        assert np.allclose(p.point(a, b), pt, atol=1e-10)  # the points lie in the plane at their marks
        assert np.allclose(p.coordinates(pt), (a, b), atol=1e-10)
    assert p.marks["x2"][1] == 0 and p.marks["x2"][0] == pytest.approx(np.linalg.norm(x2 - x1))


def test_collinear_points_are_rejected():
    x1 = np.zeros(5)
    with pytest.raises(AtlasError, match="collinear"):
        three_point_plane(x1, x1 + 1, x1 + 2)
    with pytest.raises(AtlasError, match="zero"):
        orthonormalize(np.zeros(3), np.ones(3))


def test_normal_plane_of_linear_model_is_along_the_weight_difference(linear_model):
    x = torch.zeros(1, 5, dtype=torch.float64)
    p = normal_plane(linear_model, x, seed=3)
    _orthonormal(p)
    w = linear_model.module.net.weight.detach().numpy()
    k_hat = int(linear_model.predict(x)[0])
    # u must be ±(w_k − w_k̂)/‖·‖ for the nearest competing hyperplane
    cos = [abs(p.u @ (w[j] - w[k_hat])) / np.linalg.norm(w[j] - w[k_hat]) for j in range(3) if j != k_hat]
    assert max(cos) == pytest.approx(1.0, abs=1e-6)
    a, b = p.marks["boundary z"]
    assert b == 0 and a == pytest.approx(p.distance) and p.default_extent == pytest.approx(3 * p.distance)


def test_curvature_plane_keeps_the_given_direction(linear_model):
    x = torch.zeros(1, 5, dtype=torch.float64)
    d = np.array([0.0, 0.0, 0.0, 1.0, 0.0])
    p = curvature_plane(linear_model, x, d)
    _orthonormal(p)
    expected = d - (d @ p.u) * p.u
    assert np.allclose(p.v, expected / np.linalg.norm(expected))
    assert p.kind == "normal × curvature"
    with pytest.raises(AtlasError, match="shape"):
        curvature_plane(linear_model, x, np.ones(4))


def test_random_plane_is_seeded(linear_model):
    x = torch.zeros(5, dtype=torch.float64)
    p1, p2, p3 = (random_plane(linear_model, x, seed=s) for s in (4, 4, 5))
    _orthonormal(p1)
    assert np.array_equal(p1.u, p2.u) and np.array_equal(p1.v, p2.v)
    assert not np.allclose(p1.u, p3.u)


def test_points_plane_through_image_and_two_points(linear_model):
    x = torch.zeros(5, dtype=torch.float64)
    p, q = np.eye(5)[0], np.eye(5)[1]
    plane = points_plane(linear_model, x, p, q)
    assert plane.marks["x"] == (0.0, 0.0)
    assert np.allclose(plane.marks["q"], plane.coordinates(q))
    assert np.allclose(plane.point(*plane.marks["q"]), q)


def test_visible_extent_rule():
    # e = min(max(3‖r‖, 1/|κ|), 10‖r‖): the curve's departure |κ|e²/2 at the edge is then >= e/2
    assert visible_extent(1.0, 0.0) == pytest.approx(10.0)  # flat: the widest view
    assert visible_extent(1.0, -0.2) == pytest.approx(5.0)  # 1/|κ| between 3‖r‖ and 10‖r‖
    assert visible_extent(2.0, 1.0) == pytest.approx(6.0)  # strongly curved: 3‖r‖ keeps x and z in view
    assert visible_extent(1.0, float("nan")) == pytest.approx(10.0)
    e = visible_extent(1.5, 0.25)
    assert 0.25 * e**2 / 2 >= e / 2 - 1e-12 and 3 * 1.5 <= e <= 10 * 1.5
    with pytest.raises(AtlasError, match="distance"):
        visible_extent(0.0, 1.0)
