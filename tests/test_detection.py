"""Detection scores (geometry/detection.py, paper.md §4): exact values on the sphere, ROC against a
brute-force count, and detection of DeepFool images on the embedded ReLU net above chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry.batching import make_generator, random_unit_vectors
from geometry.detection import (
    PERTURBED_SIGN,
    curvature_scores,
    decide,
    evaluate_detection,
    roc_curve,
    threshold_at_fpr,
)
from geometry.errors import AtlasError

T = 8


def _expected_sphere_scores(x: torch.Tensor, sign: float, seed: int) -> np.ndarray:
    """s = mean_j ‖P v_j‖² / ‖x‖ (F = ±(‖x‖² − R²): Hessian ±2I, gradient ±2x), the code's directions."""
    v = random_unit_vectors(len(x) * T, (4,), generator=make_generator(seed), dtype=torch.float64)
    v = v.reshape(len(x), T, 4)
    n = x / x.norm(dim=1, keepdim=True)
    pv = v - (v * n[:, None]).sum(2, keepdim=True) * n[:, None]
    return (sign * (pv**2).sum(2).mean(1) / x.norm(dim=1)).numpy()


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_sphere_scores_have_the_known_sign_and_value(sphere_model, method):
    inside = torch.tensor([[1.0, 0, 0, 0], [0, 0.5, 0.5, 0], [0.3, -0.2, 0.9, 1.1]], dtype=torch.float64)
    outside = torch.tensor([[3.0, 0, 0, 0], [0, -2.5, 1, 0]], dtype=torch.float64)
    for pts, label, sign in ((inside, 0, 1.0), (outside, 1, -1.0)):
        cs = curvature_scores(sphere_model, pts, directions=T, method=method, h=1e-2, seed=4)
        assert (cs.label == label).all() and (cs.recovered == 1 - label).all()
        got = cs.scores[np.arange(len(pts)), 1 - label]
        np.testing.assert_allclose(got, _expected_sphere_scores(pts, sign, 4), rtol=1e-6)
        assert np.isnan(cs.scores[np.arange(len(pts)), label]).all()
        np.testing.assert_allclose(cs.rho, got / 2)  # ρ = (1/L) Σ_{i≠k̂} s_i with L = 2
        assert (np.sign(cs.statistic("mean")) == sign * PERTURBED_SIGN).all()


def test_scores_are_seeded_and_batch_invariant(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[:5])
    a = curvature_scores(softplus_cnn, x, directions=4, seed=1)
    b = curvature_scores(softplus_cnn, x, directions=4, seed=1)
    c = curvature_scores(softplus_cnn, x[:2], directions=4, seed=1)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_allclose(a.scores[:2], c.scores, rtol=1e-4, atol=1e-7)
    assert a.method == "exact" and a.n_hvp == 5 * 9 * 4


def test_roc_matches_brute_force_pair_count():
    clean = np.array([0.0, 1, 2, 3])
    attacked = np.array([2.5, 3.5, 4, 5])
    roc = roc_curve(clean, attacked)
    assert roc.auc == pytest.approx(15 / 16)
    assert roc.fpr[0] == 0 and roc.tpr[0] == 0 and roc.fpr[-1] == 1 and roc.tpr[-1] == 1
    rng = np.random.default_rng(0)
    c, a = rng.integers(0, 6, 50).astype(float), rng.integers(2, 8, 40).astype(float)  # with ties
    brute = ((a[:, None] > c[None]).mean() + 0.5 * (a[:, None] == c[None]).mean())
    assert roc_curve(c, a).auc == pytest.approx(brute)
    assert roc_curve(a, a).auc == pytest.approx(0.5)
    with pytest.raises(AtlasError, match="at least one"):
        roc_curve(np.array([]), a)


def test_threshold_at_fpr_limits_false_positives():
    clean = np.arange(100.0)
    t = threshold_at_fpr(clean, 0.05)
    assert decide(clean, t).mean() == pytest.approx(0.05)
    assert decide(clean, np.nextafter(clean[94], -np.inf)).mean() > 0.05


@pytest.mark.slow
def test_deepfool_images_are_detected_above_chance(relu_cnn, digits):
    """Measured on digits 100..129, T=8, h=0.1: AUC 0.73 ("mean" = −ρ) and 0.88 ("min"); see the bench."""
    x = torch.from_numpy(digits.images[100:130])
    ev = evaluate_detection(relu_cnn, x, attacks=("deepfool",), directions=8, h=0.1, seed=0)
    row = ev.summary("mean")["deepfool"]
    assert row["success_rate"] > 0.9
    assert row["auc"] > 0.6, row
    assert ev.summary("min")["deepfool"]["auc"] > 0.75


def test_bad_configuration(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:2])
    with pytest.raises(AtlasError, match="directions"):
        curvature_scores(relu_cnn, x, directions=0)
    with pytest.raises(AtlasError, match="step h"):
        curvature_scores(relu_cnn, x, h=-1.0)
    with pytest.raises(AtlasError, match="statistic"):
        curvature_scores(relu_cnn, x, directions=1).statistic("median")
