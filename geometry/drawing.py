"""A drawing (RGBA canvas pixels, light strokes on black) turned into a digit-like model input, the way MNIST
digits were made: the strokes' bounding box scaled to fit 20×20 pixels, placed in 28×28 by its centre of mass.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .errors import ImageError
from .images import FittedImage


def fit_drawing(rgba: np.ndarray, input_shape: tuple[int, ...], *, box_fraction: float = 20 / 28) -> FittedImage:
    """Canvas pixels (H, W, 4) uint8 or float -> (1, 1, h, w) input in [0, 1] with notes.

    Raises ImageError when nothing is drawn or the model does not take 1-channel images.
    """
    if len(input_shape) != 3 or input_shape[0] != 1:
        raise ImageError(f"drawing is for 1-channel image models; this one takes {tuple(input_shape)}")
    a = np.asarray(rgba, dtype=np.float32)
    if a.ndim != 3 or a.shape[2] < 3:
        raise ImageError(f"expected canvas pixels (H, W, 4), got shape {a.shape}")
    if a.max() > 1.0:
        a = a / 255.0
    gray = a[..., :3].mean(axis=2) * (a[..., 3] if a.shape[2] == 4 else 1.0)  # transparent = background
    ink = gray > 0.05
    if not ink.any():
        raise ImageError("nothing is drawn yet: draw a digit (white on black)")
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    _, h, w = input_shape
    side = max(1, round(box_fraction * min(h, w)))
    scale = side / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(np.round(crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                       dtype=np.float32) / 255.0
    out = np.zeros((h, w), np.float32)
    mass = small.sum()
    cy, cx = ((np.arange(small.shape[0]) @ small.sum(1)) / mass, (np.arange(small.shape[1]) @ small.sum(0)) / mass)
    top = int(np.clip(round(h / 2 - cy), 0, h - small.shape[0]))
    left = int(np.clip(round(w / 2 - cx), 0, w - small.shape[1]))
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    notes = (f"drawn on a {gray.shape[1]}×{gray.shape[0]} canvas; scaled into a {side}-pixel box and centred by "
             f"its centre of mass in {w}×{h}, like the MNIST digits",)
    return FittedImage(torch.from_numpy(np.clip(out, 0, 1))[None, None], notes)
