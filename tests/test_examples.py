"""geometry.examples: straight-line scans on classifiers whose regions are known (a half-space is convex, the
outside of a ball is not), and the reproducible same-class pair draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import analytic
from geometry.errors import AtlasError
from geometry.examples import same_class_pairs, scan_lines


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
