"""Cached wrappers of the connecting-paths view: results keyed by (model key, image keys, parameters); the
fitted UMAP reducer is a cached resource (it is slow to pickle), keyed by (model key, features, seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import streamlit as st
import torch

from app import ui
from geometry import Classifier
from geometry.datamap import DataMap, fit_datamap, project
from geometry.path_plane import PathPlane, path_plane
from geometry.path_table import PathTable, path_table
from geometry.paths import ConnectingPath, PathConfig, connecting_path

Progress = Callable[[float], None] | None


@st.cache_data(max_entries=16, show_spinner=False)
def predictions(model_key: str, samples_key: str, _model: Classifier, _images: np.ndarray) -> np.ndarray:
    """Predicted labels of a sample set. (N,)"""
    return _model.predict(torch.from_numpy(_images)).cpu().numpy()


@ui.cached_with_progress(max_entries=32, show_spinner=False)
def path(model_key: str, key1: str, key2: str, config: dict, _model: Classifier, _x1: np.ndarray,
         _x2: np.ndarray, _progress: Progress = None) -> ConnectingPath:
    """The connecting path between two images (C, H, W)."""
    return connecting_path(_model, torch.from_numpy(_x1), torch.from_numpy(_x2), config=PathConfig(**config),
                           progress=_progress)


@st.cache_data(max_entries=32, show_spinner=False)
def plane(model_key: str, key1: str, key2: str, config: dict, resolution: int, _model: Classifier,
          _path: ConnectingPath) -> PathPlane:
    """Class map of the plane through the path's ends and its farthest anchor."""
    return path_plane(_model, _path, resolution=resolution)


@ui.cached_with_progress(max_entries=8, show_spinner=False)
def table(model_key: str, samples_key: str, n_same: int, n_adversarial: int, seed: int, config: dict,
          _model: Classifier, _images: np.ndarray, _progress: Progress = None) -> PathTable:
    """The batch table over random pairs of the sample set."""
    return path_table(_model, torch.from_numpy(_images), n_same=n_same, n_adversarial=n_adversarial,
                      config=PathConfig(**config), seed=seed, progress=_progress)


@ui.cached_with_progress(resource=True, max_entries=4, show_spinner=False)
def datamap(model_key: str, samples_key: str, kind: str, seed: int, _model: Classifier, _images: np.ndarray,
            _labels: np.ndarray | None = None, _progress: Progress = None) -> DataMap:
    """UMAP of the sample set (n_neighbors=15). Shared by every session: never mutated."""
    return fit_datamap(_model, torch.from_numpy(_images), kind=kind, labels=_labels, seed=seed,  # type: ignore[arg-type]
                       progress=_progress)


@st.cache_data(max_entries=64, show_spinner=False)
def projection(model_key: str, samples_key: str, kind: str, seed: int, points_key: str, _datamap: DataMap,
               _model: Classifier, _points: np.ndarray) -> np.ndarray:
    """Points (M, C, H, W) projected onto the data map. (M, 2)"""
    return project(_datamap, _model, torch.from_numpy(_points))


def config_dict(config: PathConfig) -> dict:
    return asdict(config)
