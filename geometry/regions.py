"""Region statistics of a cross-section (docs/paper_notes.md §4): fragmentation of the class map, in-plane
distance from x to its region's boundary and the boundary curve's curvature there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cross_section import CrossSection


@dataclass(frozen=True)
class RegionStats:
    """Statistics of the class map on the plane.

    Attributes:
        components: class -> number of 4-connected regions of that class in the grid (fragmentation).
        distance: distance in the plane from the origin x to the nearest point of the boundary of x's
            region (sub-cell: linear interpolation of G between neighbours); NaN if none is in view.
        nearest: (a, b) of that boundary point.
        curvature: curvature of the boundary curve at `nearest`, from a quadratic fit to the boundary points
            within `window` of it; positive when the curve bends around x (x's region locally convex, the
            paper's sign: a ball of radius R around x gives +1/R). NaN when too few points. It depends on the
            grid (the default window is at least 6 cells); geometry.plane_curvature measures the curve on the
            model instead, independently of the grid, and is what the Cross-sections page shows.
        boundary_points: (P, 2) the boundary points (a, b) found.
    """

    components: dict[int, int]
    distance: float
    nearest: tuple[float, float]
    curvature: float
    window: float
    boundary_points: np.ndarray


def region_stats(cs: CrossSection, *, window: float | None = None) -> RegionStats:
    """Fragmentation, distance from x to the boundary along the plane and its in-plane curvature.

    Args:
        cs: a cross-section. window: radius of the curvature fit (default max(6 cells, 0.3·distance)).
    """
    from scipy.ndimage import label as connected

    comps = {int(k): int(connected(cs.labels == k)[1]) for k in np.unique(cs.labels)}
    pts = _boundary_points(cs)
    if len(pts) == 0:
        return RegionStats(comps, float("nan"), (float("nan"),) * 2, float("nan"), float("nan"), pts)
    d = np.linalg.norm(pts, axis=1)
    i = int(d.argmin())
    cell = float(cs.a[1] - cs.a[0])
    w = max(6 * cell, 0.3 * float(d[i])) if window is None else float(window)
    kappa = _fit_curvature(pts, pts[i], w)
    return RegionStats(comps, float(d[i]), (float(pts[i, 0]), float(pts[i, 1])), kappa, w, pts)


def _boundary_points(cs: CrossSection) -> np.ndarray:
    """Points (a, b) where x's region ends between two grid neighbours, placed at the zero of G."""
    inside = cs.labels == cs.label_x
    aa, bb = np.meshgrid(cs.a, cs.b)
    out = []
    for sl0, sl1 in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),  # along a
                     ((slice(None, -1), slice(None)), (slice(1, None), slice(None)))):  # along b
        edge = inside[sl0] != inside[sl1]
        g0, g1 = cs.G[sl0][edge], cs.G[sl1][edge]
        t = np.clip(np.where(g0 != g1, g0 / np.where(g0 != g1, g0 - g1, 1), 0.5), 0, 1)
        out.append(np.stack([aa[sl0][edge] + t * (aa[sl1][edge] - aa[sl0][edge]),
                             bb[sl0][edge] + t * (bb[sl1][edge] - bb[sl0][edge])], axis=1))
    return np.concatenate(out)  # (P, 2)


def _fit_curvature(pts: np.ndarray, p: np.ndarray, window: float) -> float:
    """Fit h(s) = c0 + c1 s + c2 s² in the frame (tangent, x→p); curvature −h''/(1 + h'²)^1.5 at s = 0."""
    normal = p / max(float(np.linalg.norm(p)), 1e-300)
    tangent = np.array([-normal[1], normal[0]])
    near = pts[np.linalg.norm(pts - p, axis=1) <= window] - p
    s, h = near @ tangent, near @ normal
    if len(near) < 5 or np.ptp(s) < window / 2:
        return float("nan")
    c2, c1, _ = np.polyfit(s, h, 2)
    return float(-2 * c2 / (1 + c1**2) ** 1.5)
