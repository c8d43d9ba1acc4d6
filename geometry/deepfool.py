"""DeepFool (L2, Moosavi-Dezfooli et al. 2016): the minimal perturbation r(x) that changes the label.

Batched over images and over the top-`candidates` classes (as foolbox does). After the iterations, a
bisection along r finds the boundary point z between k̂ and the adversarial class, and the unit normal
n = ∇F(z)/‖∇F(z)‖ there (docs/paper_notes.md §1).

`deepfool_loop` is the one linearised-step iteration behind every DeepFool variant of the package: this
module's untargeted DeepFool, the subspace-restricted one (vulnerability.restricted_deepfool, through the
`project` hook), the targeted boundary point (spectrum._targeted_boundary: a fixed target, two-sided Newton
steps) and the path push (paths._push: a fixed target class, stepping from the clipped point). Its
constants below are the only step epsilons of these variants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import torch

from .batching import flat_norm
from .decision import class_gradients, decision_grad
from .errors import AtlasError
from .model import Classifier

# The step constants of every DeepFool variant (deepfool_loop and its callers).
OVERSHOOT = 0.02  # the final step goes (1 + OVERSHOOT) times the linearised one, past the boundary
STEP_EPS = 1e-4  # L2 length added to each untargeted step so that it crosses the linearised boundary
GRAD_FLOOR = 1e-12  # ‖∇F‖ below this counts as vanishing: divisions use it, the push nudges instead
TINY = 1e-30  # floor of divisors that only guard an exact zero (normalising a zero vector)
NEWTON_RTOL = 1e-5  # a targeted boundary point is reached when |F| < NEWTON_RTOL·‖∇F‖ + NEWTON_ATOL,
NEWTON_ATOL = 1e-9  # i.e. its first-order distance |F|/‖∇F‖ to {F = 0} is below NEWTON_RTOL
JITTER = 1e-3  # scale (per coordinate) of the random nudge of the push where ∇F vanishes

Gradients = Callable[[Classifier, torch.Tensor, torch.Tensor, torch.Tensor],
                     tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


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

    def to_numpy(self) -> BoundaryArrays:
        """The same result as read-only numpy arrays on the CPU (picklable, e.g. for st.cache_data)."""
        out = {f.name: getattr(self, f.name).detach().cpu().numpy() for f in fields(self) if f.name != "n_forward"}
        return BoundaryArrays(**out, perturbation=self.perturbation.detach().cpu().numpy(),
                              distance=self.distance.detach().cpu().numpy(), n_forward=self.n_forward)


@dataclass(frozen=True)
class BoundaryArrays:
    """BoundaryPoint as numpy (see BoundaryPoint for the fields), plus r(x) and ‖z − x‖. The arrays are
    read-only: a cached result is shared by every caller, so none may change it in place."""

    x: np.ndarray
    label: np.ndarray
    target: np.ndarray
    adversarial: np.ndarray
    boundary: np.ndarray
    normal: np.ndarray
    grad_norm: np.ndarray
    success: np.ndarray
    iterations: np.ndarray
    perturbation: np.ndarray
    distance: np.ndarray
    n_forward: int

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __setstate__(self, state: dict) -> None:
        """Unpickling (a cache hit) skips __init__: lock the arrays again."""
        self.__dict__.update(state)
        self.__post_init__()

    def to_tensors(self, device: torch.device | str = "cpu") -> BoundaryPoint:
        """Back to a BoundaryPoint on `device` (copies, so the tensors are writable)."""
        names = [f.name for f in fields(BoundaryPoint) if f.name != "n_forward"]
        return BoundaryPoint(**{k: torch.tensor(getattr(self, k), device=device) for k in names},
                             n_forward=self.n_forward)


def deepfool(model: Classifier, x: torch.Tensor, *, candidates: int = 10, max_iter: int = 50,
             overshoot: float = OVERSHOOT, bisection_steps: int = 30,
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
    top = model.logits(x0).topk(k, dim=1).indices  # (N, k); top[:, 0] is the label
    label, others = top[:, 0], top[:, 1:]
    run = deepfool_loop(model, x0, label, others, DeepFoolHooks(overshoot=overshoot), max_iter=max_iter)
    x_adv = run.point
    success = model.predict(x_adv) != label
    n_forward = 1 + run.evaluations + 1
    z, target, n_bisect = _bisect_boundary(model, x0, x_adv, label, success, bisection_steps)
    n_forward += n_bisect
    g = decision_grad(model, z, target, label)
    n_forward += 1
    gnorm = flat_norm(g)
    normal = g / gnorm.clamp_min(TINY).reshape((-1,) + (1,) * (x0.dim() - 1))
    return BoundaryPoint(x=x0, label=label, target=target, adversarial=x_adv, boundary=z, normal=normal,
                         grad_norm=gnorm, success=success, iterations=run.iterations, n_forward=n_forward)


# --- the loop shared by every variant ------------------------------------------------------------------

@dataclass(frozen=True)
class DeepFoolHooks:
    """What distinguishes the DeepFool variants; the defaults are plain untargeted DeepFool.

    Each step moves onto the nearest linearised level set {F_c = level} over the compared classes c, F_c =
    f_c − f_ref, plus `offset` (L2) beyond it. Which classes, which reference and when a sample is done are
    deepfool_loop's arguments and the `done`/`retarget` hooks.
    """

    done: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    # (logits (N, L), F (N, K), ‖∇F‖ (N, K)) -> (N,) finished; None: the label left the reference class
    retarget: Callable[[torch.Tensor], torch.Tensor] | None = None  # logits -> the next reference class (N,)
    project: Callable[[torch.Tensor], torch.Tensor] | None = None  # ∇F (N, K, d) -> its part in a subspace
    gradients: Gradients = class_gradients  # (model, x, classes, ref) -> logits, F, ∇F (N, K, *S)
    level: float = 0.0  # target value of F: a logit margin past the boundary (the push), else 0
    offset: float = STEP_EPS  # L2 length added to each step
    two_sided: bool = False  # step toward the level set from either side (Newton), else never away from it
    overshoot: float = OVERSHOOT
    clip: bool = True  # keep the points within the model's bounds
    from_point: bool = False  # step from the current (clipped) point; else x0 + (1 + overshoot) Σ steps
    max_step: torch.Tensor | None = None  # (N,) cap on each step's length
    jitter: torch.Generator | None = None  # where ∇F vanishes, step JITTER·randn instead (else no step)


@dataclass(frozen=True)
class LoopState:
    """deepfool_loop's result: the last point, the accumulated step, and who is still not done."""

    point: torch.Tensor  # (N, *S) the last point
    r: torch.Tensor  # (N, d) Σ of the steps taken, before overshoot (steps' dtype, e.g. float64 projected)
    active: torch.Tensor  # (N,) bool: not done at the last evaluation
    iterations: torch.Tensor  # (N,) steps taken
    values: torch.Tensor  # (N, K) F at the last evaluation
    evaluations: int  # forward-backward passes over the batch


