"""Principal curvatures of the decision boundary near an image (docs/paper_notes.md §5, "Curvature profile").

At the boundary point z = x + r(x) found by DeepFool (or at x itself), with F = f_k − f_k̂ for the adversarial
class k, the curvature operator is G_F = ‖∇F‖⁻¹ (I − n nᵀ) ∇²F (I − n nᵀ), n = ∇F/‖∇F‖. Its eigenvalues on
the (d−1)-dim tangent space are the principal curvatures (the normal's trivial zero is excluded).

Sign convention (checked on analytic.sphere_classifier, label 'inside', F = ‖x‖² − R², every curvature +1/R):
a positive curvature means the boundary curves around x's region, like a ball around it; a negative one
means it curves away from x's region (x's region is locally concave along that direction).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .batching import make_generator
from .decision import DEFAULT_FD_STEP, HvpMethod, class_gradients, decision_grad, hvp, resolve_hvp_method
from .deepfool import NEWTON_ATOL, NEWTON_RTOL, BoundaryPoint, DeepFoolHooks, deepfool, deepfool_loop
from .errors import AtlasError
from .lanczos import lanczos, slq_density
from .model import Classifier

Solver = Literal["auto", "full", "lanczos"]
MAX_FULL_DIM = 4096  # above this the dense (d−1)² matrix and its d HVPs are too costly: use Lanczos


@dataclass(frozen=True)
class CurvatureSpectrum:
    """Principal curvatures at one point, as CPU numpy. Eigenpairs sorted by descending curvature."""

    eigenvalues: np.ndarray  # (r,) all d−1 (full solver) or the k largest + k smallest (Lanczos)
    eigenvectors: np.ndarray  # (r, *S) unit tangent directions, row i belongs to eigenvalues[i]
    residuals: np.ndarray  # (r,) ‖G v − λ v‖ against the (unsymmetrised) operator
    x: np.ndarray  # (*S) the image
    point: np.ndarray  # (*S) where the curvature was measured (z on the boundary, or x)
    normal: np.ndarray  # (*S) unit ∇F at `point`, pointing out of the label's region
    perturbation: np.ndarray | None  # (*S) DeepFool's r(x) (None when DeepFool was not run)
    grad_norm: float  # ‖∇F(point)‖
    label: int  # k̂(x)
    target: int  # k, F = f_k − f_k̂
    at: str  # "boundary" or "input"
    solver: str  # "full" or "lanczos"
    method: str  # "exact" or "fd"
    h: float | None  # finite-difference step (None for exact HVPs)
    n_hvp: int  # Hessian-vector products used (one vector each)
    seconds: float
    converged: bool
    asymmetry: float  # ‖M − Mᵀ‖/‖M‖ of the dense matrix (FD HVPs are not symmetric); 0 for Lanczos

    @property
    def dim(self) -> int:
        return int(self.x.size)

    def positive_directions(self, m: int = 1) -> np.ndarray:
        """The m most positively curved directions, most curved first. (m, *S)"""
        return self.eigenvectors[: min(m, len(self.eigenvalues))]

    def negative_directions(self, m: int = 1) -> np.ndarray:
        """The m most negatively curved directions, most curved first. (m, *S)"""
        return self.eigenvectors[::-1][: min(m, len(self.eigenvalues))]

    @property
    def max_curvature(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def min_curvature(self) -> float:
        return float(self.eigenvalues[-1])


@dataclass(frozen=True)
class CurvatureOperator:
    """v ↦ G_F v on flattened float64 vectors (M, d), with its HVP counter. Tensors on the model's device."""

    apply: Callable[[torch.Tensor], torch.Tensor]
    normal: torch.Tensor  # (d,) float64
    grad_norm: float
    method: str
    counter: list[int]  # [HVPs so far]; a list so the frozen operator can count


