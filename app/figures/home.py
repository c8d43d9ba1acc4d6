"""Home view: the image, its DeepFool perturbation (magnified) and the adversarial image side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .common import FONT, _image_axes, image_trace, signed_trace, slim

if TYPE_CHECKING:
    from geometry.deepfool import BoundaryArrays


def deepfool_figure(result: BoundaryArrays, class_names: Sequence[str], *, height: int = 320
                    ) -> go.Figure:
    """Three panels from DeepFool's arrays for one image (batch of one): x, r(x) magnified, x + r(x)."""
    x, adv, r = result.x[0], result.adversarial[0], result.perturbation[0]
    label, target = int(result.label[0]), int(result.target[0])
    ratio = float(np.linalg.norm(r) / max(np.linalg.norm(x), 1e-12))
    titles = (f"image: {class_names[label]}",
              f"perturbation r(x), magnified (‖r‖/‖x‖ = {ratio:.3f})",
              f"x + r(x): {class_names[target]}" if bool(result.success[0]) else "x + r(x): label unchanged")
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.04)
    for col, trace in enumerate((image_trace(x), signed_trace(r), image_trace(adv)), start=1):
        fig.add_trace(trace, row=1, col=col)
        _image_axes(fig, row=1, col=col)  # square pixels: each y axis anchors to its own x
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), font=FONT)
    return slim(fig)
