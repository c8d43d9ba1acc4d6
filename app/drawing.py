"""The sidebar's "Draw" image source for 1-channel models: a canvas (streamlit-drawable-canvas), white on
black like the training digits, fitted like MNIST by geometry.drawing."""

from __future__ import annotations

import numpy as np
import streamlit as st

import geometry as g
from geometry.drawing import fit_drawing

from . import state

K_CANVAS, K_WIDTH = "draw_canvas", "draw_stroke"


def _canvas():
    """st_canvas, or None where the component cannot run (not installed, or no Streamlit server: AppTest)."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # noqa: BLE001 - the component registers itself at import and needs a running server
        return None
    return st_canvas


def pick(model: g.Classifier) -> tuple[np.ndarray, str, int | None, tuple[str, ...]] | None:
    """Draw an image; returns (image, key, None, notes) like the other sources, or None until something is drawn."""
    canvas = _canvas()
    if canvas is None:
        st.info("The drawing canvas (streamlit-drawable-canvas) is not available here: pick a sample or upload.")
        return None
    width = st.slider("stroke width", 6, 40, 20, key=K_WIDTH)
    result = canvas(stroke_width=width, stroke_color="#ffffff", background_color="#000000", height=252,
                    width=252, drawing_mode="freedraw", return_image_data=True, key=K_CANVAS)
    pixels = result.image_data if result is not None else None
    if pixels is None or not np.asarray(pixels)[..., :3].any():
        st.info("Draw a digit above (white on black, like the training images); the trash icon clears it.")
        return None
    try:
        fitted = fit_drawing(np.asarray(pixels), model.input_shape)
    except g.AtlasError as error:
        st.info(str(error))
        return None
    img = fitted.tensor[0].numpy()
    return img, state.array_key(img), None, ("your drawing", *fitted.notes)
