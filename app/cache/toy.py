"""Cached computations of the 2-D toy view: the class map of the whole plane [-3, 3]², DeepFool and the one
principal curvature at a chosen point, a connecting path, and the regenerated two-moons training data.

The toy model is fixed (the embedded `toy-moons-mlp`), whatever model the sidebar holds. Every computation here
takes milliseconds, so the page runs them on every change without a button.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import streamlit as st
import torch

from app import cache
from geometry import Classifier
from geometry.paths import ConnectingPath, PathConfig, connecting_path
from geometry.spectrum import CurvatureSpectrum, curvature_spectrum
from geometry.toydata import make_moons

MODEL_NAME = "toy-moons-mlp"
# x inside the lower moon's left tip, where the boundary bends visibly; the path's ends sit on the upper moon's
# two tips, so the straight segment between them crosses the lower moon's tip and the path must bend around it.
DEFAULT_X = (0.0, 0.5)
DEFAULT_ENDS = ((-1.2, 0.2), (0.9, 0.2))
LONG_DEEPFOOL = 1000  # DeepFool steps for points deep in a saturated region (the default 50 can run out there)
MOONS_SEED, MOONS_N, MOONS_NOISE = 0, 2000, 0.1  # as assets/make_assets.py make_toy: the exact training set


@dataclass(frozen=True)
class PlaneMap:
    """F = f_1 − f_0 ("lower moon" minus "upper moon") on a square grid of the whole input space. CPU numpy."""

    xs: np.ndarray  # (G,) first coordinate
    ys: np.ndarray  # (G,) second coordinate
    decision: np.ndarray  # (G, G) F at (xs[j], ys[i]) in row i, column j; F > 0 where the label is class 1
    labels: np.ndarray  # (G, G) predicted class


@dataclass(frozen=True)
class ToyPoint:
    """DeepFool and the boundary's curvature for one point x of the plane."""

    spectrum: CurvatureSpectrum  # one eigenvalue in 2-D; point = z, normal, perturbation = z − x
    decision_x: float  # F = f_1 − f_0 at x
    decision_z: float  # F = f_1 − f_0 at z: ≈ 0 on the boundary


def model() -> Classifier:
    """The embedded toy model (a shared cached resource, never mutated)."""
    return cache.load_model(MODEL_NAME)


def decision(m: Classifier, points: np.ndarray) -> np.ndarray:
    """F = f_1 − f_0 at points (N, 2). (N,)"""
    logits = m.logits(torch.as_tensor(np.asarray(points, dtype=np.float32)))
    return (logits[:, 1] - logits[:, 0]).double().cpu().numpy()


@st.cache_data(max_entries=4, show_spinner=False)
def plane(model_name: str, resolution: int, _model: Classifier) -> PlaneMap:
    """The class map of [lo, hi]² at resolution × resolution points (one chunked forward pass)."""
    lo, hi = _model.bounds
    xs = np.linspace(lo, hi, resolution)
    ys = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(xs, ys)  # (G, G): row i is ys[i]
    f = decision(_model, np.stack([gx.ravel(), gy.ravel()], 1)).reshape(resolution, resolution)
    return PlaneMap(xs=xs, ys=ys, decision=f, labels=(f > 0).astype(np.int64))


@st.cache_data(max_entries=64, show_spinner=False)
def point(model_name: str, x0: float, x1: float, _model: Classifier) -> ToyPoint:
    """DeepFool's boundary point z and the principal curvature there (exact HVPs: the tanh net is smooth)."""
    x = torch.tensor([[x0, x1]], dtype=_model.dtype)
    spec = curvature_spectrum(_model, x, at="boundary", solver="full", deepfool_iters=LONG_DEEPFOOL)
    spec = replace(spec, perturbation=spec.point - spec.x)  # drawn as z − x: DeepFool's x + r overshoots z
    fx, fz = decision(_model, np.stack([[x0, x1], spec.point]))
    return ToyPoint(spectrum=spec, decision_x=float(fx), decision_z=float(fz))


@st.cache_data(max_entries=64, show_spinner=False)
def path(model_name: str, a: tuple[float, float], b: tuple[float, float], config: dict,
         _model: Classifier) -> ConnectingPath:
    """The connecting path (paper's Algorithm 1) between two points of the plane."""
    return connecting_path(_model, torch.tensor(a, dtype=_model.dtype), torch.tensor(b, dtype=_model.dtype),
                           config=PathConfig(**config))


@st.cache_data(max_entries=2, show_spinner=False)
def moons(n: int = MOONS_N, noise: float = MOONS_NOISE, seed: int = MOONS_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Two moons (points (n, 2), labels (n,)) drawn as make_assets.py draws the model's training set."""
    return make_moons(n, noise, np.random.default_rng(seed))


def nearest_other(grid: PlaneMap, x: np.ndarray, label: int) -> tuple[np.ndarray, float]:
    """The grid point of the other class nearest to x, and its distance: a brute-force check of DeepFool's
    r(x), accurate to the grid step. ((2,), distance; inf when the grid has no other class)
    """
    gx, gy = np.meshgrid(grid.xs, grid.ys)
    other = grid.labels != label
    if not other.any():
        return np.full(2, np.nan), float("inf")
    pts = np.stack([gx[other], gy[other]], 1)  # (M, 2)
    dist = np.linalg.norm(pts - np.asarray(x, dtype=float).reshape(1, 2), axis=1)
    i = int(np.argmin(dist))
    return pts[i], float(dist[i])


def config_dict(config: PathConfig) -> dict:
    return asdict(config)
