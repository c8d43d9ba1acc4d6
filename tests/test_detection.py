"""Detection scores (geometry/detection.py, docs/paper_notes.md §7): exact values on the sphere, ROC against a
brute-force count, and detection of DeepFool images on the embedded ReLU net above chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry.batching import make_generator, random_unit_vectors
from geometry.detection import (
    BOUNDARY_PERTURBED_SIGN,
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


def test_class_blocks_give_the_unblocked_scores(relu_cnn, softplus_cnn, digits, monkeypatch):
    """Blocks of classes (forced tiny: 3 classes × T rows) bound memory without changing the result."""
    import geometry.detection as det
    x = torch.from_numpy(digits.images[:3])
    for model in (softplus_cnn, relu_cnn):
        whole = curvature_scores(model, x, directions=4, seed=3)
        monkeypatch.setattr(det, "_ROWS_PER_CHUNK", 3 * 4)
        blocked = curvature_scores(model, x, directions=4, seed=3)
        monkeypatch.setattr(det, "_ROWS_PER_CHUNK", 2048)
        np.testing.assert_allclose(blocked.scores, whole.scores, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(blocked.recovered, whole.recovered)
        assert blocked.n_hvp == whole.n_hvp == 3 * 9 * 4


def test_block_memory_does_not_grow_with_the_number_of_classes(softplus_cnn, digits, monkeypatch):
    """The HVP is never asked for more than about _ROWS_PER_CHUNK rows, whatever L·T is."""
    import geometry.detection as det
    seen = []
    real = det.hvp

    def spy(model, x, k, k_hat, v, **kw):
        seen.append(v.shape[0] * v.shape[1])
        return real(model, x, k, k_hat, v, **kw)

    monkeypatch.setattr(det, "hvp", spy)
    monkeypatch.setattr(det, "_ROWS_PER_CHUNK", 8)
    curvature_scores(softplus_cnn, torch.from_numpy(digits.images[:2]), directions=4, seed=0)
    assert max(seen) <= 8 and sum(seen) == 2 * 9 * 4


def test_top_classes_restricts_the_sum(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[:4])
    full = curvature_scores(softplus_cnn, x, directions=3, seed=5)
    top = curvature_scores(softplus_cnn, x, directions=3, seed=5, classes=3)
    logits = softplus_cnn.logits(x).numpy()
    for i in range(4):
        order = [k for k in np.argsort(-logits[i]) if k != top.label[i]][:3]
        assert set(np.flatnonzero(~np.isnan(top.scores[i]))) == set(order)
        np.testing.assert_allclose(top.scores[i, order], full.scores[i, order], rtol=1e-4, atol=1e-7)
        assert top.recovered[i] in order
    np.testing.assert_allclose(top.rho, np.nansum(top.scores, 1) / 4)  # averaged over K + 1 = 4
    same = curvature_scores(softplus_cnn, x, directions=3, seed=5, classes=9)
    np.testing.assert_allclose(same.rho, full.rho, rtol=1e-6)
    assert top.n_hvp == 4 * 3 * 3
    with pytest.raises(AtlasError, match="classes"):
        curvature_scores(softplus_cnn, x, classes=0)


def test_attacked_images_keep_their_clean_directions(softplus_cnn, digits):
    """With some attacks failing, image j is still scored along the same directions clean and attacked."""
    from geometry.detection import random_directions
    x = torch.from_numpy(digits.images[:6])
    ev = evaluate_detection(softplus_cnn, x, attacks=("fgsm",), attack_params={"fgsm": {"eps": 0.05}},
                            directions=2, seed=7)
    a = ev.attacks["fgsm"]
    idx = np.flatnonzero(a.success)
    assert 0 < len(idx) < 6 and idx[1] != 1  # a re-indexed subset: its rows are not images 0, 1, …
    v = random_directions(softplus_cnn, 6, 2, 7)
    from geometry.attacks import attack
    adv = torch.from_numpy(attack(softplus_cnn, x, "fgsm", seed=7, eps=0.05).adversarial[idx])
    again = curvature_scores(softplus_cnn, adv, v=v[torch.from_numpy(idx)])
    np.testing.assert_allclose(a.scores.scores, again.scores, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(ev.clean.scores, curvature_scores(softplus_cnn, x, directions=2,
                                                                    seed=7).scores)


def test_per_direction_samples_average_to_the_scores(softplus_cnn, digits):
    cs = curvature_scores(softplus_cnn, torch.from_numpy(digits.images[:3]), directions=3, seed=2)
    assert cs.samples.shape == (3, 10, 3)
    scored = ~np.isnan(cs.scores)
    np.testing.assert_allclose(cs.samples[scored].mean(axis=1), cs.scores[scored], rtol=1e-6)
    assert np.isnan(cs.samples[np.arange(3), cs.label]).all()


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_curvature_taken_at_other_points_keeps_the_images_orientation(sphere_model, method):
    """Scores at `at` are the sphere's curvature there; k̂ (and so the sign of F) still comes from x."""
    x = torch.tensor([[1.0, 0, 0, 0], [0, 0.5, 0.5, 0]], dtype=torch.float64)  # inside: label 0
    at = torch.tensor([[0, 3.0, 0, 0], [0.2, 0.4, -1.0, 0.3]], dtype=torch.float64)  # one outside, one inside
    cs = curvature_scores(sphere_model, x, directions=T, method=method, h=1e-2, seed=4, at=at)
    assert (cs.label == 0).all()
    np.testing.assert_allclose(cs.scores[:, 1], _expected_sphere_scores(at, 1.0, 4), rtol=1e-6)
    with pytest.raises(AtlasError, match="evaluation points"):
        curvature_scores(sphere_model, x, directions=T, at=at[:1])


