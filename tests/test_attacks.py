"""FGSM and PGD (geometry/attacks.py): budgets respected, labels changed, batching and seeding invariant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry.attacks import ATTACKS, attack, fgsm, pgd
from geometry.errors import AtlasError


@pytest.fixture(scope="module")
def images(digits) -> torch.Tensor:
    return torch.from_numpy(digits.images[100:116])


def test_fgsm_on_linear_model_steps_against_the_label_gradient(linear_model):
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    res = fgsm(linear_model, x, eps=0.3)
    delta = res.adversarial - res.x
    np.testing.assert_allclose(np.abs(delta), 0.3, rtol=1e-12)  # unbounded model: no clipping
    # the step lowers the label's logit margin: cross-entropy of the label increases
    before = linear_model.logits(torch.from_numpy(res.x)).log_softmax(1)
    after = linear_model.logits(torch.from_numpy(res.adversarial)).log_softmax(1)
    rows = torch.arange(6)
    assert (after[rows, res.label] < before[rows, res.label]).all()


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_respects_budget_and_bounds(relu_cnn, images, norm):
    eps = 1.5 if norm == "l2" else 0.1
    res = pgd(relu_cnn, images, eps=eps, norm=norm, steps=10)
    size = res.l2 if norm == "l2" else res.linf
    assert (size <= eps * (1 + 1e-5)).all()
    assert res.adversarial.min() >= 0 and res.adversarial.max() <= 1
    assert res.success_rate > 0.3  # these budgets flip a good share of MNIST digits
    assert (res.adv_label[res.success] != res.label[res.success]).all()


def test_pgd_early_stop_gives_smaller_perturbations(softplus_cnn, images):
    stop = pgd(softplus_cnn, images, eps=0.2, norm="linf", steps=20)
    full = pgd(softplus_cnn, images, eps=0.2, norm="linf", steps=20, early_stop=False)
    both = stop.success & full.success
    assert both.sum() >= 4
    assert np.median(stop.l2[both]) < np.median(full.l2[both])


def test_seeded_random_start_attack_does_not_depend_on_the_batch_size(relu_cnn, images):
    whole = attack(relu_cnn, images[:6], "pgd-l2", eps=1.0, steps=5, random_start=True, seed=5)
    again = attack(relu_cnn, images[:6], "pgd-l2", eps=1.0, steps=5, random_start=True, seed=5, batch_size=4)
    np.testing.assert_allclose(whole.adversarial, again.adversarial, atol=1e-5)


@pytest.mark.parametrize("name", ATTACKS)
def test_every_attack_runs_by_name(softplus_cnn, images, name):
    res = attack(softplus_cnn, images[:4], name)
    assert res.adversarial.shape == (4, 1, 28, 28) and res.label.shape == (4,)


def test_bad_attack_input(relu_cnn, images):
    with pytest.raises(AtlasError, match="unknown attack"):
        attack(relu_cnn, images, "cw")
    with pytest.raises(AtlasError, match="eps must be positive"):
        fgsm(relu_cnn, images, eps=0)
    with pytest.raises(AtlasError, match="norm"):
        pgd(relu_cnn, images, eps=1.0, norm="l1")


def test_pgd_l2_random_start_is_uniform_in_the_ball(linear_model):
    """With a zero step size PGD stays at its random start: its radii must follow the law of a uniform
    point of the 5-ball, P(‖δ‖ ≤ ρ·eps) = ρ⁵, and its directions must be spread evenly."""
    from scipy import stats

    x = torch.zeros(4000, 5, dtype=torch.float64)
    eps = 0.7
    res = pgd(linear_model, x, eps=eps, norm="l2", steps=1, step_size=0.0, random_start=True, seed=3)
    radius = res.l2 / eps
    assert radius.max() <= 1 + 1e-12
    assert stats.kstest(radius**5, "uniform").pvalue > 0.01  # (‖δ‖/eps)^d is uniform on [0, 1]
    assert np.quantile(radius, 0.1) < 0.7 and np.quantile(radius, 0.9) > 0.95  # not one fixed radius
    unit = res.adversarial / np.linalg.norm(res.adversarial, axis=1, keepdims=True)
    assert np.abs(unit.mean(0)).max() < 0.05  # no preferred direction (each mean's sd is about 0.007)
    # E[u_i⁴] = 3/(d(d+2)) on the uniform sphere; a normalised uniform-cube draw gives about 0.070 instead
    assert abs(float((unit**4).mean()) - 3 / 35) < 0.005
