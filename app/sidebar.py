"""The shared sidebar: pick a model and an image. Every page reads the result through app.state."""

from __future__ import annotations

import numpy as np
import streamlit as st

import geometry as g

from . import cache, drawing, state, user_sources

TORCHVISION = "torchvision (ImageNet)"
CHECKPOINT = "torchvision + your checkpoint"
MODEL_FILE = "your model file"
UPLOAD_LIMIT_MB = g.images.MAX_UPLOAD_BYTES // 2**20


@st.cache_data(show_spinner=False)
def _image_models() -> dict[str, str]:
    """Embedded models that take images (the 2-D toy has its own view), with their sidebar labels."""
    labels = {}
    for name in g.list_embedded():
        card = g.loading.read_card(name)
        if len(card["input_shape"]) == 3:
            acc = card.get("test_accuracy", card.get("heldout_accuracy"))
            labels[name] = f"embedded{f', {acc:.1%} test accuracy' if acc else ''}"
    return labels


def _model_label(choice: str) -> str:
    """The name alone: the sidebar's select box cuts longer labels (details go in the caption below)."""
    return "your torchvision checkpoint" if choice == CHECKPOINT else choice


def _pick_model() -> tuple[g.Classifier, str] | None:
    choices = [*_image_models(), TORCHVISION, CHECKPOINT, MODEL_FILE]
    st.session_state.setdefault(state.MODEL_CHOICE, state.EMBEDDED_DEFAULT)
    choice = st.selectbox("Model", choices, key=state.MODEL_CHOICE, format_func=_model_label)
    args: tuple[str, str, bytes | None] | tuple[str, str, bytes, str] | None  # cache.load_model's arguments
    if choice in (TORCHVISION, CHECKPOINT):
        arch = st.selectbox("Architecture", g.TORCHVISION_ARCHS, key=state.TV_ARCH)
    if choice == TORCHVISION:
        weights = st.radio("Weights", ["pretrained", "random"], key=state.TV_WEIGHTS, horizontal=True,
                           help="Pretrained weights must be in the torch hub cache when offline; random "
                                "weights are for trying the tool and timing.")
        args = (f"tv:{arch}" + (":random" if weights == "random" else ""), "", None)
    elif choice == CHECKPOINT:
        up = st.file_uploader("Checkpoint (.safetensors, .pt, .pth)", type=["safetensors", "pt", "pth"],
                              key=state.CKPT_UPLOAD, help="A state_dict; pickled code is refused.",
                              max_upload_size=g.loading.MAX_CHECKPOINT_BYTES >> 20)
        if up is None:
            st.info("Upload a checkpoint for the chosen architecture.")
            return None
        # Streamlit's file_id names this upload: no need to hash up to a GiB on every rerun.
        args = (f"tv:{arch}:{up.name}", up.file_id, up.getvalue())
    elif choice == MODEL_FILE:
        args = user_sources.model_file_args()
        if args is None:
            return None
    else:
        args = (str(choice), "", None)  # an embedded model's name
    try:
        model = cache.load_model(*args)
    except g.AtlasError as error:
        st.error(str(error))
        return None
    return model, "|".join(args[:2])