def test_evaluation_points_move_towards_the_deepfool_boundary(sphere_model):
    from geometry.detection import evaluation_points
    x = torch.tensor([[1.0, 0, 0, 0], [0, 3.0, 4.0, 0]], dtype=torch.float64)  # radius 1 (in), 5 (out)
    np.testing.assert_array_equal(evaluation_points(sphere_model, x, 0.0), x)
    on_sphere = 2.0 * x / x.norm(dim=1, keepdim=True)  # the nearest boundary point of a ball of radius 2
    np.testing.assert_allclose(evaluation_points(sphere_model, x, 1.0), on_sphere, atol=1e-6)
    np.testing.assert_allclose(evaluation_points(sphere_model, x, 0.5), (x + on_sphere) / 2, atol=1e-6)
    with pytest.raises(AtlasError, match="toward_boundary"):
        evaluation_points(sphere_model, x, 1.5)
    ev = evaluate_detection(sphere_model, x[:1], attacks=("deepfool",), directions=T, method="exact", seed=4,
                            toward_boundary=1.0)
    assert ev.config["toward_boundary"] == 1.0 and ev.config["sign"] == BOUNDARY_PERTURBED_SIGN == 1.0
    # at the boundary point, clean and attacked images see the same sphere from opposite sides
    np.testing.assert_allclose(ev.attacks["deepfool"].scores.rho, -ev.clean.rho, rtol=1e-3)
    # oriented as measured on the nets near the boundary: the score is +ρ there (−ρ at x)
    np.testing.assert_allclose(ev.clean.statistic("mean"), ev.clean.rho)
    flipped = curvature_scores(sphere_model, x, directions=T, method="exact", seed=4, sign=-1.0)
    np.testing.assert_allclose(flipped.oriented, -curvature_scores(sphere_model, x, directions=T, method="exact",
                                                                   seed=4, sign=1.0).oriented)
    assert curvature_scores(sphere_model, x, directions=T, method="exact", seed=4).sign == PERTURBED_SIGN


class _TwoBalls(torch.nn.Module):
    """Class 0 everywhere except: class 1 outside ‖x‖ = 6, class 2 in the unit ball around c = 3e₀, class 3
    in the unit ball around −c. F_1 = f_1 − f_0 has Hessian +I and ∇F_1 = x; F_2 and F_3 have Hessian −I and
    ∇F = −(x ∓ c): seen from class 0, the balls' boundaries bend away from x, the outer sphere around it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1)
        c = torch.tensor([3.0, 0, 0, 0], dtype=z.dtype)
        f1 = ((z**2).sum(1) - 36) / 2
        f2, f3 = (1 - ((z - c) ** 2).sum(1)) / 2, (1 - ((z + c) ** 2).sum(1)) / 2
        return torch.stack([torch.zeros_like(f1), f1, f2, f3], dim=1)


@pytest.mark.parametrize("method", ["exact", "fd"])
def test_label_recovery_names_the_ball_an_image_was_pushed_out_of(method):
    """DeepFool pushes points of each small ball just outside it (into class 0). The boundary towards that
    ball is the one most bent away from x (c_i = −s_i largest), so the recovered label is the ball's class:
    2 for the ball around c, 3 for the one around −c, with the exact per-class curvature means."""
    from geometry.analytic import classifier
    from geometry.deepfool import deepfool

    model = classifier(_TwoBalls().double(), (4,), ("zero", "outside", "ball +c", "ball −c"), name="balls")
    u = random_unit_vectors(3, (4,), generator=make_generator(9), dtype=torch.float64)
    c = torch.tensor([3.0, 0, 0, 0], dtype=torch.float64)
    x = torch.cat([c + 0.5 * u, -c + 0.5 * u])
    bp = deepfool(model, x)
    assert bp.label.tolist() == [2, 2, 2, 3, 3, 3] and (bp.target == 0).all()
    adv = bp.adversarial
    cs = curvature_scores(model, adv, directions=T, method=method, h=1e-2, seed=4)
    assert (cs.label == 0).all()
    np.testing.assert_array_equal(cs.recovered, bp.label.numpy())
    v = random_unit_vectors(len(adv) * T, (4,), generator=make_generator(4), dtype=torch.float64)
    v = v.reshape(len(adv), T, 4)
    for cls, grad, sign in ((1, adv, 1.0), (2, -(adv - c), -1.0), (3, -(adv + c), -1.0)):
        n = grad / grad.norm(dim=1, keepdim=True)
        pv = v - (v * n[:, None]).sum(2, keepdim=True) * n[:, None]
        expected = sign * (pv**2).sum(2).mean(1) / grad.norm(dim=1)
        np.testing.assert_allclose(cs.scores[:, cls], expected.numpy(), rtol=1e-6)
