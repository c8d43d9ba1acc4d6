"""Lanczos eigen-solver with full reorthogonalisation, and stochastic Lanczos quadrature (SLQ).

Used for the principal curvatures in high dimension (docs/paper_notes.md §5: large-dimension spectra come from
Hessian-vector products and an iterative eigensolver). Solvers see only `matvec(V (M, d)) -> (M, d)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

Matvec = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class LanczosResult:
    """Extreme eigenpairs of a symmetric operator. Tensors in float64 on the operator's device."""

    eigenvalues: torch.Tensor  # (r,) sorted descending: the k largest then the k smallest
    eigenvectors: torch.Tensor  # (r, d) unit Ritz vectors
    ritz_residuals: torch.Tensor  # (r,) Lanczos estimates |β_m s_mi| of ‖Av − λv‖
    n_matvec: int  # operator applications (one vector each)
    steps: int  # Krylov dimension reached
    converged: bool
    seconds: float


@dataclass(frozen=True)
class SpectralDensity:
    """SLQ quadrature of the spectral density: Σ_i weights_i δ(λ − nodes_i), weights summing to 1."""

    nodes: torch.Tensor  # (P * steps,) Ritz values of every probe
    weights: torch.Tensor  # (P * steps,) squared first components, divided by the number of probes
    n_matvec: int
    seconds: float


