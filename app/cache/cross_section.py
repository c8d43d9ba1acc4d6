"""Cached computations of the cross-section view, keyed by (model key, image key, parameters), and exports.

The grid is cached, not the figure, so display options (contour levels, click grid) only rebuild the figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Literal, cast

import numpy as np
import streamlit as st
import torch

import geometry as g
from app import cache, ui
from geometry.cross_section import CrossSection, cross_section
from geometry.plane_curvature import PlaneCurvature, plane_curvature
from geometry.planes import Plane, curvature_plane, normal_plane, random_plane, three_point_plane
from geometry.profiles import Profile, line_profile
from geometry.spectrum import CurvatureSpectrum, curvature_spectrum

KINDS = ("normal × random", "random × random", "normal × curvature", "three images")


@st.cache_data(max_entries=16, show_spinner="Computing principal-curvature directions (Lanczos)…")
def curvature_directions(model_key: str, image_key: str, _model: g.Classifier, _image: np.ndarray,
                         _deepfool: g.BoundaryPoint | None = None) -> CurvatureSpectrum:
    """The two most positive and two most negative principal curvatures at x's boundary point (Lanczos, k = 2).

    `_deepfool`: the page's DeepFool result for the image (so DeepFool does not run again); it is a function
    of (model_key, image_key), which key the cache. Which direction to show is picked outside, by `pick`.
    """
    return curvature_spectrum(_model, torch.from_numpy(_image), solver="lanczos", k=2, max_steps=40,
                              boundary=_deepfool)


def pick(spec: CurvatureSpectrum, which: str = "largest |κ|") -> tuple[np.ndarray, float]:
    """The direction (*S) and curvature chosen by `which`: "most positive", "most negative" or "largest |κ|"."""
    i = {"most positive": 0, "most negative": len(spec.eigenvalues) - 1}.get(
        which, int(np.argmax(np.abs(spec.eigenvalues))))
    return spec.eigenvectors[i], float(spec.eigenvalues[i])


@st.cache_data(max_entries=32, show_spinner=False)
def plane(model_key: str, image_key: str, _model: g.Classifier, _image: np.ndarray, kind: str, seed: int,
          others: tuple[int, int] = (0, 1), curvature: str = "largest |κ|") -> Plane:
    """The plane of the given kind through the image (the sample indices `others` for "three images")."""
    bp = cache.deepfool(model_key, image_key, _model, _image).to_tensors()
    if kind == "normal × random":
        return normal_plane(_model, _image, seed=seed, boundary=bp)
    if kind == "random × random":
        return random_plane(_model, _image, seed=seed, boundary=bp)
    if kind == "normal × curvature":
        direction, kappa = pick(curvature_directions(model_key, image_key, _model, _image, bp), curvature)
        p = curvature_plane(_model, _image, direction, boundary=bp)
        return replace(p, note=f"v = principal direction with curvature κ = {kappa:.4g} ({curvature}) "
                               "at z = x + r(x), made orthogonal to r(x); from Lanczos with at most 40 steps, "
                               "so |κ| can come out a few % below the Curvature view's full spectrum")
    if kind == "three images":
        samples = cache.sample_set(_model.input_shape, _model.card.dataset)
        n = len(samples.images)
        i, j = (int(k) for k in others)
        if not (0 <= i < n and 0 <= j < n):  # no silent wrap-around to another image
            raise g.AtlasError(f"sample numbers must be between 0 and {n - 1} (got {i} and {j})")
        if i == j or any(np.array_equal(samples.images[k], _image) for k in (i, j)):
            raise g.AtlasError("the three images must be different: pick two other samples than x and "
                               "each other")
        return three_point_plane(_image, samples.images[i], samples.images[j],
                                 names=("x", samples.names[i], samples.names[j]))
    raise g.AtlasError(f"unknown plane kind {kind!r}; choose one of {', '.join(KINDS)}")


@ui.cached_with_progress(max_entries=32, show_spinner=False)
def section(model_key: str, image_key: str, plane_key: tuple, _model: g.Classifier, _plane: Plane, *,
            extent: float, resolution: int, method: str, clip: bool, ref_class: int | None,
            _progress: Callable[[float], None] | None = None) -> CrossSection:
    """The cross-section grid. `plane_key` stands for the plane (kind, seed, ...) in the cache key."""
    grid = cast(Literal["dense", "adaptive"], method)  # the page's radio offers exactly these two
    return cross_section(_model, _plane, extent=extent, resolution=resolution, method=grid, clip=clip,
                         ref_class=ref_class, progress=_progress)


@st.cache_data(max_entries=32, show_spinner=False)
def curvature(model_key: str, image_key: str, plane_key: tuple, _model: g.Classifier, _plane: Plane, *,
              clip: bool) -> PlaneCurvature:
    """The boundary curve's curvature in the plane, by bisection on the model (not on the grid)."""
    return plane_curvature(_model, _plane, clip=clip)


@st.cache_data(max_entries=32, show_spinner=False)
def profiles(model_key: str, image_key: str, plane_key: tuple, _model: g.Classifier, _plane: Plane, *,
             extent: float, clip: bool, ref_class: int | None) -> tuple[Profile, Profile]:
    """F along u and along v through x (201 points each; 61 for large inputs such as 224×224 photos)."""
    points = 201 if _model.dim <= 20_000 else 61
    u, v = (line_profile(_model, _plane, axis, extent=extent, points=points, clip=clip, ref_class=ref_class)
            for axis in ("u", "v"))
    return u, v


def point_detail(model: g.Classifier, plane: Plane, a: float, b: float, clip: bool
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The input at plane point (a, b) (clipped when the grid was) and its class probabilities."""
    pt = torch.as_tensor(plane.point(a, b), dtype=model.dtype)[None]
    if clip:
        pt = model.clip(pt)
    return pt[0].float().cpu().numpy(), model.probabilities(pt)[0].cpu().numpy()