def _pick_image(model: g.Classifier) -> tuple[np.ndarray, str, int | None, tuple[str, ...]] | None:
    sources = ["Sample", "Upload"] + (["Draw"] if model.input_shape[0] == 1 else [])  # drawing: 1-channel
    if st.session_state.get(state.IMAGE_SOURCE) not in (None, *sources):
        st.session_state[state.IMAGE_SOURCE] = "Sample"  # "Draw" chosen before a switch to a colour model
    source = st.radio("Image source", sources, key=state.IMAGE_SOURCE, horizontal=True)
    if source == "Draw":
        return drawing.pick(model)
    if source == "Upload":
        # The widget states the limit itself ("Limit 20MB per file"); without max_upload_size it would show
        # the server-wide cap raised for checkpoints (1 GB).
        up = st.file_uploader("PNG or JPEG", type=["png", "jpg", "jpeg"], key=state.UPLOAD,
                              max_upload_size=UPLOAD_LIMIT_MB)
        if up is None:
            st.info("Upload an image, or switch to a sample.")
            return None
        try:
            fitted = cache.fitted_upload(up.file_id, model.input_shape, up.getvalue())
        except g.AtlasError as error:
            st.error(str(error))
            return None
        img = fitted.tensor[0].numpy()
        return img, state.array_key(img), None, (f"uploaded {up.name}", *fitted.notes)
    try:
        samples = cache.sample_set(model.input_shape, model.card.dataset)
    except g.AtlasError as error:
        st.error(str(error))
        return None
    n = len(samples.names)
    _restore_sample(state.sample_set_key(model), n, samples.names)
    i = st.number_input(f"Sample (0–{n - 1})", min_value=0, max_value=n - 1, step=1, key=state.SAMPLE_INDEX)
    label = None if samples.labels is None else int(samples.labels[i])
    return samples.images[i], state.array_key(samples.images[i]), label, (samples.names[i],)


def _restore_sample(set_key: str, n: int, names) -> None:
    """Put this sample set's own chosen index into the sample widget, so the image never changes silently.

    Streamlit drops a widget's state whenever a run does not draw it (an upload as the source, a model that
    failed to load), and another model may bring another sample set: each set keeps its last choice.
    """
    chosen = st.session_state.setdefault(state.SAMPLE_BY_SET, {})
    last = st.session_state.get(state.SAMPLE_SET)
    widget = st.session_state.get(state.SAMPLE_INDEX)
    if widget is not None and last == set_key:
        if int(widget) != chosen.get(set_key):
            st.session_state[state.USER_PICKED] = True  # views stop opening on their own examples
        chosen[set_key] = int(widget)  # the user's latest choice in this set
    pending = st.session_state.pop(state.PENDING_SAMPLE, None)  # from a shared link, a tour step, an example
    if pending is not None:
        if 0 <= pending < n:
            chosen[set_key] = pending
        else:  # never wrap around to another image
            st.warning(f"Sample #{pending} does not exist in this sample set (0–{n - 1}): kept the current one.")
    seen = set_key in chosen
    i = chosen.setdefault(set_key, state.DEFAULT_SAMPLE_INDEX if n > state.DEFAULT_SAMPLE_INDEX else 0)
    if last is not None and last != set_key:
        how = "the one last chosen in it" if seen else "its default"
        st.caption(f"This model uses another sample set: showing its sample #{i} ({names[i]}), {how}.")
    st.session_state[state.SAMPLE_INDEX] = i
    st.session_state[state.SAMPLE_SET] = set_key


def render() -> None:
    """Draw the sidebar and store the Selection (or None) in session state."""
    st.session_state[state.SELECTION] = None
    st.session_state[state.USER_DATA] = None  # set again below while a readable data set is uploaded
    with st.sidebar:
        st.subheader("Model")
        picked = _pick_model()
        if picked is None:
            return
        model, model_key = picked
        origin = _image_models().get(model.name)
        st.caption(f"**{model.name}**{f' ({origin})' if origin else ''}: "
                   f"{model.card.description or model.name} · input {model.input_shape} · "
                   f"device **{model.device.type.upper()}**")
        if ":random" in model_key:
            st.warning("Random weights: this model's predictions are meaningless. Use it to try the views and "
                       "time them, not to learn about trained networks.", icon=":material/warning:")
        st.subheader("Image")
        user_sources.data_set(model)
        data = state.user_dataset()
        if data is not None:  # every result that reads the sample set must see the change
            model_key += f"|data:{data.file_id}"
        image = _pick_image(model)
        if image is None:
            return
        img, image_key, label, notes = image
        st.image(np.clip(img.transpose(1, 2, 0), 0, 1), caption=notes[0], width=140, clamp=True)
        for note in notes[1:]:
            st.caption(f"Note: {note}")
    st.session_state[state.SELECTION] = state.Selection(
        model=model, model_key=model_key, image=img, image_key=image_key, image_name=notes[0],
        true_label=label, notes=notes)
