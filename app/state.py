"""Session-state keys and the current selection (model + image) that every page shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from geometry import Classifier
from geometry.provenance import array_fingerprint

# Session-state keys (widget keys of the shared sidebar, plus derived values).
MODEL_CHOICE = "model_choice"
TV_ARCH = "tv_arch"
TV_WEIGHTS = "tv_weights"
IMAGE_SOURCE = "image_source"
SAMPLE_INDEX = "sample_index"
UPLOAD = "upload"
CKPT_UPLOAD = "ckpt_upload"
SELECTION = "selection"

# Cache keys of arrays are the content hashes that exports record (one hasher for both).
array_key = array_fingerprint

EMBEDDED_DEFAULT = "mnist-relu-cnn"
DEFAULT_SAMPLE_INDEX = 2  # a clearly drawn, correctly classified "0"


@dataclass(frozen=True)
class Selection:
    """The model and image the user picked in the sidebar. Keys are stable strings for st.cache_data."""

    model: Classifier
    model_key: str
    image: np.ndarray  # (C, H, W) float32 in [0, 1]
    image_key: str
    image_name: str
    true_label: int | None
    notes: tuple[str, ...]

    @property
    def device(self) -> str:
        return str(self.model.device)


def current() -> Selection | None:
    """The sidebar's selection, or None when the sidebar could not load a model or image."""
    return st.session_state.get(SELECTION)


def require() -> Selection:
    """The current selection; stops the page with a message when there is none."""
    sel = current()
    if sel is None:
        st.info("Pick a model and an image in the sidebar; if one could not be used, the sidebar says why.")
        st.stop()
    return sel