def curvature_operator(model: Classifier, point: torch.Tensor, target: int, label: int, *,
                       method: HvpMethod = "auto", h: float = DEFAULT_FD_STEP,
                       batch_size: int | None = None) -> CurvatureOperator:
    """The projected, scaled Hessian G_F = P ∇²F P / ‖∇F‖ at one point (shape S), as a batched operator.

    Raises AtlasError when ∇F vanishes (no boundary normal) or target == label.
    """
    if target == label:
        raise AtlasError(f"target class {target} equals the label: F = f_k − f_k̂ needs two different classes")
    p = model.prepare(point.reshape((1, *model.input_shape)))
    kt = torch.tensor([target], device=model.device)
    kh = torch.tensor([label], device=model.device)
    method = resolve_hvp_method(model, p, kt, kh, method)
    g = decision_grad(model, p, kt, kh)[0].flatten().to(torch.float64)
    gnorm = float(g.norm())
    if not gnorm > 0 or not math.isfinite(gnorm):
        raise AtlasError(f"‖∇F‖ = {gnorm:g} at this point: the boundary has no normal here "
                         "(try another target)")
    n = g / gnorm
    counter = [0]

    def apply(v: torch.Tensor) -> torch.Tensor:  # (M, d) -> (M, d)
        v = v.to(model.device, torch.float64)
        pv = v - (v @ n)[:, None] * n
        vv = pv.to(model.dtype).reshape((1, v.shape[0], *model.input_shape))
        hv = hvp(model, p, kt, kh, vv, method=method, h=h, batch_size=batch_size)[0].flatten(1).double()
        counter[0] += v.shape[0]
        return (hv - (hv @ n)[:, None] * n) / gnorm

    return CurvatureOperator(apply=apply, normal=n, grad_norm=gnorm, method=method, counter=counter)


