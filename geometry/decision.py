"""The decision function F_k(x) = f_k(x) - f_k̂(x), its gradient and its input Hessian-vector products.

Paper notation (docs/paper_notes.md §1–2): the boundary between k̂ and k is {F_k = 0}; x is on the k̂ side where
F_k < 0. Exact HVPs use autodiff (reverse-over-reverse on CPU, forward-over-reverse on GPU); ReLU nets,
whose exact input Hessian is zero almost everywhere, use a symmetric finite difference of gradients at an
explicit scale h.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch.func import grad, jvp

from .batching import chunked, flat_norm
from .errors import ModelError
from .model import Classifier, check_finite

HvpMethod = Literal["auto", "exact", "fd"]
DEFAULT_FD_STEP = 0.05  # L2 units of pixel space ([0,1] images); ~1/20 of a typical MNIST DeepFool norm


def class_weights(model: Classifier, k: torch.Tensor, k_hat: torch.Tensor) -> torch.Tensor:
    """Rows e_k - e_k̂, so that F_k(x) = <f(x), w>. (N, L)"""
    eye = torch.eye(model.num_classes, device=model.device, dtype=model.dtype)
    return eye[k.to(model.device)] - eye[k_hat.to(model.device)]


def _grad_chunk(model: Classifier, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Gradient of <f(x_i), w_i> w.r.t. each x_i (samples are independent in eval mode)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        out = (model(x) * w).sum()
        g = torch.autograd.grad(out, x, allow_unused=True)[0] if out.requires_grad else None
    if g is None:
        raise ModelError(f"{model.name} has no gradient with respect to its input "
                         "(is the output detached, or computed with non-differentiable ops?)")
    return g


def decision_values(model: Classifier, x: torch.Tensor, k: torch.Tensor, k_hat: torch.Tensor,
                    *, batch_size: int | None = None) -> torch.Tensor:
    """F_k(x) = f_k(x) - f_k̂(x) for each sample. (N,)"""
    return (model.logits(x, batch_size=batch_size) * class_weights(model, k, k_hat)).sum(dim=1)


def decision_grad(model: Classifier, x: torch.Tensor, k: torch.Tensor, k_hat: torch.Tensor,
                  *, batch_size: int | None = None) -> torch.Tensor:
    """∇F_k(x) for each sample, batched. (N, *input_shape)"""
    x = model.prepare(x)
    w = class_weights(model, k, k_hat)
    g = chunked(lambda a, b: _grad_chunk(model, a, b), x, w,
                batch_size=batch_size or model.default_batch_size(scale=0.5))
    check_finite(g, f"{model.name} input gradients")
    return g


def class_gradients(model: Classifier, x: torch.Tensor, classes: torch.Tensor, k_hat: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, and values and gradients of F_k for several classes k per sample, in one backward pass.

    Args:
        x: (N, *S) inputs on the model's device. classes: (N, K) classes k. k_hat: (N,) reference labels.
    Returns:
        logits (N, L), values (N, K), gradients (N, K, *S).
    """
    eye = torch.eye(model.num_classes, device=model.device, dtype=model.dtype)
    cot = (eye[classes] - eye[k_hat][:, None]).transpose(0, 1)  # (K, N, L)
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        logits = model(xg)
        if not logits.requires_grad:
            raise ModelError(f"{model.name} has no gradient with respect to its input "
                             "(is the output detached, or computed with non-differentiable ops?)")
        try:  # one vmapped backward for all K cotangents
            (grads,) = torch.autograd.grad(logits, xg, grad_outputs=cot, is_grads_batched=True)
        except RuntimeError:  # some ops have no batching rule: fall back to K backward passes
            grads = torch.stack([torch.autograd.grad(logits, xg, c, retain_graph=True)[0] for c in cot])
    logits = logits.detach()
    check_finite(logits, f"{model.name} logits")
    values = torch.einsum("nl,knl->nk", logits, cot)
    return logits, values, grads.transpose(0, 1)  # (N, L), (N, K), (N, K, *S)


# --- Hessian-vector products ---------------------------------------------------------------------

