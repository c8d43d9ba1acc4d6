"""Cached computations of the Compare view, keyed by the two model names, the image key and parameters.

Models come from app.cache.load_model (shared resources); results are cached per session-independent key.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

import geometry as g
from app import cache, ui
from geometry.compare import BatchComparison, ImageComparison, compare_batch, compare_image, shared_plane, typical_image
from geometry.cross_section import CrossSection, cross_section
from geometry.planes import EXTENT_PER_DISTANCE, normal_plane

Progress = Callable[[float], None] | None
DEFAULT_PAIR = ("fmnist-relu-cnn", "fmnist-robust-cnn")
RESOLUTION = 80  # points per side of each plane: enough to see a boundary's shape, cheap on a CPU


def model(name: str) -> g.Classifier:
    return cache.load_model(name)


@st.cache_data(max_entries=16, show_spinner="DeepFool and the curvature spectrum for both models…")
def image(names: tuple[str, str], image_key: str, _image: np.ndarray) -> ImageComparison:
    """Both models at one image: prediction, DeepFool, curvature spectrum at the boundary point."""
    return compare_image(model(names[0]), model(names[1]), _image)


TYPICAL_POOL = 100  # images the default example is chosen among


@st.cache_data(max_entries=16, show_spinner="Choosing a typical image…")
def typical(names: tuple[str, str], dataset: str | None, samples_key: str = "") -> int:
    """The sample index geometry.compare.TYPICAL_RULE picks among the first TYPICAL_POOL held-out images."""
    a, b = (model(name) for name in names)
    samples = cache.sample_set(a.input_shape, dataset)
    if samples.labels is None:
        return 0
    n = min(TYPICAL_POOL, len(samples.images))
    return typical_image(a, b, torch.from_numpy(samples.images[:n]), samples.labels[:n])


@st.cache_data(max_entries=16, show_spinner="Classifying the planes…")
def planes(names: tuple[str, str], image_key: str, _image: np.ndarray, _comparison: ImageComparison, *,
           seed: int = 0, clip: bool = False) -> dict[str, tuple[CrossSection, CrossSection]]:
    """Each model's normal × random plane at a common extent, and the shared plane under both models.

    The common extent is EXTENT_PER_DISTANCE (3) × the larger of the two DeepFool distances, so the farther
    boundary is in view in both planes. Rows index b, columns a.
    """
    models = [model(n) for n in names]
    extent = EXTENT_PER_DISTANCE * max(_comparison.a.distance, _comparison.b.distance)
    own = []
    for m in models:
        p = normal_plane(m, _image, seed=seed)
        own.append(cross_section(m, p, extent=extent, resolution=RESOLUTION, clip=clip))
    shared = shared_plane(_comparison, _image, seed=seed)
    both = tuple(cross_section(m, shared, extent=extent, resolution=RESOLUTION, clip=clip) for m in models)
    return {"own": (own[0], own[1]), "shared": (both[0], both[1])}


@ui.cached_with_progress(max_entries=8, show_spinner=False)
def batch(names: tuple[str, str], dataset: str | None, n: int, detection: bool, samples_key: str = "",
          _progress: Progress = None) -> BatchComparison:
    """Both models over the first n held-out images of model a's data set (or of the uploaded data set:
    `samples_key`, state.sample_set_key, keys the cache by it)."""
    a, b = (model(name) for name in names)
    samples = cache.sample_set(a.input_shape, dataset)
    x = torch.from_numpy(samples.images[:n])
    return compare_batch(a, b, x, detection=detection, progress=_progress)
