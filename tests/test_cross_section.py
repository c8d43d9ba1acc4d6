"""Cross-sections against analytic truths: straight boundaries for linear models, the conic of a quadratic,
the circle of a sphere; adaptive refinement against the dense grid on the embedded ReLU CNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import AtlasError, analytic
from geometry.cross_section import cross_section
from geometry.model import Classifier, ModelCard
from geometry.planes import normal_plane, random_plane
from geometry.profiles import line_profile
from geometry.regions import region_stats


def _analytic_labels(model, cs) -> np.ndarray:
    aa, bb = np.meshgrid(cs.a, cs.b)
    p = cs.plane
    pts = p.origin[None] + aa.ravel()[:, None] * p.u[None] + bb.ravel()[:, None] * p.v[None]
    return model.predict(torch.from_numpy(pts)).numpy().reshape(aa.shape)


def test_linear_boundary_is_straight_at_the_known_distance(linear_model):
    x = torch.zeros(1, 5, dtype=torch.float64)
    plane = normal_plane(linear_model, x, seed=1)
    cs = cross_section(linear_model, plane, resolution=81, method="dense")
    assert np.array_equal(cs.labels, _analytic_labels(linear_model, cs))
    w = linear_model.module.net.weight.detach().numpy()
    c = linear_model.module.net.bias.detach().numpy()
    k = cs.label_x
    # distance from x to each line {F_j = 0} within the plane; the region is convex so the minimum is it
    lines = [(c[j] - c[k]) / np.hypot((w[j] - w[k]) @ plane.u, (w[j] - w[k]) @ plane.v)
             for j in range(3) if j != k]
    truth = min(abs(d) for d in lines)
    stats = region_stats(cs)
    assert stats.distance == pytest.approx(truth, rel=1e-6)
    assert stats.distance == pytest.approx(plane.distance, rel=1e-6)  # the normal plane contains r(x)
    assert abs(stats.curvature) < 1e-6  # a straight line
    assert cs.n_forward == cs.dense_forward == 81**2 + 1


def test_quadratic_gives_its_conic(quadratic_model):
    x = torch.zeros(6, dtype=torch.float64)
    plane = random_plane(quadratic_model, x, seed=2)
    cs = cross_section(quadratic_model, plane, extent=2.0, resolution=101, method="dense")
    aa, bb = np.meshgrid(cs.a, cs.b)
    m = quadratic_model.module.net
    a_mat, b_vec, c = m.a.numpy(), m.b.numpy(), float(m.c)
    u, v = plane.u, plane.v
    # F(a u + b v) restricted to the plane is the conic ½[a b] M [a b]ᵀ + [a b]·q + c
    mat = np.array([[u @ a_mat @ u, u @ a_mat @ v], [v @ a_mat @ u, v @ a_mat @ v]])
    q = np.array([b_vec @ u, b_vec @ v])
    conic = 0.5 * (mat[0, 0] * aa**2 + 2 * mat[0, 1] * aa * bb + mat[1, 1] * bb**2)
    conic = conic + q[0] * aa + q[1] * bb + c
    assert np.mean(cs.labels == (conic > 0)) == 1.0
    assert np.allclose(cs.F, conic if cs.label_x == 0 else -conic, atol=1e-9)
    assert len(np.unique(cs.labels)) == 2  # the conic is in view


def test_sphere_section_is_a_circle_of_the_sphere_radius(sphere_model):
    x = torch.tensor([0.5, 0.0, 0.0, 0.0])
    plane = normal_plane(sphere_model, x, seed=0)  # contains the centre: a great circle of radius 2
    cs = cross_section(sphere_model, plane, extent=3.0, resolution=161, method="dense")  # circle in view
    stats = region_stats(cs)
    assert stats.distance == pytest.approx(1.5, abs=1e-3)
    assert stats.curvature == pytest.approx(0.5, rel=0.05)  # positive: the region is convex around x
    assert stats.components == {0: 1, 1: 1}


def test_adaptive_matches_dense_with_fewer_passes(relu_cnn, digits):
    x = torch.as_tensor(digits.images[2])
    plane = normal_plane(relu_cnn, x, seed=0)
    dense = cross_section(relu_cnn, plane, resolution=97, method="dense")
    adaptive = cross_section(relu_cnn, plane, resolution=97, method="adaptive")
    assert len(np.unique(dense.labels)) >= 2
    assert np.mean(dense.labels == adaptive.labels) >= 0.99
    assert adaptive.n_forward * 3 < dense.n_forward
    ev = adaptive.evaluated
    assert np.array_equal(adaptive.labels[ev], dense.labels[ev])
    assert np.allclose(adaptive.F[ev], dense.F[ev], atol=1e-4)


def test_chunking_and_clipping(relu_cnn, digits):
    x = torch.as_tensor(digits.images[0])
    plane = random_plane(relu_cnn, x, seed=5)
    one = cross_section(relu_cnn, plane, resolution=12, method="dense", batch_size=7, clip=True)
    two = cross_section(relu_cnn, plane, resolution=12, method="dense", clip=True)
    assert np.array_equal(one.labels, two.labels) and np.allclose(one.F, two.F, atol=1e-5)
    assert 0 < one.clipped_fraction <= 1  # random directions leave [0, 1] at once
    raw = cross_section(relu_cnn, plane, resolution=12, method="dense")  # the default: the true plane
    assert not raw.clip and raw.clipped_fraction == 0 and not np.allclose(raw.F, one.F)
    # the same points leave the range whether or not they are clipped
    assert raw.outside_fraction == one.outside_fraction == one.clipped_fraction
    pts = plane.origin[None] + np.stack([a * plane.u + b * plane.v for b in raw.b for a in raw.a])
    assert raw.outside_fraction == pytest.approx(np.mean(((pts < 0) | (pts > 1)).reshape(len(pts), -1).any(1)))
    assert raw.config()["outside_fraction"] == raw.outside_fraction


def test_unclipped_plane_is_linear_in_the_inputs():
    # A linear model on an unclipped plane: F is exactly linear in (a, b); clipping would bend it.
    w = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]], dtype=torch.float64)
    model = analytic.linear_classifier(w, torch.tensor([0.2, 0.0], dtype=torch.float64))
    bounded = Classifier(model.module.net, ModelCard("linear01", (3,), model.class_names, bounds=(0.0, 1.0)),
                         device="cpu", dtype=torch.float64)
    plane = random_plane(bounded, np.full(3, 0.5), seed=1, extent=2.0)
    raw, bent = (cross_section(bounded, plane, resolution=21, method="dense", clip=c) for c in (False, True))
    aa, bb = np.meshgrid(raw.a, raw.b)
    fit = np.linalg.lstsq(np.stack([aa.ravel(), bb.ravel(), np.ones(aa.size)], 1), raw.F.ravel(), rcond=None)
    assert np.abs(fit[1]).max() < 1e-8  # the residual of a plane fit: F is affine on the true plane
    fit = np.linalg.lstsq(np.stack([aa.ravel(), bb.ravel(), np.ones(aa.size)], 1), bent.F.ravel(), rcond=None)
    assert fit[1].max() > 1e-3 and raw.outside_fraction > 0.5  # clipped: not affine, the plane is bent


def test_profile_crosses_boundary_at_deepfool_distance(linear_model):
    x = torch.zeros(1, 5, dtype=torch.float64)
    plane = normal_plane(linear_model, x)
    prof = line_profile(linear_model, plane, "u", points=301)
    crossing = prof.t[np.argmax(prof.labels != prof.label_x)]
    assert crossing == pytest.approx(plane.distance, abs=2 * (prof.t[1] - prof.t[0]))
    assert np.all(np.diff(prof.F) > 0) or np.all(np.diff(prof.F) < 0)  # F is linear along u


def test_bad_arguments_raise(linear_model):
    plane = random_plane(linear_model, torch.zeros(5, dtype=torch.float64))
    with pytest.raises(AtlasError, match="resolution"):
        cross_section(linear_model, plane, resolution=1000)
    with pytest.raises(AtlasError, match="extent"):
        cross_section(linear_model, plane, extent=-1.0)
    with pytest.raises(AtlasError, match="method"):
        cross_section(linear_model, plane, method="sparse")
    with pytest.raises(AtlasError, match="ref_class"):
        cross_section(linear_model, plane, ref_class=9)