def _orthogonalise(w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Remove the components of w (B, d) along basis (B, j, d), twice (Kahan: "twice is enough")."""
    for _ in range(2):
        w = w - torch.einsum("bj,bjd->bd", torch.einsum("bjd,bd->bj", basis, w), basis)
    return w


def _wanted(theta: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest and k smallest Ritz values (no repeats), ordered by descending value."""
    m = theta.numel()
    idx = list(range(m - 1, max(m - 1 - k, -1), -1)) + list(range(min(k, m)))
    keep = sorted(set(idx), key=lambda i: -float(theta[i]))
    return torch.tensor(keep, dtype=torch.long, device=theta.device)


def _tridiag(alpha: list[torch.Tensor], beta: list[torch.Tensor]) -> torch.Tensor:
    t = torch.diag(torch.stack(alpha))
    if len(beta):
        b = torch.stack(beta)
        t = t + torch.diag(b, 1) + torch.diag(b, -1)
    return t


def _start_vector(dim: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    v = torch.randn(dim, generator=generator, device=generator.device, dtype=torch.float64)
    return v.to(device)


def lanczos(matvec: Matvec, dim: int, *, k: int = 10, tol: float = 1e-3, max_steps: int | None = None,
            constraint: torch.Tensor | None = None, generator: torch.Generator | None = None,
            device: torch.device | str = "cpu", check_every: int = 4,
            progress: Callable[[float], None] | None = None) -> LanczosResult:
    """The k largest and k smallest eigenpairs of a symmetric operator (Lanczos, full reorthogonalisation).

    Args:
        matvec: V (M, dim) float64 -> A V (M, dim). Called with one vector per Lanczos step.
        dim: operator dimension. k: eigenpairs wanted at each end (default 10).
        tol: stop when every wanted Ritz residual is below tol · max|θ| (relative, default 1e-3).
        max_steps: Krylov dimension cap (default min(dim, max(20 k, 100))).
        constraint: (c, dim) orthonormal vectors the Krylov space must stay orthogonal to (the normal, whose
            trivial zero eigenvalue of the projected curvature operator is excluded).
        generator: source of the random start vector. check_every: steps between convergence checks.
    Returns:
        LanczosResult with up to 2k eigenpairs sorted by descending eigenvalue.
    """
    start = time.perf_counter()
    gen = generator or torch.Generator().manual_seed(0)
    c = 0 if constraint is None else constraint.shape[0]
    steps_cap = min(dim - c, max_steps or max(20 * k, 100))
    basis = torch.zeros((steps_cap + 1, dim), dtype=torch.float64, device=device)
    fixed = None if constraint is None else constraint.to(device, torch.float64)[None]
    q = _start_vector(dim, gen, torch.device(device))
    q = q if fixed is None else _orthogonalise(q[None], fixed)[0]
    basis[0] = q / q.norm()
    alpha: list[torch.Tensor] = []
    beta: list[torch.Tensor] = []
    theta = s = None
    converged = False
    for j in range(steps_cap):
        w = matvec(basis[j : j + 1])[0].to(torch.float64)
        alpha.append(basis[j] @ w)
        against = basis[: j + 1] if fixed is None else torch.cat([fixed[0], basis[: j + 1]])
        w = _orthogonalise(w[None], against[None])[0]  # full reorthogonalisation (subsumes the 3-term step)
        b = w.norm()
        last = j + 1 == steps_cap
        tiny = bool(b <= 1e-10 * max(float(alpha[-1].abs()), max((float(x) for x in beta), default=0.0)))
        if last or tiny or (j + 1 >= min(2 * k, steps_cap) and (j + 1) % check_every == 0):
            theta, s = torch.linalg.eigh(_tridiag(alpha, beta))
            res = (b * s[-1]).abs()
            idx = _wanted(theta, k)
            scale = theta.abs().max().clamp_min(1e-300)
            converged = bool((res[idx] <= tol * scale).all())
            if progress is not None:
                progress((j + 1) / steps_cap)
            if converged or last or tiny:  # tiny: an invariant subspace, whose Ritz pairs are exact
                converged = converged or tiny
                break
        beta.append(b)
        basis[j + 1] = w / b.clamp_min(1e-300)
    m = len(alpha)
    assert theta is not None and s is not None  # the last step always solves the tridiagonal problem
    idx = _wanted(theta, k)
    vecs = s[:, idx].T @ basis[:m]  # (r, dim)
    return LanczosResult(eigenvalues=theta[idx], eigenvectors=vecs, ritz_residuals=(b * s[-1, idx]).abs(),
                         n_matvec=m, steps=m, converged=converged, seconds=time.perf_counter() - start)


def slq_density(matvec: Matvec, dim: int, *, n_probes: int = 8, steps: int = 40,
                constraint: torch.Tensor | None = None, generator: torch.Generator | None = None,
                device: torch.device | str = "cpu", rademacher: bool = True,
                progress: Callable[[float], None] | None = None) -> SpectralDensity:
    """Stochastic Lanczos quadrature: the spectral density of a symmetric operator (Ubaru, Chen & Saad 2017).

    The probes run their Lanczos recurrences side by side, so each step is one batched matvec of n_probes
    vectors. The weights are normalised over the operator's dim (minus the constrained directions).

    Args:
        matvec: V (M, dim) -> A V (M, dim). n_probes: random start vectors (Rademacher or Gaussian).
        steps: Lanczos steps per probe (quadrature nodes per probe).
        constraint: (c, dim) orthonormal vectors projected out of the probes.
    Returns:
        SpectralDensity with n_probes · steps nodes and weights.
    """
    start = time.perf_counter()
    gen = generator or torch.Generator().manual_seed(0)
    c = 0 if constraint is None else constraint.shape[0]
    steps = min(steps, dim - c)
    v = torch.randn((n_probes, dim), generator=gen, device=gen.device, dtype=torch.float64).to(device)
    v = v.sign() if rademacher else v
    fixed = None if constraint is None else constraint.to(device, torch.float64)[None]
    fixed = None if fixed is None else fixed.expand(n_probes, -1, -1)
    v = v if fixed is None else _orthogonalise(v, fixed)
    basis = torch.zeros((n_probes, steps, dim), dtype=torch.float64, device=device)
    basis[:, 0] = v / v.norm(dim=1, keepdim=True)
    t = torch.zeros((n_probes, steps, steps), dtype=torch.float64, device=device)
    for j in range(steps):
        w = matvec(basis[:, j]).to(torch.float64)  # (P, dim)
        t[:, j, j] = (basis[:, j] * w).sum(1)
        against = basis[:, : j + 1] if fixed is None else torch.cat([fixed, basis[:, : j + 1]], dim=1)
        w = _orthogonalise(w, against)
        b = w.norm(dim=1)
        if j + 1 < steps:
            t[:, j, j + 1] = t[:, j + 1, j] = b
            basis[:, j + 1] = w / b.clamp_min(1e-300)[:, None]
        if progress is not None:
            progress((j + 1) / steps)
    theta, s = torch.linalg.eigh(t)  # (P, steps), (P, steps, steps)
    weights = s[:, 0, :] ** 2 / n_probes
    return SpectralDensity(nodes=theta.flatten(), weights=weights.flatten(), n_matvec=n_probes * steps,
                           seconds=time.perf_counter() - start)