def deepfool_loop(model: Classifier, x0: torch.Tensor, reference: torch.Tensor, classes: torch.Tensor,
                  hooks: DeepFoolHooks = DeepFoolHooks(), *, max_iter: int = 50) -> LoopState:
    """Linearised DeepFool steps from x0 until each sample is done, batched; at most `max_iter` evaluations.

    Args:
        x0: (N, *S) start points on the model's device. reference: (N,) the class f_ref of F_c = f_c − f_ref
            (k̂ for DeepFool). classes: (N, K) the classes c compared (K = 1: a fixed target).
        hooks: the variant (DeepFoolHooks).
    Returns:
        LoopState. Example: `deepfool_loop(model, x, label, others).point` is DeepFool's x + (1.02) r.
    """
    shape = x0.shape
    point, r = x0.clone(), torch.zeros_like(x0).flatten(1)
    active = torch.ones(len(x0), dtype=torch.bool, device=x0.device)
    iters = torch.zeros(len(x0), dtype=torch.long, device=x0.device)
    values, evaluations = torch.full(classes.shape, torch.nan, device=x0.device), 0
    for _ in range(max_iter):
        logits, values, grads = hooks.gradients(model, point, classes, reference)
        evaluations += 1
        g = grads.flatten(2) if hooks.project is None else hooks.project(grads.flatten(2))  # (N, K, d)
        gnorm = g.norm(dim=2)
        done = logits.argmax(dim=1) != reference if hooks.done is None else hooks.done(logits, values, gnorm)
        active &= ~done
        if hooks.retarget is not None:
            reference = hooks.retarget(logits)
        if not active.any():
            break
        step = _linear_step(values, g, gnorm, hooks)
        step = torch.where(active[:, None], step, torch.zeros_like(step))
        r = r + step
        if hooks.from_point:  # projected steps: r past the bounds would stall a push along the bounds
            point = point + ((1 + hooks.overshoot) * step).reshape(shape)
        else:
            point = x0 + ((1 + hooks.overshoot) * r).to(x0.dtype).reshape(shape)
        point = model.clip(point) if hooks.clip else point
        iters += active.long()
    return LoopState(point=point, r=r, active=active, iterations=iters, values=values,
                     evaluations=evaluations)


def _linear_step(values: torch.Tensor, g: torch.Tensor, gnorm: torch.Tensor, hooks: DeepFoolHooks
                 ) -> torch.Tensor:
    """The step onto the nearest linearised level set {F_c = level}, `offset` beyond it, capped. (N, d)"""
    gn = gnorm.clamp_min(GRAD_FLOOR)
    dist = (hooks.level - values) / gn  # signed L2 distance to each linearised level set (N, K)
    if not hooks.two_sided:
        dist = dist.clamp_min(0)
    j = dist.abs().argmin(dim=1)
    rows = torch.arange(len(g), device=g.device)
    step = ((dist[rows, j] + hooks.offset) / gn[rows, j])[:, None] * g[rows, j]
    if hooks.jitter is not None:  # a vanishing gradient (a symmetric point): nudge and retry
        nudge = JITTER * torch.randn(step.shape, generator=hooks.jitter, device=g.device, dtype=step.dtype)
        step = torch.where((gnorm[rows, j] > GRAD_FLOOR)[:, None], step, nudge)
    if hooks.max_step is not None:
        step = step * (hooks.max_step / step.norm(dim=1).clamp_min(TINY)).clamp(max=1.0)[:, None]
    return step


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
