"""The certified final check of connecting paths: "connected" only when no label change can hide between checks.

Every segment [a, b] is checked at points spaced relative to its own length (`n_check` intervals per segment,
never coarser than ‖x2 − x1‖/n_check). At each check point we take the label margins h_j = f_k − f_j
(logits, every class j ≠ k) and their slopes h_j' along the segment, all classes in one forward-mode JVP.
Between two consecutive checks p, q at distance s, assume the slope of each h_j stays below the local bound
L_j = safety · max(|h_j'(p)|, |h_j'(q)|, |h_j(q) − h_j(p)| / s). Then on the whole interval
h_j ≥ (h_j(p) + h_j(q) − L_j s) / 2 (the two cones from the ends meet there; this is ≤ min(h_j(p), h_j(q))).
An interval whose bound is ≤ 0 for some class could hide a label change: it is halved (a new check at its
midpoint) while it is longer than the resolution `cfg.resolution · ‖x2 − x1‖`. A path is certified when no
check point has another label and every interval's bound is positive. The slope bound is an estimate from
the measured slopes (times `slope_safety`), not a proven Lipschitz constant: a feature narrower than the
spacing whose slope never shows at any check point can still be missed; that is the stated assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.func import jvp

from .batching import chunked, flat_norm
from .model import Classifier, check_finite


@dataclass(frozen=True)
class Certification:
    """How the final check of one path went. Margins are logits f_k − max_{j≠k} f_j; s is the arc-length fraction."""

    certified: bool  # no check point outside and a positive margin bound on every interval between checks
    resolution: float  # finest spacing (L2) between two consecutive checks that the refinement reached
    resolution_limit: float  # intervals are halved only while longer than this (L2)
    max_spacing: float  # largest spacing (L2) between two consecutive checks
    n_checks: int  # check points, refinement included
    min_margin: float  # smallest margin at a check point (negative: a point with another label)
    min_margin_s: float  # where it is
    min_bound: float  # smallest lower bound on the margin between two checks
    min_bound_s: float  # where (the interval's middle)
    n_outside: int  # check points with another label
    n_uncertain: int  # intervals left with a bound ≤ 0 (at the resolution limit or out of check budget)
    slope_safety: float

    @property
    def verdict(self) -> str:
        """One line for the UI: 'connected (certified at resolution …)', 'not connected: …' or 'not certified: …'."""
        where = f"min margin {self.min_margin:.3g} at s = {self.min_margin_s:.3f}"
        if self.certified:
            return (f"connected (certified at resolution {self.resolution:.2g} L2: {self.n_checks} checks, "
                    f"{where})")
        if self.n_outside:
            return (f"not connected: {self.n_outside} of {self.n_checks} checks have another label "
                    f"({where})")
        return (f"not certified: the margin bound stays ≤ 0 on {self.n_uncertain} intervals at resolution "
                f"{self.resolution_limit:.2g} L2 ({self.n_checks} checks, {where})")


def certify(model: Classifier, a: torch.Tensor, b: torch.Tensor, group: torch.Tensor, k: torch.Tensor,
            spacing: torch.Tensor, resolution: torch.Tensor, *, n_check: int, slope_safety: float,
            max_checks: int, batch_size: int | None, stats: dict
            ) -> tuple[dict[str, torch.Tensor], list[Certification]]:
    """Certify polylines made of segments [a_g, b_g], batched over all of them.

    Args:
        a, b: (G, *S) segment ends, sorted by group (polyline) and position along it.
        group: (G,) polyline of each segment, 0..M-1. k: (M,) the label each polyline must keep.
        spacing: (M,) coarsest allowed initial spacing (L2). resolution: (M,) refinement stops below it (L2).
        n_check: initial intervals per segment. max_checks: check points per polyline at most.
        stats: its "forward" count grows by the points evaluated (each one forward pass with slopes).
    Returns:
        Point data sorted along each polyline ("owner" segment, "t" on it, "s" arc fraction, "prob" of k,
        "inside", "margin"), and one Certification per polyline.
    """
    m = len(k)
    seg_len = flat_norm(b - a).double()  # (G,)
    n_int = torch.maximum(torch.full_like(seg_len, n_check), torch.ceil(seg_len / spacing[group].double()))
    owner = torch.repeat_interleave(torch.arange(len(a), device=a.device), n_int.long() + 1)
    first = torch.cumsum(n_int.long() + 1, 0) - (n_int.long() + 1)
    t = (torch.arange(len(owner), device=a.device) - first[owner]).double() / n_int[owner]
    pts = _evaluate(model, a, b, owner, t, group, k, batch_size, stats)
    while True:
        pts = _sort(pts)
        iv = _intervals(pts, seg_len, slope_safety)
        g_iv = group[iv["seg"]]
        outside = torch.bincount(group[pts["owner"]][~pts["inside"]], minlength=m) > 0
        split = iv["undecided"] & (iv["s"] > resolution[g_iv].double()) & ~outside[g_iv]
        count = torch.bincount(group[pts["owner"]], minlength=m)
        extra = torch.bincount(g_iv[split], minlength=m)
        split &= (count + extra <= max_checks)[g_iv]  # a polyline out of budget stays uncertain
        if not split.any():
            break
        mid = (pts["t"][iv["p"][split]] + pts["t"][iv["p"][split] + 1]) / 2
        new = _evaluate(model, a, b, iv["seg"][split], mid, group, k, batch_size, stats)
        pts = {key: torch.cat([pts[key], new[key]]) for key in pts}
    pts["s"], total = _arc_fraction(pts, seg_len, group, m)
    certs = [_summary(i, pts, iv, group, resolution, total, slope_safety) for i in range(m)]
    return pts, certs


def _evaluate(model: Classifier, a: torch.Tensor, b: torch.Tensor, owner: torch.Tensor, t: torch.Tensor,
              group: torch.Tensor, k: torch.Tensor, batch_size: int | None, stats: dict) -> dict[str, torch.Tensor]:
    """Margins h_j = f_k − f_j (P, L) and their slopes along the segment (per unit L2 length) at the points."""
    shape = (-1,) + (1,) * (a.dim() - 1)
    direction = (b - a) / flat_norm(b - a).clamp_min(1e-30).reshape(shape)

    def chunk(o: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        x = a[o] + tt.to(a.dtype).reshape(shape) * (b[o] - a[o])
        logits, slopes = _logits_and_slopes(model, x, direction[o])
        return torch.cat([logits, slopes], dim=1)

    out = chunked(chunk, owner, t, batch_size=batch_size or model.default_batch_size(scale=0.3))
    check_finite(out, f"{model.name} logits and slopes along the path")
    stats["forward"] += len(owner)
    logits, slopes = out.double().chunk(2, dim=1)
    kk = k[group[owner]][:, None]
    h = logits.gather(1, kk) - logits
    h.scatter_(1, kk, torch.inf)  # class k itself never bounds the margin
    dh = slopes.gather(1, kk) - slopes
    dh.scatter_(1, kk, 0.0)
    margin = h.min(dim=1).values
    prob = logits.softmax(dim=1).gather(1, kk)[:, 0]
    return {"owner": owner, "t": t, "h": h, "dh": dh, "margin": margin, "inside": margin > 0, "prob": prob}


def _logits_and_slopes(model: Classifier, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits f(x) and their directional derivatives J(x) u, every class at once (forward mode)."""
    try:
        pair = jvp(model, (x,), (u,))  # (f(x), J u); indexed, as the stub also admits has_aux's 3-tuple
        logits, slopes = pair[0], pair[1]
        return logits.detach(), slopes.detach()
    except (RuntimeError, NotImplementedError):  # an op without forward-mode AD: J u by double backward
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            out = model(xg)
            w = torch.zeros_like(out, requires_grad=True)
            (g,) = torch.autograd.grad(out, xg, grad_outputs=w, create_graph=True)  # Jᵀ w, linear in w
            (ju,) = torch.autograd.grad(g, w, grad_outputs=u)
        return out.detach(), ju.detach()


