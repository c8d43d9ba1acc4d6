"""geometry.drawing: canvas pixels -> MNIST-like input (bounding box to 20 px, centre of mass in the middle)."""

from __future__ import annotations

import numpy as np
import pytest

import geometry as g
from geometry.drawing import fit_drawing


def _canvas(draw) -> np.ndarray:
    c = np.zeros((280, 280, 4), np.uint8)
    c[..., 3] = 255
    draw(c)
    return c


def test_a_stroke_is_scaled_into_the_20_pixel_box_and_centred():
    def bar(c):
        c[20:120, 200:220, :3] = 255  # a vertical bar in the top-right corner
    x = fit_drawing(_canvas(bar), (1, 28, 28)).tensor[0, 0].numpy()
    assert x.shape == (28, 28) and 0 <= x.min() and x.max() <= 1
    rows = np.flatnonzero(x.max(1) > 0.1)
    assert 18 <= rows[-1] - rows[0] + 1 <= 21  # the taller side fills the 20-pixel box
    cy, cx = (np.arange(28) @ x.sum(1)) / x.sum(), (np.arange(28) @ x.sum(0)) / x.sum()
    assert abs(cy - 14) < 1.0 and abs(cx - 14) < 1.0  # centre of mass in the middle, not in the corner


def test_a_drawn_digit_is_read_by_the_embedded_model(relu_cnn, digits):
    """A held-out "0" blown up to canvas size and drawn back keeps its label."""
    from PIL import Image
    zero = digits.images[int(np.flatnonzero(digits.labels == 0)[0])][0]
    big = np.asarray(Image.fromarray(np.round(zero * 255).astype(np.uint8)).resize((280, 280)))
    canvas = np.dstack([big, big, big, np.full_like(big, 255)])
    x = fit_drawing(canvas, relu_cnn.input_shape).tensor
    assert int(relu_cnn.predict(x)[0]) == 0


def test_empty_canvas_and_colour_models_are_refused():
    with pytest.raises(g.AtlasError, match="nothing is drawn"):
        fit_drawing(_canvas(lambda c: None), (1, 28, 28))
    with pytest.raises(g.AtlasError, match="1-channel"):
        fit_drawing(_canvas(lambda c: None), (3, 224, 224))