def _hvp_exact_chunk(model: Classifier, x: torch.Tensor, w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # On CPU reverse-over-reverse measured ~1.4x faster than forward-over-reverse (bench/curvature.py);
    # on a GPU forward-over-reverse keeps less memory alive (torch.func's advice), so it is used there.
    return (_hvp_forward if x.is_cuda else _hvp_reverse)(model, x, w, v)


def _hvp_forward(model: Classifier, x: torch.Tensor, w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Forward-over-reverse: jvp of the gradient function (torch.func)."""
    def g(y: torch.Tensor) -> torch.Tensor:
        return grad(lambda z: (model(z) * w).sum())(y)

    try:
        return jvp(g, (x,), (v,))[1]
    except (RuntimeError, NotImplementedError):  # an op without forward-mode AD
        return _hvp_reverse(model, x, w, v)


def _hvp_reverse(model: Classifier, x: torch.Tensor, w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Reverse-over-reverse: differentiate <∇F, v> with a second backward pass."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        (gx,) = torch.autograd.grad((model(xg) * w).sum(), xg, create_graph=True)
        if not gx.requires_grad:  # piecewise-linear net: the gradient is locally constant
            return torch.zeros_like(v)
        (hv,) = torch.autograd.grad(gx, xg, grad_outputs=v, allow_unused=True)
    return torch.zeros_like(v) if hv is None else hv.detach()


def _hvp_fd_chunk(model: Classifier, x: torch.Tensor, w: torch.Tensor, v: torch.Tensor, h: float
                  ) -> torch.Tensor:
    norm = flat_norm(v).clamp_min(1e-30).reshape((-1,) + (1,) * (v.dim() - 1))
    step = h * v / norm
    g_plus = _grad_chunk(model, x + step, w)
    g_minus = _grad_chunk(model, x - step, w)
    return (g_plus - g_minus) * (norm / (2 * h))


def hvp(model: Classifier, x: torch.Tensor, k: torch.Tensor, k_hat: torch.Tensor, v: torch.Tensor, *,
        method: Literal["exact", "fd"] = "exact", h: float = DEFAULT_FD_STEP,
        batch_size: int | None = None) -> torch.Tensor:
    """Products ∇²F_k(x_i) v_ij of the input Hessian of F_k with M vectors per point.

    Args:
        x: (N, *S) points. k, k_hat: (N,) classes defining F = f_k - f_k̂ at each point.
        v: (N, M, *S) vectors. method: "exact" (autodiff) or "fd" (symmetric difference of gradients
            at distance h along each unit vector, for ReLU nets).
    Returns:
        (N, M, *S) products.
    """
    x = model.prepare(x)
    n, m = v.shape[:2]
    if v.shape[2:] != x.shape[1:] or v.shape[0] != x.shape[0]:
        raise ValueError(f"vectors must have shape (N, M, *S) = ({n}, M, {tuple(x.shape[1:])}), got {tuple(v.shape)}")
    xs = x.repeat_interleave(m, dim=0)  # (N*M, *S)
    ws = class_weights(model, k, k_hat).repeat_interleave(m, dim=0)  # (N*M, L)
    vs = v.to(model.device, model.dtype).reshape((n * m, *x.shape[1:]))
    if method == "exact":
        fn = lambda a, b, c: _hvp_exact_chunk(model, a, b, c)  # noqa: E731
    elif method == "fd":
        fn = lambda a, b, c: _hvp_fd_chunk(model, a, b, c, h)  # noqa: E731
    else:
        raise ValueError(f"method must be 'exact' or 'fd', got {method!r}")
    out = chunked(fn, xs, ws, vs, batch_size=batch_size or model.default_batch_size(scale=0.25))
    check_finite(out, f"{model.name} Hessian-vector products")
    return out.reshape(v.shape)


def exact_hessian_vanishes(model: Classifier, x: torch.Tensor, k: torch.Tensor, k_hat: torch.Tensor,
                           *, n_probe: int = 2, seed: int = 0) -> bool:
    """True when the exact input Hessian of F is (numerically) zero at x, as for ReLU nets."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = model.prepare(x)[:1]
    v = torch.randn((1, n_probe, *x.shape[1:]), generator=gen, dtype=model.dtype)
    hv = hvp(model, x, k[:1], k_hat[:1], v, method="exact")
    scale = flat_norm(decision_grad(model, x, k[:1], k_hat[:1]))[0] * flat_norm(v[0]).max()
    return bool(flat_norm(hv[0]).max() <= 1e-6 * (scale + 1e-12))


def resolve_hvp_method(model: Classifier, x: torch.Tensor, k: torch.Tensor, k_hat: torch.Tensor,
                       method: HvpMethod = "auto") -> Literal["exact", "fd"]:
    """The HVP method to use: the card's smoothness flag when known, else a probe of the exact Hessian."""
    if method != "auto":
        return method
    if model.card.smooth is not None:
        return "exact" if model.card.smooth else "fd"
    return "fd" if exact_hessian_vanishes(model, x, k, k_hat) else "exact"


def hvp_operator(model: Classifier, x: torch.Tensor, k: int, k_hat: int, *,
                 method: Literal["exact", "fd"] = "exact", h: float = DEFAULT_FD_STEP,
                 batch_size: int | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """For one point x (shape S): a function V (M, *S) -> H V (M, *S), the interface solvers use."""
    xb = model.prepare(x.reshape((1, *model.input_shape)))
    kb = torch.tensor([k], device=model.device)
    kh = torch.tensor([k_hat], device=model.device)

    def apply(v: torch.Tensor) -> torch.Tensor:
        return hvp(model, xb, kb, kh, v[None], method=method, h=h, batch_size=batch_size)[0]

    return apply
