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
SAMPLE_BY_SET = "sample_by_set"  # {sample-set key: chosen index}: the choice survives model switches
SAMPLE_SET = "sample_set"  # the sample set the sidebar drew last
PENDING_SAMPLE = "pending_sample"  # a sample index the sidebar applies on its next run (links, tour, examples)
USER_PICKED = "user_picked"  # the user chose an image: views no longer open on their own examples
MODEL_FILE_UPLOAD = "model_file_upload"  # "your model file": the model, its card, the card form's result
CARD_UPLOAD = "card_upload"
CARD_JSON = "card_json"
DATA_UPLOAD = "data_upload"  # "your data set" (.npz / .zip)
USER_DATA = "user_data"  # the UserDataset the sidebar accepted this run, or None

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


def sample_set_key(model: Classifier) -> str:
    """Which sample set a model draws from (its data set and input shape, or the uploaded data set)."""
    up = user_dataset()
    return f"{model.card.dataset}{tuple(model.input_shape)}" + (f"|upload:{up.file_id}" if up else "")


@dataclass(frozen=True)
class UserDataset:
    """The data set uploaded in the sidebar: it replaces the shipped sample set in every view."""

    file_id: str
    name: str
    class_names: tuple[str, ...] | None  # the model's, to read labels from class-folder names
    upload: object  # Streamlit's UploadedFile (read only on a cache miss)


def user_dataset() -> UserDataset | None:
    return st.session_state.get(USER_DATA)


def choose_sample(model: Classifier, index: int) -> None:
    """Select sample `index` of the model's sample set. Call it from a widget callback (before the sidebar)."""
    st.session_state.setdefault(SAMPLE_BY_SET, {})[sample_set_key(model)] = int(index)
    st.session_state[SAMPLE_INDEX] = int(index)
    st.session_state[SAMPLE_SET] = sample_set_key(model)
    st.session_state[IMAGE_SOURCE] = "Sample"


PENDING = "pending_settings"  # widget values to set at the start of the next run, before any widget exists


def request(settings: dict, *, sample: int | None = None) -> None:
    """Ask for widget values (and a sample) on the next run: safe from page code, after the widgets exist.

    The caller reruns (st.rerun, or a button's own rerun); app.streamlit_app applies them first thing.
    """
    st.session_state.setdefault(PENDING, {}).update(settings)
    if sample is not None:
        st.session_state[PENDING_SAMPLE] = int(sample)
        st.session_state[PENDING][IMAGE_SOURCE] = "Sample"


def apply_pending() -> None:
    """Set the requested widget values; called by the entry script before the sidebar and the page."""
    for key, value in st.session_state.pop(PENDING, {}).items():
        st.session_state[key] = value


# One run-state helper for the pages' "show results only for the run that was asked for" pattern: `name`
# is a session-state key, `key` names the run (model, image, settings); a stored value belongs to its key.
def remember(name: str, key, value=None):
    """Store `value` as the result of run `key` under `name` (replacing any other run's); returns value."""
    st.session_state[name] = (key, value)
    return value


def recall(name: str, key, default=None):
    """The value remembered under `name` for run `key`, or `default` when none is, or another run's is."""
    saved = st.session_state.get(name)
    return saved[1] if saved is not None and saved[0] == key else default


def requested(name: str, key, pressed: bool = False) -> bool:
    """Whether run `key` was asked for: now (`pressed`, remembered) or on an earlier rerun with the same
    key. A change of model, image or settings changes the key, so the old request no longer counts."""
    if pressed:
        remember(name, key)
    saved = st.session_state.get(name)
    return saved is not None and saved[0] == key


def forget(name: str) -> None:
    st.session_state.pop(name, None)