def _sort(pts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    order = torch.argsort(pts["owner"].double() * 2 + pts["t"])  # t in [0, 1]: segments stay apart
    return {key: v[order] for key, v in pts.items()}


def _intervals(pts: dict[str, torch.Tensor], seg_len: torch.Tensor, safety: float) -> dict[str, torch.Tensor]:
    """Consecutive checks p, p+1 of one segment: length s, lower bound of the margin, undecided flag."""
    p = (pts["owner"][1:] == pts["owner"][:-1]).nonzero()[:, 0]
    q = p + 1
    seg = pts["owner"][p]
    s = (pts["t"][q] - pts["t"][p]) * seg_len[seg]  # (I,)
    hp, hq, dp, dq = pts["h"][p], pts["h"][q], pts["dh"][p], pts["dh"][q]
    finite = torch.isfinite(hp)
    secant = torch.where(finite, (hq - hp).abs(), 0.0) / s.clamp_min(1e-300)[:, None]
    slope = safety * torch.maximum(torch.maximum(dp.abs(), dq.abs()), secant)
    bound = torch.where(finite, (hp + hq - slope * s[:, None]) / 2, torch.inf).min(dim=1).values
    both_in = pts["inside"][p] & pts["inside"][q]
    return {"p": p, "seg": seg, "s": s, "bound": bound, "undecided": both_in & (bound <= 0)}


def _arc_fraction(pts: dict[str, torch.Tensor], seg_len: torch.Tensor, group: torch.Tensor, m: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Arc-length fraction of each point along its polyline (P,), and each polyline's length (M,)."""
    total = torch.zeros(m, dtype=torch.float64, device=seg_len.device).index_add_(0, group, seg_len)
    before = torch.cumsum(seg_len, 0) - seg_len  # (G,) length before each segment, over all polylines
    first = torch.ones_like(group, dtype=torch.bool)
    first[1:] = group[1:] != group[:-1]  # segments are sorted by polyline
    start = torch.zeros(m, dtype=torch.float64, device=seg_len.device)
    start[group[first]] = before[first]
    o = pts["owner"]
    s = (before[o] - start[group[o]] + pts["t"] * seg_len[o]) / total[group[o]].clamp_min(1e-300)
    return s, total


def _summary(i: int, pts: dict[str, torch.Tensor], iv: dict[str, torch.Tensor], group: torch.Tensor,
             resolution: torch.Tensor, total: torch.Tensor, safety: float) -> Certification:
    mine = group[pts["owner"]] == i
    margin, s = pts["margin"][mine], pts["s"][mine]
    ivm = group[iv["seg"]] == i
    bound, spacing = iv["bound"][ivm], iv["s"][ivm]
    mid = (pts["s"][iv["p"][ivm]] + pts["s"][iv["p"][ivm] + 1]) / 2
    j, jb = int(margin.argmin()), int(bound.argmin()) if len(bound) else -1
    n_outside = int((~pts["inside"][mine]).sum())
    n_uncertain = int(iv["undecided"][ivm].sum())
    return Certification(
        certified=n_outside == 0 and n_uncertain == 0, resolution=float(spacing.min()) if len(spacing) else 0.0,
        resolution_limit=float(resolution[i]), max_spacing=float(spacing.max()) if len(spacing) else 0.0,
        n_checks=int(mine.sum()), min_margin=float(margin[j]), min_margin_s=float(s[j]),
        min_bound=float(bound[jb]) if jb >= 0 else math.inf, min_bound_s=float(mid[jb]) if jb >= 0 else 0.0,
        n_outside=n_outside, n_uncertain=n_uncertain, slope_safety=safety)
