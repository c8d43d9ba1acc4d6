"""Cached wrappers of the curvature view (docs/paper_notes.md §5): spectra, SLQ densities, (direction, normal)
planes and the subspace experiment, keyed by (model key, image key, frozen config), the planes by content hashes
of their arrays. The model and arrays ride along as `_` arguments.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

from app import estimates, ui
from app.state import array_key
from geometry import Classifier
from geometry.cross_section import CrossSection, cross_section
from geometry.images import SampleSet
from geometry.planes import Plane, orthonormalize
from geometry.profile import CurvatureProfile, curvature_profile
from geometry.spectrum import CurvatureSpectrum, curvature_spectrum, spectral_density
from geometry.vulnerability import SubspaceExperiment, subspace_experiment

Progress = Callable[[float], None] | None


def _spectrum_kwargs(config: dict) -> dict:
    keys = ("target", "at", "method", "h", "solver", "k")
    return {key: config[key] for key in keys if key in config}


@ui.cached_with_progress(max_entries=32, show_spinner=False)
def spectrum(model_key: str, image_key: str, config: dict, _model: Classifier, _image: np.ndarray,
             _progress: Progress = None) -> CurvatureSpectrum:
    """curvature_spectrum of one image (C, H, W) with config keys target, at, method, h, solver, k.
    Large inputs: Lanczos stops after estimates.lanczos_steps(k) steps (a few extreme curvatures, fast)."""
    kw = _spectrum_kwargs(config)
    if estimates.is_large(_model) and kw.get("solver", "auto") != "full":
        kw["max_steps"] = estimates.lanczos_steps(kw.get("k", 10))
    return curvature_spectrum(_model, torch.from_numpy(_image), progress=_progress, **kw)


@ui.cached_with_progress(max_entries=16, show_spinner=False)
def h_sweep(model_key: str, image_key: str, config: dict, steps: tuple[float, ...], _model: Classifier,
            _image: np.ndarray, _progress: Progress = None) -> dict[str, CurvatureSpectrum]:
    """Spectra for several finite-difference steps h, labelled "h = …"."""
    out = {}
    for i, h in enumerate(steps):
        cb = None if _progress is None else (lambda f, i=i: _progress((i + f) / len(steps)))
        cfg = {**_spectrum_kwargs(config), "h": float(h)}
        x = torch.from_numpy(_image)
        out[f"h = {h:g}"] = curvature_spectrum(_model, x, progress=cb, **cfg)
    return out


@ui.cached_with_progress(max_entries=16, show_spinner=False)
def density(model_key: str, image_key: str, config: dict, probes: int, steps: int, _model: Classifier,
            _image: np.ndarray, _progress: Progress = None) -> dict:
    """SLQ density of the curvature operator (nodes, weights, n_hvp)."""
    kw = {key: config[key] for key in ("target", "at", "method", "h") if key in config}
    return spectral_density(_model, torch.from_numpy(_image), n_probes=probes, steps=steps,
                            progress=_progress, **kw)


def plane(model_key: str, model: Classifier, point: np.ndarray, direction: np.ndarray, normal: np.ndarray, *,
          extent: float, resolution: int, ref_class: int, kind: str) -> CrossSection:
    """The class map of the plane point + a·u + b·n, u = direction made orthogonal to the unit normal n.

    The same mechanism as the cross-sections view (geometry.planes + geometry.cross_section: adaptive grid,
    the true plane, not clipped to the pixel range), cached on content hashes of the point, the direction and
    the normal, so a new eigenvector (another solver, k or h) is never served an old map. Rows index b, columns a.
    """
    arrays = [np.asarray(a, dtype=np.float32) for a in (point, direction, normal)]
    key = tuple(array_key(a) for a in arrays)
    return _section(model_key, key, float(extent), int(resolution), int(ref_class), kind, model, *arrays)


@st.cache_data(max_entries=32, show_spinner=False)
def _section(model_key: str, key: tuple[str, ...], extent: float, resolution: int, ref_class: int,
             kind: str, _model: Classifier, _point: np.ndarray, _direction: np.ndarray, _normal: np.ndarray
             ) -> CrossSection:
    n, u = orthonormalize(_normal, _direction)  # n stays the unit normal; u its in-plane complement
    p = Plane(origin=_point.astype(np.float64), u=u, v=n, kind=kind, marks={"z": (0.0, 0.0)},
              default_extent=extent)
    return cross_section(_model, p, extent=extent, resolution=resolution, ref_class=ref_class)


@ui.cached_with_progress(max_entries=8, show_spinner=False)
def subspace(model_key: str, image_key: str, config: dict, dims: tuple[int, ...], _model: Classifier,
             _tests: np.ndarray, _references: np.ndarray, _progress: Progress = None) -> SubspaceExperiment:
    """subspace_experiment: test images (the current one first) against a shared S from reference images."""
    kw = {key: config[key] for key in ("method", "h", "solver", "k") if key in config}
    return subspace_experiment(_model, torch.from_numpy(_tests), reference=torch.from_numpy(_references),
                               dims=dims, max_iter=30, progress=_progress, **kw)


@ui.cached_with_progress(max_entries=8, show_spinner=False)
def dataset_profile(model_key: str, set_key: str, n: int, config: dict, _model: Classifier, _samples: SampleSet,
                    _progress: Progress = None) -> CurvatureProfile:
    """curvature_profile over the first n images of a sample set (named by `set_key`), with the page's HVP
    method, step h, solver and k."""
    kw = {key: config[key] for key in ("method", "h", "solver", "k") if key in config}
    return curvature_profile(_model, torch.from_numpy(_samples.images[:n]), progress=_progress, **kw)
