"""Small adversarial perturbations to evaluate the detector against (docs/paper_notes.md §7): FGSM and PGD (L2, L∞),
batched, plus DeepFool from the core behind the same `attack()` entry point.

PGD stops each sample as soon as its label changes (`early_stop=True`, the default), so the perturbed image
sits just across the boundary, as in the paper's setting; FGSM is a single signed-gradient step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import torch
from torch.nn import functional

from .batching import chunked, flat_norm, make_generator
from .deepfool import deepfool
from .errors import AtlasError
from .model import Classifier, check_finite

ATTACKS = ("deepfool", "fgsm", "pgd-l2", "pgd-linf")
# Defaults for [0,1] MNIST-sized inputs: small budgets, so only images near a boundary flip (paper's setting).
DEFAULT_PARAMS: dict[str, dict[str, float | int]] = {
    "deepfool": {"overshoot": 0.02, "max_iter": 50},
    "fgsm": {"eps": 0.1},
    "pgd-l2": {"eps": 2.0, "steps": 20},
    "pgd-linf": {"eps": 0.1, "steps": 20},
}


@dataclass(frozen=True)
class AttackResult:
    """Perturbed versions of N inputs (CPU numpy) and what the attack achieved."""

    attack: str
    params: dict
    x: np.ndarray  # (N, *S) clean inputs
    adversarial: np.ndarray  # (N, *S) perturbed inputs, within the model's bounds
    label: np.ndarray  # (N,) k̂(x) on the clean inputs
    adv_label: np.ndarray  # (N,) k̂ of the perturbed inputs
    n_forward: int
    seconds: float

    @property
    def success(self) -> np.ndarray:
        """(N,) bool: the label changed."""
        return self.adv_label != self.label

    @property
    def success_rate(self) -> float:
        return float(self.success.mean()) if len(self.label) else 0.0

    @property
    def l2(self) -> np.ndarray:
        """(N,) ‖x_adv − x‖₂."""
        return np.linalg.norm((self.adversarial - self.x).reshape(len(self.x), -1), axis=1)

    @property
    def linf(self) -> np.ndarray:
        """(N,) ‖x_adv − x‖∞."""
        return np.abs(self.adversarial - self.x).reshape(len(self.x), -1).max(axis=1)


def _loss_grad_chunk(model: Classifier, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        loss = functional.cross_entropy(model(xg), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, xg)
    return g


def loss_gradient(model: Classifier, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None
                  ) -> torch.Tensor:
    """∇ₓ of the cross-entropy of label y at each x, chunked. (N, *S)"""
    g = chunked(lambda a, b: _loss_grad_chunk(model, a, b), x, y.to(model.device),
                batch_size=batch_size or model.default_batch_size(scale=0.5))
    check_finite(g, f"{model.name} loss gradients")
    return g


def _bcast(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.reshape((-1,) + (1,) * (like.dim() - 1))


def fgsm(model: Classifier, x: torch.Tensor, *, eps: float = 0.1, batch_size: int | None = None
         ) -> AttackResult:
    """Fast gradient sign method: x + eps·sign(∇ₓ CE(x, k̂(x))), clipped to the bounds.

    Args:
        model: the classifier. x: (N, *S) inputs. eps: L∞ step (pixel units; default 0.1 for [0,1]).
    Returns:
        AttackResult (success = label changed).
    """
    _check_eps(eps)
    start = time.perf_counter()
    x = model.prepare(x)
    label = model.predict(x, batch_size=batch_size)
    adv = model.clip(x + eps * loss_gradient(model, x, label, batch_size=batch_size).sign())
    return _result(model, "fgsm", {"eps": eps}, x, adv, label, 3, start)


def pgd(model: Classifier, x: torch.Tensor, *, eps: float, norm: Literal["l2", "linf"] = "linf",
        steps: int = 20, step_size: float | None = None, random_start: bool = False,
        early_stop: bool = True, seed: int | None = 0, batch_size: int | None = None) -> AttackResult:
    """Projected gradient ascent on the cross-entropy of k̂(x) within an L2 or L∞ ball of radius eps.

    Args:
        eps: radius of the ball. norm: "l2" or "linf". steps: iterations. step_size: default 2.5·eps/steps.
        random_start: start at a random point of the ball (drawn from `seed`).
        early_stop: freeze each sample once its label has changed (smallest successful iterate).
    Returns:
        AttackResult. Batched: finished samples are masked with torch.where, never looped over.
    """
    _check_eps(eps)
    if norm not in ("l2", "linf"):
        raise AtlasError(f"PGD norm must be 'l2' or 'linf', got {norm!r}")
    if steps < 1:
        raise AtlasError(f"PGD needs steps >= 1, got {steps}")
    start = time.perf_counter()
    x = model.prepare(x)
    alpha = step_size if step_size is not None else 2.5 * eps / steps
    label = model.predict(x, batch_size=batch_size)
    adv = x + (_random_start(x, eps, norm, seed) if random_start else 0)
    adv = model.clip(x + _project(adv - x, eps, norm))
    active = torch.ones_like(label, dtype=torch.bool)
    for _ in range(steps):
        if early_stop:
            active &= model.predict(adv, batch_size=batch_size) == label
            if not active.any():
                break
        g = loss_gradient(model, adv, label, batch_size=batch_size)
        step = g.sign() if norm == "linf" else g / _bcast(flat_norm(g).clamp_min(1e-12), g)
        new = model.clip(x + _project(adv + alpha * step - x, eps, norm))
        adv = torch.where(_bcast(active, adv), new, adv)
    params = {"eps": eps, "norm": norm, "steps": steps, "step_size": alpha, "random_start": random_start,
              "early_stop": early_stop}
    return _result(model, f"pgd-{norm}", params, x, adv, label, 2 + 2 * steps, start)


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    scale = (eps / flat_norm(delta).clamp_min(1e-12)).clamp(max=1.0)
    return delta * _bcast(scale, delta)


def _random_start(x: torch.Tensor, eps: float, norm: str, seed: int | None) -> torch.Tensor:
    """A uniformly random point of the eps-ball around 0 per sample: the cube for L∞; for L2 a uniform
    direction (a normalised Gaussian) at radius eps·U^(1/d), the radius law of a uniform point of a d-ball."""
    gen = make_generator(seed, "cpu")
    if norm == "linf":
        return eps * (torch.rand(x.shape, generator=gen, dtype=x.dtype).to(x.device) * 2 - 1)
    u = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    radius = eps * torch.rand(len(x), generator=gen, dtype=x.dtype) ** (1 / x[0].numel())
    return (u / _bcast(flat_norm(u).clamp_min(1e-12) / radius, u)).to(x.device)


def _check_eps(eps: float) -> None:
    if not eps > 0:
        raise AtlasError(f"the attack budget eps must be positive, got {eps}")


def _result(model: Classifier, name: str, params: dict, x: torch.Tensor, adv: torch.Tensor,
            label: torch.Tensor, n_forward: int, start: float) -> AttackResult:
    adv_label = model.predict(adv)
    return AttackResult(attack=name, params=params, x=x.cpu().numpy(), adversarial=adv.detach().cpu().numpy(),
                        label=label.cpu().numpy(), adv_label=adv_label.cpu().numpy(),
                        n_forward=n_forward + 1, seconds=time.perf_counter() - start)


def attack(model: Classifier, x: torch.Tensor, name: str, *, seed: int | None = 0,
           batch_size: int | None = None, **params) -> AttackResult:
    """Run one of ATTACKS by name with DEFAULT_PARAMS overridden by `params`.

    Example:
        >>> res = attack(model, images[:16], "pgd-l2", eps=1.0); res.success_rate
    """
    if name not in ATTACKS:
        raise AtlasError(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}")
    kw = {**DEFAULT_PARAMS[name], **params}
    if name == "fgsm":
        return fgsm(model, x, batch_size=batch_size, **kw)
    if name.startswith("pgd"):
        norm = cast(Literal["l2", "linf"], name[4:])  # ATTACKS names them pgd-l2 and pgd-linf
        return pgd(model, x, norm=norm, seed=seed, batch_size=batch_size, **kw)
    start = time.perf_counter()
    bp = deepfool(model, x, batch_size=batch_size, **kw)
    return _result(model, "deepfool", kw, bp.x, bp.adversarial, bp.label, bp.n_forward, start)

