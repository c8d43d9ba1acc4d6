"""The only st.cache_* wrappers: models are shared resources, results are cached data keyed by
(model key, image key, parameters). Unhashable arguments carry a leading underscore and a key beside them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

import geometry as g
import geometry.provenance  # noqa: F401 - g.provenance below
from app import state
from geometry.deepfool import BoundaryArrays
from geometry.user_data import LoadedSet, load_image_set


@st.cache_resource(max_entries=4, show_spinner="Loading model…")
def load_model(spec: str, data_key: str = "", _data: bytes | None = None, card_json: str = "") -> g.Classifier:
    """A model by spec (geometry.load_model); an upload's bytes come as `_data`, named by `data_key`; a file:
    model's card as JSON text. Shared by every session: never mutate it."""
    return g.load_model(spec, card=card_json.encode() if card_json else None, data=_data)


@st.cache_resource(max_entries=4, show_spinner=False)
def model_fingerprint(model_key: str, _model: g.Classifier) -> str:
    """The weights' hash, once per model (hashing a large net's weights takes a second)."""
    return g.provenance.model_fingerprint(_model)


@st.cache_data(max_entries=32, show_spinner=False)
def provenance(model_key: str, image_key: str, _model: g.Classifier, _image: np.ndarray | None) -> dict:
    """What every export records: model name and weight hash, image hash, device, versions, cache keys."""
    out = g.provenance.provenance(_model, model_sha256=model_fingerprint(model_key, _model), image=_image)
    return {**out, "model_key": model_key, "image_key": image_key}


@st.cache_data(max_entries=8, show_spinner=False)
def fitted_upload(file_id: str, input_shape: tuple[int, ...], _data: bytes) -> g.FittedImage:
    """An uploaded image decoded and fitted once per upload (file_id) and model input shape."""
    return g.load_upload(_data, input_shape)


def sample_set(input_shape: tuple[int, ...], dataset: str | None = None) -> g.SampleSet:
    """The sample set of every view: the data set uploaded in the sidebar when there is one (fitted to this
    input shape), else the shipped set for the model's data set and input shape."""
    up = state.user_dataset()
    if up is not None:
        return user_sample_set(up.file_id, tuple(input_shape), up.class_names, _upload=up.upload).samples
    return shipped_sample_set(tuple(input_shape), dataset)


@st.cache_data(max_entries=16, show_spinner=False)
def shipped_sample_set(input_shape: tuple[int, ...], dataset: str | None = None) -> g.SampleSet:
    return g.samples_for(input_shape, dataset)


@st.cache_data(max_entries=4, show_spinner="Reading the data set…")
def user_sample_set(file_id: str, input_shape: tuple[int, ...], class_names: tuple[str, ...] | None,
                    _upload) -> LoadedSet:
    """An uploaded .npz / .zip data set, decoded and fitted once per upload (file_id) and input shape."""
    return load_image_set(_upload.getvalue(), input_shape, name=_upload.name, class_names=class_names)


@st.cache_data(max_entries=64, show_spinner=False)
def probabilities(model_key: str, image_key: str, _model: g.Classifier, _image: np.ndarray) -> np.ndarray:
    """Class probabilities of one image. (L,)"""
    return _model.probabilities(torch.from_numpy(_image)[None])[0].cpu().numpy()


@st.cache_data(max_entries=64, show_spinner=False)
def deepfool(model_key: str, image_key: str, _model: g.Classifier, _image: np.ndarray, *,
             overshoot: float = 0.02, max_iter: int = 50, candidates: int = 10) -> BoundaryArrays:
    """DeepFool on one image: BoundaryPoint.to_numpy() of a batch of one (read-only arrays)."""
    bp = g.deepfool(_model, torch.from_numpy(_image)[None], overshoot=overshoot, max_iter=max_iter,
                    candidates=candidates)
    return bp.to_numpy()
