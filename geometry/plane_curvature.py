"""The curvature of a cross-section's boundary curve, from the geometry rather than from the drawn grid.

In the plane x + a·u + b·v, the boundary of x's region is the zero set of G = f_k̂ − max_{j≠k̂} f_j (k̂ the label
of x). It is located by bisection on G along lines, never on the grid, so the number does not depend on the
grid's resolution (a contour fitted to the grid did: −0.20 at 60 points and −0.41 at 200 for the default digit):
1. the boundary point p: on a normal plane, the crossing of the ray along u nearest to z = x + r(x); on other
   planes, the nearest crossing over 90 rays from x, refined over 9 rays within ±4° of the best one.
2. boundary points on 9 lines parallel to x→p, at tangent offsets s ∈ [−w, w], w = window_fraction · |p|.
3. a quadratic fit λ(s) = c0 + c1 s + c2 s² of their offsets along x→p; κ = −2 c2 / (1 + c1²)^{3/2}.
Sign (as geometry/spectrum.py): κ > 0 when the curve bends around x, like a circle of radius R around x
(κ = +1/R). For a smooth boundary κ tends to the curve's curvature at p as w → 0 (bias of order κ³w²); a ReLU
net's boundary is piecewise linear, so its number depends on the scale w, which is stated with it.
Each bisection round evaluates 17 points per line and keeps the sign change nearest the line's reference
point; 6 rounds narrow a bracket by 16⁶ ≈ 1.7·10⁷.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cross_section import _Grid
from .errors import AtlasError
from .model import Classifier
from .planes import Plane

_SAMPLES, _ROUNDS, _LINES = 17, 6, 9


@dataclass(frozen=True)
class PlaneCurvature:
    """The boundary curve of x's region in a plane, at its point p nearest to x (or at z on normal planes).

    Attributes:
        curvature: κ of the curve at p (L2⁻¹; positive: bends around x); NaN when no boundary was found.
        point: (a, b) of p. distance: |p|, the in-plane distance from x. window: w, the fit's half-width.
        where: how p was chosen, for the UI. fit_points: (P, 2) the boundary points (a, b) of the fit.
        clip: points were clamped to the model's bounds (as on a clipped grid). n_forward: points evaluated.
    """

    curvature: float
    point: tuple[float, float]
    distance: float
    window: float
    where: str
    fit_points: np.ndarray
    clip: bool
    n_forward: int

    def describe(self) -> str:
        """One line for the UI."""
        if not np.isfinite(self.curvature):
            return f"no boundary curvature: {self.where}"
        return (f"κ = {self.curvature:.3g} at {self.where}, from {len(self.fit_points)} boundary points located by "
                f"bisection within ±{self.window:.3g} (= {self.window / self.distance:.2g} × its distance "
                f"{self.distance:.3g} from x) of it; independent of the grid")


def plane_curvature(model: Classifier, plane: Plane, *, window_fraction: float = 0.1, search: float | None = None,
                    clip: bool = False, batch_size: int | None = None) -> PlaneCurvature:
    """The curvature of the boundary curve of x's region in the plane, from bisection on G (see module doc).

    Args:
        plane: from geometry.planes; its origin is x. window_fraction: w / |p|.
        search: radius of the ray search on planes without a "boundary z" mark (default 10 × the plane's
            default extent / 3, i.e. 10‖r(x)‖ for DeepFool planes). clip: clamp points to the model's bounds.
    Returns:
        PlaneCurvature (curvature NaN, with the reason in `where`, when no boundary is within reach).
    Example:
        >>> plane_curvature(sphere, normal_plane(sphere, x)).curvature  # 1/R for a ball around x
    """
    if not 0 < window_fraction <= 1:
        raise AtlasError(f"window_fraction must be in (0, 1], got {window_fraction}")
    grid = _Grid(model, plane, clip, batch_size)
    p, where = _boundary_point(grid, plane, search)
    if p is None:
        return PlaneCurvature(float("nan"), (float("nan"),) * 2, float("nan"), float("nan"), where,
                              np.zeros((0, 2)), clip, grid.n_forward)
    dist = float(np.hypot(*p))
    w = window_fraction * dist
    nu = p / dist  # x → p
    tau = np.array([-nu[1], nu[0]])
    s = np.linspace(-w, w, _LINES)
    base = p[None] + s[:, None] * tau[None]
    lam = _crossings(grid, base, np.tile(nu, (_LINES, 1)), np.full(_LINES, -w), np.full(_LINES, w), np.zeros(_LINES))
    ok = np.isfinite(lam)
    pts = base[ok] + lam[ok, None] * nu[None]
    if ok.sum() < 5:
        return PlaneCurvature(float("nan"), (float(p[0]), float(p[1])), dist, w,
                              f"{where}: the boundary leaves the fit window", pts, clip, grid.n_forward)
    c2, c1, _ = np.polyfit(s[ok], lam[ok], 2)
    kappa = float(-2 * c2 / (1 + c1**2) ** 1.5)
    return PlaneCurvature(kappa, (float(p[0]), float(p[1])), dist, w, where, pts, clip, grid.n_forward)


def _boundary_point(grid: _Grid, plane: Plane, search: float | None) -> tuple[np.ndarray | None, str]:
    """p: the crossing near z on the u axis (normal planes), else the nearest crossing over rays from x."""
    if "boundary z" in plane.marks:
        az = plane.marks["boundary z"][0]
        lam = _crossings(grid, np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.array([0.25 * az]),
                         np.array([1.75 * az]), np.array([az]))
        if np.isfinite(lam[0]):
            return np.array([lam[0], 0.0]), "z = x + r(x)"
    radius = float(search) if search is not None else 10 * plane.default_extent / 3
    theta = np.linspace(0, 2 * np.pi, 90, endpoint=False)
    best = _nearest_ray(grid, theta, radius)
    if best is None:
        return None, f"no boundary of x's region within {radius:.3g} of x in this plane"
    fine = _nearest_ray(grid, best[0] + np.radians(np.linspace(-4, 4, 9)), radius)
    t, r = fine if fine is not None else best
    return np.array([r * np.cos(t), r * np.sin(t)]), "the boundary point nearest to x"


def _nearest_ray(grid: _Grid, theta: np.ndarray, radius: float) -> tuple[float, float] | None:
    """(angle, radius) of the nearest first crossing over rays from x: one coarse round on every ray, then
    full bisection on the three rays whose coarse crossing is nearest (~2500 points in all)."""
    dirs = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    n = len(theta)
    coarse = _crossings(grid, np.zeros((n, 2)), dirs, np.zeros(n), np.full(n, radius), np.zeros(n), rounds=1)
    if not np.isfinite(coarse).any():
        return None
    best = np.argsort(np.where(np.isfinite(coarse), coarse, np.inf))[:3]
    best = best[np.isfinite(coarse[best])]
    m = len(best)
    lam = _crossings(grid, np.zeros((m, 2)), dirs[best], np.zeros(m), np.full(m, radius), np.zeros(m))
    if not np.isfinite(lam).any():
        return None
    i = int(np.nanargmin(lam))
    return float(theta[best[i]]), float(lam[i])


def _crossings(grid: _Grid, base: np.ndarray, direction: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               near: np.ndarray, rounds: int = _ROUNDS) -> np.ndarray:
    """For each line base + λ·direction (in plane coordinates), the zero of G in [lo, hi] nearest to `near`.

    Batched over lines: each round samples every bracket at 17 points in one pass and keeps the sign change
    nearest to `near`. Returns λ (L,), NaN where G does not change sign.
    """
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    alive = np.ones(len(base), dtype=bool)
    frac = np.linspace(0.0, 1.0, _SAMPLES)
    for _ in range(rounds):
        idx = np.nonzero(alive)[0]
        if len(idx) == 0:
            break
        lam = lo[idx, None] + (hi - lo)[idx, None] * frac[None]  # (L', S)
        pts = base[idx, None] + lam[..., None] * direction[idx, None]  # (L', S, 2)
        inside = grid.evaluate(pts[..., 0].ravel(), pts[..., 1].ravel())["G"].reshape(lam.shape) > 0
        change = inside[:, 1:] != inside[:, :-1]  # (L', S-1)
        mid = (lam[:, 1:] + lam[:, :-1]) / 2
        score = np.where(change, np.abs(mid - near[idx, None]), np.inf)
        j = score.argmin(axis=1)
        found = np.isfinite(score[np.arange(len(idx)), j])
        alive[idx[~found]] = False
        rows = np.arange(len(idx))[found]
        lo[idx[found]], hi[idx[found]] = lam[rows, j[found]], lam[rows, j[found] + 1]
    return np.where(alive, (lo + hi) / 2, np.nan)
