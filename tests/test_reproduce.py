"""The reproduce report: baselines on analytic classifiers, detection numbers against a direct computation,
and the JSON layout (four claim keys, each with paper and baseline entries)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from geometry import analytic
from geometry.attacks import attack
from geometry.detection import evaluate_detection, threshold_at_fpr
from geometry.reproduce import (
    CLAIMS,
    FAILS,
    HOLDS,
    ReproduceConfig,
    detection_claim,
    logit_margin,
    margin_baseline,
    random_operator_flat_fraction,
    reproduce,
    runner_up,
    table2,
)

VERDICTS = {"holds", "partly", "does not hold", "not measured"}


def test_margin_baseline_on_a_linear_classifier():
    """f₀ = x, f₁ = −x on the line: the margin is |2x| and the runner-up is the other class."""
    model = analytic.linear_classifier(torch.tensor([[1.0], [-1.0]]), torch.zeros(2))
    clean = model.logits(torch.tensor([[1.0], [2.0], [3.0], [4.0]])).numpy()  # label 0, margins 2 4 6 8
    adv = model.logits(torch.tensor([[-0.1], [-2.5]])).numpy()  # label 1, margins 0.2 and 5
    np.testing.assert_allclose(logit_margin(clean), [2, 4, 6, 8])
    np.testing.assert_allclose(logit_margin(adv), [0.2, 5.0])
    assert runner_up(adv).tolist() == [0, 0] and runner_up(clean).tolist() == [1, 1, 1, 1]
    b = margin_baseline(clean, adv, original=np.array([0, 1]), target_fpr=0.25)
    # score −margin: −0.2 beats all four clean scores, −5 beats −6 and −8: AUC = (4 + 2) / 8
    assert b["auc"] == pytest.approx(0.75)
    # at 25 % FPR one clean image (score −2) may be flagged: threshold just above −2 flags only −0.2
    assert b["threshold"] == pytest.approx(threshold_at_fpr(-logit_margin(clean), 0.25))
    assert b["tpr_at_fpr"] == pytest.approx(0.5) and b["fpr"] <= 0.25
    assert b["runner_up_recovery"] == pytest.approx(0.5)  # first recovers 0 (right), second 0 (wrong: was 1)


def test_table2_statistic_counts_signs():
    t = table2(np.array([0.3, 0.1, -0.2, 0.5]), np.array([-0.1, 0.2, -0.3]))
    assert t == {"clean_sign": 0.75, "perturbed_opposite": pytest.approx(2 / 3)}
    # the other orientation (scores taken toward the boundary): clean images are expected to have ρ < 0
    t = table2(np.array([0.3, 0.1, -0.2, 0.5]), np.array([-0.1, 0.2, -0.3]), clean_sign=-1.0)
    assert t == {"clean_sign": 0.25, "perturbed_opposite": pytest.approx(1 / 3)}


def test_random_operator_baseline_is_the_semicircle():
    """The closed form against a sampled random symmetric matrix (finite size: a few % off)."""
    a = np.random.default_rng(0).standard_normal((300, 300))
    lam = np.linalg.eigvalsh(a + a.T)
    for rel in (0.1, 0.5):
        sampled = np.mean(np.abs(lam) < rel * np.abs(lam).max())
        assert random_operator_flat_fraction(rel) == pytest.approx(sampled, abs=0.03)
    assert random_operator_flat_fraction(1.0) == pytest.approx(1.0)


@pytest.mark.slow
def test_detection_numbers_match_a_direct_computation(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:6])
    cfg = ReproduceConfig(attacks=("deepfool", "fgsm"), directions=4, seed=3)
    claim = detection_claim(relu_cnn, x, cfg, lambda _f: None)
    ev = evaluate_detection(relu_cnn, x, attacks=cfg.attacks, directions=4, seed=3)
    clean_score = -ev.clean.rho  # Algorithm 2's statistic, oriented: perturbed images score higher
    assert claim["ours"]["clean_rho_sign"] == 1.0
    for name in cfg.attacks:
        a, ours = ev.attacks[name], claim["ours"][name]
        adv_score = -a.scores.rho
        truth = np.r_[np.zeros(len(clean_score)), np.ones(len(adv_score))]
        assert ours["auc"] == pytest.approx(roc_auc_score(truth, np.r_[clean_score, adv_score]))
        t = threshold_at_fpr(clean_score, 0.05)
        assert ours["tpr_at_fpr"] == pytest.approx(np.mean(adv_score >= t))
        assert ours["recovery"] == pytest.approx(np.mean(a.scores.recovered == a.original))
        assert ours["table_2"]["clean_sign"] == pytest.approx(np.mean(ev.clean.rho > 0))
        assert ours["table_2"]["perturbed_opposite"] == pytest.approx(np.mean(a.scores.rho < 0))
        res = attack(relu_cnn, x, name, seed=3)
        adv_logits = relu_cnn.logits(torch.from_numpy(res.adversarial[res.success])).double().numpy()
        clean_logits = relu_cnn.logits(x).double().numpy()
        margin = lambda z: np.sort(z, 1)[:, -1] - np.sort(z, 1)[:, -2]  # noqa: E731
        m = claim["baseline"][name]["margin"]
        assert m["auc"] == pytest.approx(roc_auc_score(truth, np.r_[-margin(clean_logits), -margin(adv_logits)]))
        recovered = np.argsort(adv_logits, 1)[:, -2]
        assert m["runner_up_recovery"] == pytest.approx(np.mean(recovered == res.label[res.success]))


def _sphere_images(n: int, d: int, radius: float) -> torch.Tensor:
    """Half inside the ball, half outside, in random directions."""
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(n, d, generator=gen, dtype=torch.float64)
    r = torch.where(torch.arange(n)[:, None] % 2 == 0, 0.5 * radius, 1.5 * radius).double()
    return u / u.norm(dim=1, keepdim=True) * r


def test_report_json_has_four_claims_with_paper_and_baseline():
    radius = 2.0
    model = analytic.sphere_classifier(torch.zeros(6), radius)
    cfg = ReproduceConfig(pairs=3, adversarial_pairs=2, subspace_dim=2, directions=4, attacks=("deepfool",))
    seen = []
    rep = reproduce(model, _sphere_images(8, 6, radius), images="sphere", config=cfg, progress=seen.append)
    d = json.loads(json.dumps(rep.to_dict()))
    assert set(CLAIMS) <= set(d) and d["n_images"] == 8 and d["config"]["subspace_dim"] == 2
    for name in CLAIMS:
        assert {"paper", "baseline", "ours", "rule", "verdict", "why"} <= set(d[name]), name
        assert d[name]["verdict"] in VERDICTS and d[name]["rule"]
    # every principal curvature of a sphere is ±1/R: none is "flat", so the flatness claim fails here
    assert d["curvature"]["ours"]["flat_fraction_median"] == 0.0
    assert d["curvature"]["verdict"] == FAILS
    assert d["curvature"]["ours"]["max_curvature"] == pytest.approx(1 / radius, rel=1e-3)
    # a ball and its complement (in 6-D) are connected: every pair is
    assert d["paths"]["verdict"] == HOLDS
    assert d["detection"]["paper"]["table_2"]["LeNet"] == {"clean_sign": 0.97, "perturbed_opposite": 0.96}
    assert seen[-1] == 1.0


def test_linear_boundary_is_flat():
    gen = torch.Generator().manual_seed(1)
    model = analytic.linear_classifier(torch.randn(3, 5, generator=gen), torch.randn(3, generator=gen))
    x = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    rep = reproduce(model, x, claims=("curvature",), config=ReproduceConfig(subspace_dim=2))
    assert rep.claims["curvature"]["ours"]["flat_fraction_median"] == 1.0
    assert rep.claims["curvature"]["verdict"] == HOLDS
    assert rep.claims["paths"]["verdict"] == "not measured"


def _experiment(ratio_curved: float, ratio_random: float, fooled_curved: bool, fooled_random: bool):
    from geometry.vulnerability import SubspaceExperiment
    n = 4
    col = lambda v: np.full((n, 1), v)  # noqa: E731
    return SubspaceExperiment(dims=np.array([20]), dim=784, ratio_curved=col(ratio_curved),
                              ratio_random=col(ratio_random), fooled_curved=col(fooled_curved),
                              fooled_random=col(fooled_random), norm_curved=col(1.5), norm_random=col(np.nan),
                              full_norm=np.ones(n), which="abs", budget=3.0, n_hvp=0, n_forward=0, seconds=0.0)


@pytest.mark.parametrize(("args", "verdict"), [
    ((0.6, 0.16, True, False), "holds"),
    ((0.3, 0.16, True, False), "partly"),  # ratio below 2× random, but S fools and random does not
    ((0.4, 0.16, False, False), "partly"),  # ratio 2.5× random
    ((0.2, 0.16, True, True), "does not hold"),
])
def test_subspace_verdict_rule(args, verdict):
    from geometry.reproduce import _subspace_summary
    claim = _subspace_summary(_experiment(*args), 20, 5, ReproduceConfig())
    assert claim["verdict"] == verdict
    assert claim["baseline"]["sqrt_m_over_d"] == pytest.approx(np.sqrt(20 / 784))


def test_large_inputs_report_curvature_as_not_measured_with_the_reason():
    d = 5000  # above MAX_FULL_DIM: the full spectrum would need d − 1 HVPs and a dense (d − 1)² matrix per image
    gen = torch.Generator().manual_seed(0)
    model = analytic.linear_classifier(torch.randn(2, d, generator=gen), torch.zeros(2))
    rep = reproduce(model, torch.randn(3, d, generator=gen, dtype=torch.float64), claims=("curvature", "subspace"))
    for name in ("curvature", "subspace"):
        assert rep.claims[name]["verdict"] == "not measured"
        assert "d = 5000 is above 4096" in rep.claims[name]["why"]
