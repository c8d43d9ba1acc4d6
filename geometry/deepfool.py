"""DeepFool (L2, Moosavi-Dezfooli et al. 2016): the minimal perturbation r(x) that changes the label.

Batched over images and over the top-`candidates` classes (as foolbox does). After the iterations, a
bisection along r finds the boundary point z between k̂ and the adversarial class, and the unit normal
n = ∇F(z)/‖∇F(z)‖ there (docs/paper_notes.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .batching import flat_norm
from .decision import class_gradients, decision_grad
from .errors import AtlasError
from .model import Classifier


@dataclass(frozen=True)
class BoundaryPoint:
    """DeepFool's result for a batch of N inputs. Tensors stay on the model's device; see to_numpy()."""

    x: torch.Tensor  # (N, *S) the inputs
    label: torch.Tensor  # (N,) k̂(x)
    target: torch.Tensor  # (N,) class on the other side of the boundary
    adversarial: torch.Tensor  # (N, *S) x + r, with overshoot, classified as `target` when success
    boundary: torch.Tensor  # (N, *S) z on the boundary between label and target (bisection along r)
    normal: torch.Tensor  # (N, *S) unit ∇F_target(z), F = f_target - f_label: points out of label's region
    grad_norm: torch.Tensor  # (N,) ‖∇F_target(z)‖
    success: torch.Tensor  # (N,) bool: the label changed within max_iter
    iterations: torch.Tensor  # (N,) DeepFool steps taken
    n_forward: int  # forward passes over the batch (each backward counts with its forward)

    @property
    def perturbation(self) -> torch.Tensor:
        """r(x) = adversarial - x. (N, *S)"""
        return self.adversarial - self.x

    @property
    def distance(self) -> torch.Tensor:
        """‖z - x‖, the L2 distance to the boundary found. (N,)"""
        return flat_norm(self.boundary - self.x)

    def to_numpy(self) -> dict[str, np.ndarray]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "n_forward"}
        out["perturbation"], out["distance"] = self.perturbation, self.distance
        return {k: v.detach().cpu().numpy() for k, v in out.items()}


def deepfool(model: Classifier, x: torch.Tensor, *, candidates: int = 10, max_iter: int = 50,
             overshoot: float = 0.02, bisection_steps: int = 30,
             batch_size: int | None = None) -> BoundaryPoint:
    """Minimal L2 adversarial perturbations and the boundary points they reach.

    Args:
        model: the classifier. x: (N, *S) inputs within the model's bounds.
        candidates: how many top classes (including k̂) are considered as targets.
        max_iter: step cap; samples still unchanged after it have success=False.
        overshoot: r is scaled by (1 + overshoot) so the adversarial point lands past the boundary.
        bisection_steps: halvings of the segment [x, x + r] to locate the boundary point z.
        batch_size: images per chunk (default: from the model's input size).
    Returns:
        BoundaryPoint with all tensors batched over N.
    Example:
        >>> bp = deepfool(model, images[:8]); bp.distance  # (8,)
    """
    x = model.prepare(x)
    if not 2 <= min(candidates, model.num_classes):
        raise AtlasError("DeepFool needs at least two classes and candidates >= 2")
    size = batch_size or max(1, model.default_batch_size(scale=0.5) // min(candidates, model.num_classes))
    parts = [_deepfool_chunk(model, x[i:i + size], candidates, max_iter, overshoot, bisection_steps)
             for i in range(0, x.shape[0], size)]
    if len(parts) == 1:
        return parts[0]
    kw = {f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(BoundaryPoint)
          if f.name != "n_forward"}
    return BoundaryPoint(**kw, n_forward=sum(p.n_forward for p in parts))


def _deepfool_chunk(model: Classifier, x0: torch.Tensor, candidates: int, max_iter: int,
                    overshoot: float, bisection_steps: int) -> BoundaryPoint:
    k = min(candidates, model.num_classes)
    logits0 = model.logits(x0)
    top = logits0.topk(k, dim=1).indices  # (N, k); top[:, 0] is the label
    label, others = top[:, 0], top[:, 1:]
    r_tot = torch.zeros_like(x0)
    x_adv = x0.clone()
    active = torch.ones_like(label, dtype=torch.bool)
    iters = torch.zeros_like(label)
    n_forward = 1
    shape = (-1,) + (1,) * (x0.dim() - 1)
    for _ in range(max_iter):
        logits, values, grads = class_gradients(model, x_adv, others, label)  # (N,L) (N,k-1) (N,k-1,*S)
        n_forward += 1
        active &= logits.argmax(dim=1) == label
        if not active.any():
            break
        wnorm = grads.flatten(2).norm(dim=2).clamp_min(1e-12)  # (N, k-1)
        dist = values.abs() / wnorm  # distance to each linearised boundary
        j = dist.argmin(dim=1, keepdim=True)
        w = grads.gather(1, j.reshape((-1, 1) + (1,) * (x0.dim() - 1)).expand((-1, 1, *x0.shape[1:])))[:, 0]
        step = ((dist.gather(1, j)[:, 0] + 1e-4) / wnorm.gather(1, j)[:, 0]).reshape(shape) * w
        r_tot = r_tot + torch.where(active.reshape(shape), step, torch.zeros_like(step))
        x_adv = model.clip(x0 + (1 + overshoot) * r_tot)
        iters += active.long()
    success = model.predict(x_adv) != label
    n_forward += 1
    z, target, n_bisect = _bisect_boundary(model, x0, x_adv, label, success, bisection_steps)
    n_forward += n_bisect
    g = decision_grad(model, z, target, label)
    n_forward += 1
    gnorm = flat_norm(g)
    normal = g / gnorm.clamp_min(1e-30).reshape(shape)
    return BoundaryPoint(x=x0, label=label, target=target, adversarial=x_adv, boundary=z, normal=normal,
                         grad_norm=gnorm, success=success, iterations=iters, n_forward=n_forward)


def _bisect_boundary(model: Classifier, x0: torch.Tensor, x1: torch.Tensor, label: torch.Tensor,
                     success: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Boundary point on [x0, x1] (label at x0, another class at x1) and the class beyond it."""
    shape = (-1,) + (1,) * (x0.dim() - 1)
    lo = torch.zeros(x0.shape[0], device=x0.device, dtype=x0.dtype)
    hi = torch.ones_like(lo)
    d = x1 - x0
    for _ in range(steps):
        mid = (lo + hi) / 2
        same = model.predict(x0 + mid.reshape(shape) * d) == label
        lo = torch.where(same, mid, lo)
        hi = torch.where(same, hi, mid)
    target = model.predict(x0 + hi.reshape(shape) * d)
    t = torch.where(success, (lo + hi) / 2, torch.ones_like(lo))
    # A failed sample keeps its label: take the most likely other class as its nominal target.
    runner_up = model.logits(x1).topk(2, dim=1).indices[:, 1]
    target = torch.where(success, target, runner_up)
    return x0 + t.reshape(shape) * d, target, steps + 2
