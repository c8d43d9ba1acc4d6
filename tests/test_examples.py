"""geometry.examples: straight-line scans on classifiers whose regions are known (a half-space is convex, the
outside of a ball is not), and the reproducible same-class pair draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import analytic
from geometry.errors import AtlasError
from geometry.examples import same_class_pairs, scan_boundaries, scan_lines


def test_lines_around_a_ball_leave_the_outside_region_and_the_example_is_the_deepest_dip():
    model = analytic.sphere_classifier(torch.zeros(2, dtype=torch.float64), 1.0)
    outside = int(model.predict(torch.tensor([[3.0, 0.0]], dtype=torch.float64))[0])
    pts = np.array([[3.0, 0.0], [-3.0, 0.0], [3.0, 3.0], [3.0, -3.0], [0.0, 3.0]])
    pairs = np.array([[0, 1], [2, 3], [0, 4]])  # through the centre; beside the ball; a corner cut
    scan = scan_lines(model, pts, pairs, points=101)
    assert list(scan.label) == [outside] * 3
    assert list(scan.leaves) == [True, False, False]  # only the line through the centre crosses the ball
    assert scan.example == 0 and scan.share == pytest.approx(1 / 3)
    assert scan.min_prob[0] < 0.5 <= scan.min_prob[1]


def test_a_half_space_is_convex_no_line_leaves(linear_model):
    pts = torch.randn(200, 5, generator=torch.Generator().manual_seed(3))
    preds = linear_model.predict(pts).numpy()
    pairs = same_class_pairs(preds, 30, seed=1)
    # regions of a linear classifier (argmax of affine functions) are convex
    assert len(pairs) == 30 and not scan_lines(linear_model, pts.numpy(), pairs).leaves.any()


def test_pairs_are_same_class_distinct_and_reproducible():
    preds = np.array([0, 1, 0, 1, 2, 0])
    a, b = same_class_pairs(preds, 4, seed=5), same_class_pairs(preds, 4, seed=5)
    np.testing.assert_array_equal(a, b)
    assert all(preds[i] == preds[j] and i != j for i, j in a)
    assert all(i != 4 for i, _ in a)  # class 2 has a single image: it gets no partner
    with pytest.raises(AtlasError):
        scan_lines(None, np.zeros((2, 3)), a, points=1)


# --- boundary scans (Home, Cross-sections, Curvature examples) ---------------------------------------------

def test_a_sphere_is_equally_curved_everywhere_so_it_is_not_curved_along_a_few():
    """Ball of radius 2 in R^4: every principal curvature is 1/2, so random directions curve as much as the
    most curved one; distances are 2 − ‖x‖; the most bent image (|κ|·‖r‖) is the one nearest the centre."""
    model = analytic.sphere_classifier(torch.zeros(4), 2.0)
    pts = torch.tensor([[0.5, 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 0.2, 0], [0, 0, 0, 1.0], [3.0, 0, 0, 0]],
                       dtype=torch.float64)
    scan = scan_boundaries(model, pts, n=4)
    assert list(scan.indices) == [0, 1, 2, 3] and scan.found.all() and scan.converged.all()
    np.testing.assert_allclose(scan.distance, 2 - np.array([0.5, 1.5, 0.2, 1.0]), rtol=1e-5)
    np.testing.assert_allclose(np.abs(scan.kappa), 0.5, rtol=1e-6)
    np.testing.assert_allclose(scan.kappa_random, 0.5, rtol=1e-6)
    assert not scan.curved.any()
    np.testing.assert_allclose(scan.nearest_other, torch.cdist(pts[:4], pts[4:]).numpy()[:, 0])
    assert scan.most_bent() == 2  # nearest the centre: the largest distance, same curvature
    assert scan.small.tolist() == [False, True, False, False]  # only 0.5 < 3.04 / 4


def test_one_strongly_curved_direction_is_curved_along_a_few():
    """F = 25·x₁² + x₂ − 1 in R^100: at (0, 1, 0, …) the boundary curves by 50 along e₁ and not at all along the
    98 other tangent directions, so the largest |κ| is 50 and random directions see almost none of it."""
    d = 100
    a = torch.zeros(d, d, dtype=torch.float64)
    a[0, 0] = 50.0
    b = torch.zeros(d, dtype=torch.float64)
    b[1] = 1.0
    model = analytic.quadratic_classifier(a, b, -1.0)
    scan = scan_boundaries(model, torch.zeros(1, d, dtype=torch.float64), n=1, random_directions=16)
    assert abs(scan.kappa[0]) == pytest.approx(50.0, rel=1e-6) and scan.distance[0] == pytest.approx(1.0, rel=1e-5)
    assert scan.kappa_random[0] < 50.0 / 10 and scan.curved.tolist() == [True]


def test_misclassified_images_are_not_scanned():
    model = analytic.sphere_classifier(torch.zeros(2), 1.0)
    pts = torch.tensor([[0.1, 0.0], [2.0, 0.0], [0.0, 0.3]], dtype=torch.float64)
    inside = int(model.predict(pts[:1])[0])
    scan = scan_boundaries(model, pts, np.array([inside, inside, inside]), n=5)  # #1 is outside: misread
    assert list(scan.indices) == [0, 2]
    with pytest.raises(AtlasError, match="no correctly classified image"):
        scan_boundaries(model, pts[1:2], np.array([inside]))


def test_a_scan_without_any_boundary_says_so():
    """Constant logits: every image is read as class 0 and DeepFool crosses nothing."""
    model = analytic.linear_classifier(torch.zeros(2, 3), torch.tensor([1.0, 0.0]))
    with pytest.raises(AtlasError, match="found no boundary"):
        scan_boundaries(model, torch.rand(4, 3, generator=torch.Generator().manual_seed(0)), n=4)
