"""Boundary cross-sections (docs/paper_notes.md §4): classify every point x0 + a·u + b·v of an n×n grid on a plane.

Besides the class map this records, per point, the confidence (softmax probability of the predicted class),
F = f_k − f_k̂ for a fixed pair (k̂ = label of the plane's origin x, k = a reference class, by default
DeepFool's target; negative on x's side) and the region margin G = f_k̂ − max_{j≠k̂} f_j (positive exactly
inside x's region, zero on its whole boundary whatever the neighbouring class). `adaptive` evaluates a coarse
grid and refines only cells whose corners disagree. "Forward passes" count input points sent through the
network (a batch of 100 points is 100 passes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .batching import chunked
from .errors import AtlasError
from .model import Classifier, check_finite
from .planes import Plane

Progress = Callable[[float], None] | None
MAX_RESOLUTION = 300
_FIELDS = ("labels", "confidence", "F", "G")


@dataclass(frozen=True)
class CrossSection:
    """Class map of a plane. Grids are indexed [row = b index, column = a index], as Plotly's Heatmap z.

    Attributes:
        a, b: (n,) plane coordinates of the columns / rows (L2 units from the origin along u / v).
        labels: (n, n) predicted class. confidence: (n, n) its softmax probability.
        F: (n, n) f_ref − f_label_x (negative on x's side). G: (n, n) f_label_x − max_{j≠label_x} f_j.
        evaluated: (n, n) True where the network was run; elsewhere (adaptive only) labels are filled
            from agreeing cell corners and confidence/F/G linearly interpolated from evaluated points.
        label_x, ref_class: k̂ (label of the origin) and k. n_forward: points evaluated (incl. origin).
        dense_forward: n² + 1, what a dense grid costs. seconds: wall time. clip: points clipped to bounds
            (off by default: the true linear plane, whose points may leave the pixel range).
        clipped_fraction: share of grid points moved by clipping (0 when clip is off). method: "dense" or
            "adaptive". outside_fraction: share of evaluated grid points with a value outside the model's bounds
            (pixels outside [0, 1]), whether or not they were clipped.
    """

    plane: Plane
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    F: np.ndarray
    G: np.ndarray
    evaluated: np.ndarray
    label_x: int
    ref_class: int
    n_forward: int
    dense_forward: int
    seconds: float
    clip: bool
    clipped_fraction: float
    method: str
    outside_fraction: float = 0.0

    @property
    def extent(self) -> float:
        return float(self.a[-1] - self.a[0]) / 2

    @property
    def resolution(self) -> int:
        return len(self.a)

    def config(self) -> dict:
        """The effective configuration, for exports."""
        return {"plane": self.plane.config(), "extent": self.extent, "resolution": self.resolution,
                "center": [float(self.a.mean()), float(self.b.mean())], "clip": self.clip,
                "method": self.method,
                "label_x": self.label_x, "ref_class": self.ref_class, "n_forward": self.n_forward,
                "dense_forward": self.dense_forward, "seconds": self.seconds,
                "clipped_fraction": self.clipped_fraction, "outside_fraction": self.outside_fraction}


class _Grid:
    """The plane's tensors on the model's device and a batched evaluator of points given by coordinates."""

    def __init__(self, model: Classifier, plane: Plane, clip: bool, batch_size: int | None):
        def t(arr: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(arr, device=model.device, dtype=model.dtype)[None]

        self.model, self.clip = model, clip
        self.origin, self.u, self.v = t(plane.origin), t(plane.u), t(plane.v)  # (1, *S) each
        self.batch_size = batch_size or model.default_batch_size()
        self.n_forward, self.n_outside = 0, torch.zeros((), dtype=torch.long, device=model.device)
        self.label_x, self.ref = -1, -1

    def _points(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (self.origin.dim() - 1)
        pts = torch.addcmul(self.origin, a.reshape(shape), self.u)  # fused: fewer (B, *S) temporaries
        return pts.addcmul_(b.reshape(shape), self.v)  # (B, *S)

    def _chunk(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        pts = self._points(a, b)
        lo, hi = self.model.bounds
        # counted on the device (no host sync per chunk), clipped or not: the UI says how many points leave
        # the pixel range; clamp in place: pts is a fresh tensor
        self.n_outside = self.n_outside + ((pts < lo) | (pts > hi)).flatten(1).any(1).sum()
        if self.clip:
            pts.clamp_(lo, hi)
        logits = self.model.module(pts)  # (B, L)
        check_finite(logits, f"{self.model.name} logits")
        probs = logits.softmax(dim=1)
        conf, label = probs.max(dim=1)
        own = logits[:, self.label_x]
        others = logits.clone()
        others[:, self.label_x] = -torch.inf
        return torch.stack([label.to(logits.dtype), conf, logits[:, self.ref] - own,
                            own - others.max(dim=1).values], dim=1)  # (B, 4)

    def evaluate(self, a: np.ndarray, b: np.ndarray, progress: Progress = None) -> dict[str, np.ndarray]:
        """labels, confidence, F, G at the points (a_i, b_i). Shapes (P,)."""
        if self.label_x < 0:
            self._set_reference()
        at = torch.as_tensor(a, device=self.model.device, dtype=self.model.dtype)
        bt = torch.as_tensor(b, device=self.model.device, dtype=self.model.dtype)
        with torch.no_grad():
            out = chunked(self._chunk, at, bt, batch_size=self.batch_size, progress=progress).cpu().numpy()
        self.n_forward += len(a)
        return {"labels": out[:, 0].astype(np.int64), "confidence": out[:, 1].astype(np.float32),
                "F": out[:, 2].astype(np.float32), "G": out[:, 3].astype(np.float32)}

    def _set_reference(self) -> None:
        with torch.no_grad():
            logits = self.model.module(self.origin)[0]
        self.n_forward += 1
        top2 = logits.topk(min(2, logits.numel())).indices.tolist()
        self.label_x = top2[0]
        if self.ref < 0:
            self.ref = top2[-1]  # runner-up class at the origin


def _axes(plane: Plane, extent: float | None, n: int, center: tuple[float, float] | None
          ) -> tuple[np.ndarray, np.ndarray]:
    if not 2 <= n <= MAX_RESOLUTION:
        raise AtlasError(f"resolution must be between 2 and {MAX_RESOLUTION} points per side, got {n}")
    e = plane.default_extent if extent is None else float(extent)
    if not np.isfinite(e) or e <= 0:
        raise AtlasError(f"the extent (half-width of the grid, L2 units) must be positive, got {e}")
    ca, cb = plane.center if center is None else center
    return np.linspace(ca - e, ca + e, n), np.linspace(cb - e, cb + e, n)


def cross_section(model: Classifier, plane: Plane, *, extent: float | None = None, resolution: int = 100,
                  method: Literal["dense", "adaptive"] = "adaptive", clip: bool = False,
                  ref_class: int | None = None, center: tuple[float, float] | None = None,
                  coarse: int = 12, batch_size: int | None = None, progress: Progress = None) -> CrossSection:
    """Classify an n×n grid of points origin + a·u + b·v.

    Args:
        model: the classifier. plane: from geometry.planes.
        extent: half-width of the square grid in L2 units (default plane.default_extent, 3·‖r(x)‖).
        resolution: n, points per side (2..300). method: "dense" (all n² points) or "adaptive".
        clip: clamp every point to the model's pixel bounds before classifying (stated in exports). Off by
            default: clamping bends the plane (a point's clamped image is no longer x + a·u + b·v), so the
            drawn boundary is not the boundary's cross-section; the result counts the points outside instead.
        ref_class: k in F = f_k − f_k̂ (default: the runner-up class at the origin; the app passes
            DeepFool's target). center: (a, b) of the grid centre (default plane.center).
        coarse: adaptive only: about this many coarse cells per side before refinement.
        batch_size: points per forward batch. progress: callback of the fraction done.
    Returns:
        CrossSection (CPU numpy).
    Example:
        >>> cs = cross_section(model, normal_plane(model, x), resolution=60); cs.labels.shape  # (60, 60)
    """
    a, b = _axes(plane, extent, resolution, center)
    grid = _Grid(model, plane, clip, batch_size)
    if ref_class is not None:
        if not 0 <= ref_class < model.num_classes:
            raise AtlasError(f"ref_class must be a class index in [0, {model.num_classes}), got {ref_class}")
        grid.ref = int(ref_class)
    start = time.perf_counter()
    if method == "dense":
        fields, evaluated = _dense(grid, a, b, progress), np.ones((resolution, resolution), dtype=bool)
    elif method == "adaptive":
        fields, evaluated = _adaptive(grid, a, b, coarse, progress)
    else:
        raise AtlasError(f"method must be 'dense' or 'adaptive', got {method!r}")
    outside = int(grid.n_outside) / max(1, int(evaluated.sum()))
    return CrossSection(plane=plane, a=a, b=b, **fields, evaluated=evaluated, label_x=grid.label_x,
                        ref_class=grid.ref, n_forward=grid.n_forward, dense_forward=resolution**2 + 1,
                        seconds=time.perf_counter() - start, clip=clip,
                        clipped_fraction=outside if clip else 0.0, method=method, outside_fraction=outside)


def _dense(grid: _Grid, a: np.ndarray, b: np.ndarray, progress: Progress) -> dict[str, np.ndarray]:
    bb, aa = np.meshgrid(b, a, indexing="ij")  # (n, n): rows follow b
    out = grid.evaluate(aa.ravel(), bb.ravel(), progress)
    return {k: v.reshape(aa.shape) for k, v in out.items()}


def _adaptive(grid: _Grid, a: np.ndarray, b: np.ndarray, coarse: int, progress: Progress
              ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Quadtree refinement by levels: a cell whose four corner labels agree is filled with that label."""
    n = len(a)
    step = 1 << max(0, int(np.floor(np.log2(max(1.0, (n - 1) / max(1, coarse))))))
    levels = int(np.log2(step)) + 1
    state = {k: np.zeros((n, n), dtype=np.int64 if k == "labels" else np.float32) for k in _FIELDS}
    evaluated = np.zeros((n, n), dtype=bool)
    active = np.ones((_cells(n, step),) * 2, dtype=bool)
    for level in range(levels):
        sub = None if progress is None else (lambda f, lv=level: progress((lv + f) / levels))
        split = _refine_level(grid, a, b, state, evaluated, active, step, sub)
        if step == 1:
            break
        step //= 2
        m = _cells(n, step)
        active = np.repeat(np.repeat(split, 2, axis=0), 2, axis=1)[:m, :m]
    _interpolate(state, evaluated)
    return state, evaluated


def _cells(n: int, step: int) -> int:
    return max(1, -(-(n - 1) // step))


def _corner_index(n: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.arange(_cells(n, step)) * step
    return lo, np.minimum(lo + step, n - 1)


def _refine_level(grid: _Grid, a: np.ndarray, b: np.ndarray, state: dict[str, np.ndarray],
                  evaluated: np.ndarray, active: np.ndarray, step: int, progress: Progress) -> np.ndarray:
    """Evaluate corners of active cells and their neighbours; fill uniform cells; return cells to split."""
    from scipy.ndimage import binary_dilation

    _ensure_corners(grid, a, b, state, evaluated, active, step, None)
    split = active & _disagree(state["labels"], step)
    # Cells next to a boundary cell are checked too: a thin sliver can cross a cell without changing a corner.
    ring = binary_dilation(split, structure=np.ones((3, 3), dtype=bool)) & ~active
    _ensure_corners(grid, a, b, state, evaluated, ring, step, progress)
    checked = active | ring
    split = checked & _disagree(state["labels"], step)
    _fill(state["labels"], evaluated, checked & ~split, step)
    return split


def _disagree(labels: np.ndarray, step: int) -> np.ndarray:
    lo, hi = _corner_index(labels.shape[0], step)
    c = [labels[np.ix_(r, s)] for r in (lo, hi) for s in (lo, hi)]
    return (c[0] != c[1]) | (c[0] != c[2]) | (c[0] != c[3])  # (C, C)


def _ensure_corners(grid: _Grid, a: np.ndarray, b: np.ndarray, state: dict[str, np.ndarray],
                    evaluated: np.ndarray, cells: np.ndarray, step: int, progress: Progress) -> None:
    n = len(a)
    lo, hi = _corner_index(n, step)
    cr, cc = np.nonzero(cells)
    rows = np.concatenate([lo[cr], lo[cr], hi[cr], hi[cr]])
    cols = np.concatenate([lo[cc], hi[cc], lo[cc], hi[cc]])
    flat = np.unique(rows * n + cols)
    flat = flat[~evaluated.ravel()[flat]]
    if flat.size == 0:
        return
    r, c = np.divmod(flat, n)
    out = grid.evaluate(a[c], b[r], progress)
    for key in _FIELDS:
        state[key][r, c] = out[key]
    evaluated[r, c] = True


def _fill(labels: np.ndarray, evaluated: np.ndarray, uniform: np.ndarray, step: int) -> None:
    """Give every unevaluated point of a uniform cell the cell's corner label (in place)."""
    n = labels.shape[0]
    lo, _ = _corner_index(n, step)
    cell = np.minimum(np.arange(n) // step, len(lo) - 1)  # the cell owning each row/column
    corner = labels[np.ix_(lo, lo)]
    mask = uniform[np.ix_(cell, cell)] & ~evaluated
    labels[mask] = corner[np.ix_(cell, cell)][mask]


def _interpolate(state: dict[str, np.ndarray], evaluated: np.ndarray) -> None:
    """Linear interpolation of confidence, F and G at unevaluated points, from the evaluated ones."""
    if evaluated.all():
        return
    from scipy.interpolate import LinearNDInterpolator

    keys = ("confidence", "F", "G")
    values = np.stack([state[k][evaluated] for k in keys], axis=1)  # (P, 3): one triangulation for all
    filled = LinearNDInterpolator(np.argwhere(evaluated), values)(np.argwhere(~evaluated))  # (Q, 3)
    for i, key in enumerate(keys):
        state[key][~evaluated] = np.where(np.isfinite(filled[:, i]), filled[:, i], 0.0)
