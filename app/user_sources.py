"""The sidebar's "your model file" source (a model upload with its card, uploaded or filled in a form) and
"your data set" upload, which replaces the shipped sample set in every view (through cache.sample_set)."""

from __future__ import annotations

import hashlib

import streamlit as st

import geometry as g
from geometry.model_card import read_card
from geometry.user_data import MAX_DATASET_BYTES

from . import cache, state

MODEL_TYPES = ["pt2", "pt", "pth", "ts", "jit", "safetensors"]
SMOOTH = {"unknown (probed)": None, "smooth (softplus, tanh, …)": True, "not smooth (ReLU, max-pooling)": False}


# --- your model file --------------------------------------------------------------------------------

def model_file_args() -> tuple[str, str, bytes, str] | None:
    """(spec, data key, model bytes, card JSON) for cache.load_model, or None with a message shown."""
    up = st.file_uploader("Model file: TorchScript, torch.export (.pt2) or a checkpoint", type=MODEL_TYPES,
                          key=state.MODEL_FILE_UPLOAD, max_upload_size=g.loading.MAX_CHECKPOINT_BYTES >> 20,
                          help="torch.jit.save, torch.export.save, or a state_dict of a torchvision "
                               "architecture named by the card's \"arch\". Pickled code is refused.")
    card_json = _card()
    if up is None or card_json is None:
        st.info("Upload your model file and give its card (upload one, or fill in the form).")
        return None
    digest = hashlib.sha256(card_json.encode()).hexdigest()[:12]  # the card is part of the model's identity
    return f"file:{up.name}", f"{up.file_id}|card:{digest}", up.getvalue(), card_json


def _card() -> str | None:
    """The model card as canonical JSON: from an uploaded .json, else from the form; None until valid."""
    up = st.file_uploader("Model card (.json)", type=["json"], key=state.CARD_UPLOAD,
                          help="Input shape, channel order, mean/std, class names, smooth: see the form below "
                               "for the fields.")
    if up is not None:
        try:
            return read_card(up.getvalue()).to_json()
        except g.AtlasError as error:
            st.error(str(error))
            return None
    with st.expander("…or fill in the model card", expanded=state.CARD_JSON not in st.session_state):
        _card_form()
        card_json = st.session_state.get(state.CARD_JSON)
        if card_json:
            st.download_button("Download this card (.json)", card_json, file_name="model_card.json",
                               mime="application/json", key="card_download")
    return st.session_state.get(state.CARD_JSON)


def _card_form() -> None:
    with st.form("card_form"):
        name = st.text_input("Name", "my-model", key="card_name")
        c = st.columns(3)
        channels = c[0].selectbox("Channels", [3, 1], key="card_c")
        height = c[1].number_input("Height", 1, 4096, 32, key="card_h")
        width = c[2].number_input("Width", 1, 4096, 32, key="card_w")
        order = st.radio("Channel order", ["RGB", "BGR"], horizontal=True, key="card_order")
        mean = st.text_input("Mean per channel (empty: none)", "", key="card_mean", placeholder="0.49, 0.48, 0.45")
        std = st.text_input("Std per channel (empty: none)", "", key="card_std", placeholder="0.25, 0.24, 0.26")
        classes = st.text_area("Class names, one a line (or the number of classes)", "10", key="card_classes")
        smooth = st.selectbox("Activations", list(SMOOTH), key="card_smooth")
        submitted = st.form_submit_button("Use this card")
    if submitted:
        obj = {"name": name, "input_shape": [int(channels or 3), int(height), int(width)], "channel_order": order,
               "mean": _numbers(mean), "std": _numbers(std), "smooth": SMOOTH[smooth or "unknown (probed)"],
               **_classes(classes)}
        try:
            st.session_state[state.CARD_JSON] = read_card(obj).to_json()
        except g.AtlasError as error:
            st.session_state.pop(state.CARD_JSON, None)
            st.error(str(error))


def _numbers(text: str):
    """"0.5, 0.4" -> [0.5, 0.4]; anything unreadable is passed on as text for the card's own message."""
    if not text.strip():
        return None
    try:
        return [float(t) for t in text.replace(";", ",").split(",") if t.strip()]
    except ValueError:
        return text


def _classes(text: str) -> dict:
    lines = [t.strip() for t in text.splitlines() if t.strip()]
    if len(lines) == 1 and lines[0].isdigit():
        return {"num_classes": int(lines[0])}
    return {"class_names": lines}


# --- your data set -----------------------------------------------------------------------------------

def data_set(model: g.Classifier) -> None:
    """The data-set upload: when it reads, it becomes the sample set of every view (state.USER_DATA)."""
    st.session_state[state.USER_DATA] = None
    up = st.file_uploader("Your data set (.npz or .zip of class folders)", type=["npz", "zip"],
                          key=state.DATA_UPLOAD, max_upload_size=MAX_DATASET_BYTES >> 20,
                          help=".npz: 'images' (N×H×W, N×H×W×C or N×C×H×W; uint8 or floats in [0, 1]) and "
                               "optional 'labels'. .zip: PNG/JPEG images in folders named by class name or "
                               "number. Images are fitted to the model's input with a note.")
    if up is None:
        return
    candidate = state.UserDataset(up.file_id, up.name, tuple(model.class_names), up)
    try:
        loaded = cache.user_sample_set(up.file_id, tuple(model.input_shape), candidate.class_names,
                                       _upload=up)
    except g.AtlasError as error:
        st.error(f"{up.name}: {error}. Using the shipped samples instead.")
        return
    st.session_state[state.USER_DATA] = candidate
    labelled = "with labels" if loaded.samples.labels is not None else "without labels"
    st.caption(f"Samples: **{up.name}**, {len(loaded.samples.names)} images {labelled}.")
    for note in loaded.notes:
        st.caption(f"Note: {note}")

