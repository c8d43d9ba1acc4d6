"""Planar data for the 2-D teaching model: assets/make_assets.py trains toy-moons-mlp on these two moons,
and the 2-D toy view draws the same points.
"""

from __future__ import annotations

import numpy as np


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: points (n, 2) float32 and labels (n,) (0 upper moon, 1 lower moon)."""
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    y = rng.integers(0, 2, n)
    x = np.where(y[:, None] == 0, upper, lower) + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), y
