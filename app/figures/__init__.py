"""Figure builders: result arrays/dataclasses -> plotly Figures. No Streamlit import here, so every
builder is testable without a browser. One module per view; shared pieces live in common.py.
"""

from .common import image_figure, probability_bar, signed_image_figure
from .home import deepfool_figure

__all__ = ["deepfool_figure", "image_figure", "probability_bar", "signed_image_figure"]
