"""One training loop for every embedded image model, standard or adversarial (a hook), and the numbers each
model card carries (clean accuracy, accuracy under PGD-L2, median DeepFool norm).

Adversarial training (Madry et al. 2018) replaces each batch by PGD-L2 perturbations with a random start in
the ε-ball; everything happens in [0, 1] pixel space, with the normalisation inside the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Recipe:
    """How a model is trained; written into its card."""

    epochs: int
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    adv_eps: float | None = None  # L2 radius of adversarial training; None: standard training
    adv_steps: int = 5
    augment: str = "none"  # "none" or "shift2" (random translations by up to 2 pixels)

    def describe(self) -> str:
        base = (f"Adam lr {self.lr:g}, cosine schedule, {self.epochs} epochs, batch {self.batch_size}, "
                f"seed {self.seed}, augmentation {self.augment}")
        if self.adv_eps is None:
            return "standard training: " + base
        return (f"adversarial training (PGD-L2, ε = {self.adv_eps:g} in [0,1] pixel units, {self.adv_steps} steps "
                f"of 2.5ε/{self.adv_steps}, random start in the ball) on every batch: " + base)


class Normalised(nn.Module):
    def __init__(self, net: nn.Module, mean: float, std: float):
        super().__init__()
        self.net, self.mean, self.std = net, mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


def shift2(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random translations by up to 2 pixels: cheap augmentation for a 4500-image training set."""
    dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
    return torch.roll(batch, shifts=(dy, dx), dims=(2, 3))


def _l2_norm(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


def pgd_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int,
           gen: torch.Generator) -> torch.Tensor:
    """PGD on the cross-entropy in the L2 ball of radius eps around x (within [0, 1]), random start."""
    u = torch.randn(x.shape, generator=gen)
    radius = eps * torch.rand(len(x), generator=gen).pow(1 / x[0].numel()).view(-1, 1, 1, 1)
    delta = u / _l2_norm(u) * radius  # uniform in the ball
    alpha = 2.5 * eps / steps
    was_training = model.training
    model.eval()
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = functional.cross_entropy(model((x + delta).clamp(0, 1)), y)
        (g,) = torch.autograd.grad(loss, delta)
        delta = delta.detach() + alpha * g / _l2_norm(g)
        delta = delta * (eps / _l2_norm(delta)).clamp(max=1.0)
        delta = (x + delta).clamp(0, 1) - x
    model.train(was_training)
    return (x + delta).detach()


def train(make_net: Callable[[], nn.Module], x: np.ndarray, y: np.ndarray, recipe: Recipe, *, mean: float,
          std: float, log: Callable[[str], None] = print) -> tuple[nn.Module, float]:
    """Train a net (built after seeding, so its initialisation is part of the recipe) on uint8 images x
    (N×28×28) with labels y; returns the net in eval mode and the seconds taken."""
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    net = make_net()
    model = Normalised(net, mean, std)
    xt = torch.from_numpy(x).float()[:, None] / 255
    yt = torch.from_numpy(y).long()
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe.epochs)
    augment: Augment | None = shift2 if recipe.augment == "shift2" else None
    start = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        total = 0.0
        for i in range(0, len(perm), recipe.batch_size):
            idx = perm[i:i + recipe.batch_size]
            xb = augment(xt[idx], gen) if augment else xt[idx]
            if recipe.adv_eps is not None:
                xb = pgd_l2(model, xb, yt[idx], recipe.adv_eps, recipe.adv_steps, gen)
            loss = functional.cross_entropy(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        log(f"  epoch {epoch + 1}/{recipe.epochs}: loss {total / len(yt):.4f} ({time.perf_counter() - start:.0f} s)")
    return net.eval(), time.perf_counter() - start