def tangent_basis(normal: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of the complement of a unit vector, from a Householder reflection. (d−1, d)"""
    d = normal.numel()
    e1 = torch.zeros_like(normal)
    e1[0] = 1.0
    u = normal + (1.0 if float(normal[0]) >= 0 else -1.0) * e1
    house = torch.eye(d, dtype=normal.dtype, device=normal.device) - 2 * torch.outer(u, u) / (u @ u)
    return house[1:]  # rows 1.. of the reflection that maps the normal to ∓e1: all orthogonal to it


def _full_solve(op: CurvatureOperator, batch_size: int, progress: Callable[[float], None] | None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Dense tangent-space matrix from d−1 HVPs, symmetrised, then eigh in float64 (descending)."""
    basis = tangent_basis(op.normal)  # (d−1, d)
    cols = []
    for i in range(0, basis.shape[0], batch_size):
        cols.append(op.apply(basis[i : i + batch_size]) @ basis.T)  # rows of (G Q)ᵀ Q
        if progress is not None:
            progress(min(1.0, (i + batch_size) / basis.shape[0]))
    mat = torch.cat(cols).T  # M_ij = q_iᵀ G q_j
    asym = float((mat - mat.T).norm() / mat.norm().clamp_min(1e-300))
    theta, w = torch.linalg.eigh((mat + mat.T) / 2)  # FD HVPs are slightly non-symmetric
    theta, w = theta.flip(0), w.flip(1)
    residuals = (mat @ w - w * theta).norm(dim=0)
    return theta, (basis.T @ w).T, residuals, asym


def _lanczos_solve(op: CurvatureOperator, dim: int, k: int, tol: float, max_steps: int | None, seed: int,
                   device: torch.device, progress: Callable[[float], None] | None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
    res = lanczos(op.apply, dim, k=k, tol=tol, max_steps=max_steps, constraint=op.normal[None],
                  generator=make_generator(seed), device=device, progress=progress)
    vecs = res.eigenvectors
    true_res = (op.apply(vecs) - vecs * res.eigenvalues[:, None]).norm(dim=1)  # one batched call
    # The Ritz estimates assume a linear symmetric operator; FD HVPs of ReLU nets are neither (the step is
    # normalised per vector), so convergence is judged on the true residuals too.
    scale = float(res.eigenvalues.abs().max()) or 1.0
    return res.eigenvalues, vecs, true_res, res.converged and float(true_res.max()) <= 10 * tol * scale


def curvature_spectrum(model: Classifier, x: torch.Tensor, *, target: int | None = None,
                       at: Literal["boundary", "input"] = "boundary", method: HvpMethod = "auto",
                       h: float = DEFAULT_FD_STEP, solver: Solver = "auto", k: int = 10, tol: float = 1e-3,
                       max_steps: int | None = None, batch_size: int | None = None, seed: int = 0,
                       boundary: BoundaryPoint | None = None, deepfool_iters: int = 50,
                       progress: Callable[[float], None] | None = None) -> CurvatureSpectrum:
    """Principal curvatures of the boundary between x's label and `target`, at z = x + r(x) or at x.

    Args:
        model: the classifier. x: one image, shape S or (1, *S).
        target: the class k of F = f_k − f_k̂ (default: DeepFool's adversarial class).
        at: "boundary" (z from DeepFool, default) or "input" (x itself).
        method: "exact", "fd" (finite differences at step h, for ReLU nets) or "auto" (by smoothness).
        h: FD step in L2 pixel units (default DEFAULT_FD_STEP = 0.05). Ignored for exact HVPs.
        solver: "full" (all d−1 curvatures, d−1 HVPs), "lanczos" (k largest + k smallest) or "auto"
            (full when d ≤ MAX_FULL_DIM). k, tol, max_steps: Lanczos settings (relative tolerance 1e-3).
        batch_size: HVP vectors per call (default from the model). seed: Lanczos start vector.
        boundary: DeepFool's result for x (a batch of one), e.g. the app's cached one; else DeepFool runs
            here with at most `deepfool_iters` steps (raise it for inputs deep in a saturated region).
        progress: callback receiving the fraction done.
    Returns:
        CurvatureSpectrum (eigenpairs sorted by descending curvature, residuals, HVP count, seconds).
    Example:
        >>> s = curvature_spectrum(model, images[0]); s.positive_directions(1)  # (1, 1, 28, 28)
    """
    start = time.perf_counter()
    x1 = _single(model, x)
    bp = _boundary_point(model, x1, boundary, deepfool_iters)
    point, label, target, r, where = _locate(model, x1, target, at, bp)
    op = curvature_operator(model, point, target, label, method=method, h=h, batch_size=batch_size)
    d = model.dim
    use_full = solver == "full" or (solver == "auto" and d <= MAX_FULL_DIM)
    if solver not in ("auto", "full", "lanczos"):
        raise AtlasError(f"solver must be 'auto', 'full' or 'lanczos', got {solver!r}")
    if use_full and d > 4 * MAX_FULL_DIM:
        raise AtlasError(f"the full solver needs a dense {d - 1}² matrix: use solver='lanczos' for d = {d}")
    bs = batch_size or max(1, min(256, model.default_batch_size(scale=0.25)))
    if use_full:
        theta, vecs, res, asym = _full_solve(op, bs, progress)
        converged = True
    else:
        theta, vecs, res, converged = _lanczos_solve(op, d, k, tol, max_steps, seed, model.device, progress)
        asym = 0.0
    return CurvatureSpectrum(
        eigenvalues=theta.cpu().numpy(),
        eigenvectors=vecs.float().reshape((-1, *model.input_shape)).cpu().numpy(),
        residuals=res.cpu().numpy(), x=x1[0].cpu().numpy(), point=point.cpu().numpy(),
        normal=op.normal.float().reshape(model.input_shape).cpu().numpy(),
        perturbation=None if r is None else r.cpu().numpy(), grad_norm=op.grad_norm, label=label,
        target=target, at=where, solver="full" if use_full else "lanczos", method=op.method,
        h=h if op.method == "fd" else None, n_hvp=op.counter[0], seconds=time.perf_counter() - start,
        converged=converged, asymmetry=asym)


def curvature_spectra(model: Classifier, x: torch.Tensor, **kwargs: object) -> tuple[CurvatureSpectrum, ...]:
    """curvature_spectrum for each of N images (N, *S); keyword arguments as there (progress is per image)."""
    x = model.prepare(x)
    return tuple(curvature_spectrum(model, xi, **kwargs) for xi in x)  # type: ignore[arg-type]


def _single(model: Classifier, x: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x)
    if tuple(x.shape) == tuple(model.input_shape):
        x = x[None]
    if x.shape[0] != 1:
        raise AtlasError(f"curvature_spectrum takes one image of shape {model.input_shape} or "
                         f"(1, *S); got {tuple(x.shape)} (use curvature_spectra for several)")
    return model.prepare(x)


def _boundary_point(model: Classifier, x1: torch.Tensor, boundary: BoundaryPoint | None, iters: int
                    ) -> Callable[[], BoundaryPoint]:
    """DeepFool's result for x1, run lazily (at='input' with a target needs none); a given one is checked."""
    if boundary is None:
        if int(iters) < 1:
            raise AtlasError(f"deepfool_iters must be a positive number of steps, got {iters}")
        return lambda: deepfool(model, x1, max_iter=int(iters))
    bx = torch.as_tensor(boundary.x)
    if bx.shape != x1.shape or not torch.allclose(bx.to(x1.device, x1.dtype), x1, atol=1e-5):
        raise AtlasError("the given DeepFool result (boundary=) belongs to another input: pass DeepFool's "
                         "result for this very image, as a batch of one")
    return lambda: boundary


def _locate(model: Classifier, x1: torch.Tensor, target: int | None, at: str,
            boundary: Callable[[], BoundaryPoint]) -> tuple[torch.Tensor, int, int, torch.Tensor | None, str]:
    """(point, label, target, DeepFool r or None, at) for one image."""
    if at not in ("boundary", "input"):
        raise AtlasError(f"at must be 'boundary' or 'input', got {at!r}")
    if at == "input" and target is not None:
        label = int(model.predict(x1)[0])
        return x1[0], label, _check_target(model, target, label), None, at
    bp = boundary()
    label = int(bp.label[0])
    r = bp.perturbation[0].to(x1.device, x1.dtype)
    if at == "input":
        return x1[0], label, int(bp.target[0]), r, at
    if target is None or target == int(bp.target[0]):
        if not bool(bp.success[0]):
            raise AtlasError(f"DeepFool found no boundary from this input within {int(bp.iterations[0])} "
                             "steps (the logits may be flat here): measure at the input itself "
                             "(at='input'), allow DeepFool more steps, or pick another input")
        return bp.boundary[0].to(x1.device, x1.dtype), label, int(bp.target[0]), r, at
    target = _check_target(model, target, label)
    return _targeted_boundary(model, x1, label, target), label, target, r, at


def _check_target(model: Classifier, target: int, label: int) -> int:
    if not 0 <= int(target) < model.num_classes or int(target) == label:
        raise AtlasError(f"target must be a class in 0..{model.num_classes - 1} other than the label "
                         f"{label}, got {target}")
    return int(target)


def _targeted_boundary(model: Classifier, x1: torch.Tensor, label: int, target: int, iters: int = 50
                       ) -> torch.Tensor:
    """A point of {F_target = 0} near x by Newton steps along ∇F (a targeted DeepFool without clipping).

    One forward and one backward pass per step. Raises AtlasError when F is not ≈ 0 after `iters` steps.
    """
    classes = torch.tensor([[target]], device=model.device)
    kh = torch.tensor([label], device=model.device)
    # |F|/‖∇F‖ is the distance to the boundary, to first order: stop when it is below NEWTON_RTOL.
    hooks = DeepFoolHooks(done=_on_boundary, two_sided=True, offset=0.0, overshoot=0.0, clip=False,
                          gradients=class_gradients)  # looked up here at call time (tests count its calls)
    run = deepfool_loop(model, x1, kh, classes, hooks, max_iter=iters + 1)  # the last evaluation checks
    if not run.active[0]:
        return run.point[0].detach()
    names = model.class_names
    raise AtlasError(f"no point of the boundary between {names[label]} and {names[target]} was found within "
                     f"{iters} Newton steps from this input (F = f_target − f_label is still "
                     f"{float(run.values[0, 0]):.3g}): this class may not border x's region nearby; pick "
                     "DeepFool's target (target=None) or measure at the input itself (at='input')")


def _on_boundary(logits: torch.Tensor, values: torch.Tensor, gnorm: torch.Tensor) -> torch.Tensor:
    return (values.abs() < NEWTON_RTOL * gnorm + NEWTON_ATOL).all(dim=1)


def spectral_density(model: Classifier, x: torch.Tensor, *, target: int | None = None,
                     at: Literal["boundary", "input"] = "boundary", method: HvpMethod = "auto",
                     h: float = DEFAULT_FD_STEP, n_probes: int = 8, steps: int = 40, seed: int = 0,
                     batch_size: int | None = None, progress: Callable[[float], None] | None = None
                     ) -> dict[str, np.ndarray | float | int]:
    """SLQ estimate of the density of principal curvatures (nodes, weights), for any input dimension."""
    x1 = _single(model, x)
    point, label, target, _, _ = _locate(model, x1, target, at, _boundary_point(model, x1, None, 50))
    op = curvature_operator(model, point, target, label, method=method, h=h, batch_size=batch_size)
    dens = slq_density(op.apply, model.dim, n_probes=n_probes, steps=steps, constraint=op.normal[None],
                       generator=make_generator(seed), device=model.device, progress=progress)
    return {"nodes": dens.nodes.cpu().numpy(), "weights": dens.weights.cpu().numpy(),
            "n_hvp": op.counter[0], "seconds": dens.seconds, "target": target, "label": label}
