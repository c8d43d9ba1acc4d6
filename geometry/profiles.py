"""Line profiles (docs/paper_notes.md §4): F = f_ref − f_label_x, G and the labels along the line through the
origin x of a cross-section plane, in direction u or v.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .cross_section import _Grid
from .errors import AtlasError
from .model import Classifier
from .planes import Plane


@dataclass(frozen=True)
class Profile:
    """F, G, labels and confidence along the line origin + t·d through the origin, d = u or v."""

    axis: str
    t: np.ndarray  # (m,)
    labels: np.ndarray
    confidence: np.ndarray
    F: np.ndarray
    G: np.ndarray
    label_x: int
    ref_class: int
    n_forward: int


def line_profile(model: Classifier, plane: Plane, axis: Literal["u", "v"] = "u", *,
                 extent: float | None = None, points: int = 201, clip: bool = False,
                 ref_class: int | None = None, batch_size: int | None = None) -> Profile:
    """A 1-D profile of F = f_ref − f_label_x (and G) along u or v through the plane's origin x.

    Args:
        axis: "u" or "v". extent: half-length in L2 units (default plane.default_extent). points: samples.
        clip, ref_class, batch_size: as in cross_section.
    """
    if axis not in ("u", "v"):
        raise AtlasError(f"axis must be 'u' or 'v', got {axis!r}")
    e = plane.default_extent if extent is None else float(extent)
    if not np.isfinite(e) or e <= 0 or points < 2:
        raise AtlasError(f"need a positive extent and at least 2 points, got extent={e}, points={points}")
    t = np.linspace(-e, e, points)
    grid = _Grid(model, plane, clip, batch_size)
    if ref_class is not None:
        grid.ref = int(ref_class)
    zero = np.zeros_like(t)
    out = grid.evaluate(t, zero) if axis == "u" else grid.evaluate(zero, t)
    return Profile(axis=axis, t=t, **out, label_x=grid.label_x, ref_class=grid.ref, n_forward=grid.n_forward)
