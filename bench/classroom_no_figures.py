"""The app with every figure left out (the floor of what a tour walk costs the browser in this framework), or
with only the figures that are images left out (what drawing images as plain pictures could save at most).

    streamlit run bench/classroom_no_figures.py -- APP_DIR/app/streamlit_app.py [none|charts]

`python -m bench.classroom --figures none` (or `charts`) serves this. A figure left out draws a one-line caption
instead (and answers a click map as if nothing were selected); everything else runs as in the app (the
sidebar's small st.image of the chosen sample included: it is not a Plotly figure), so the browser's CPU per
walk measured against "none" is what Streamlit itself costs: the page, the widgets, the reruns. "charts" keeps
the charts (cross-sections, spectra, probability curves, planes) and leaves out every figure whose traces are
all small heatmaps (images of at most 64 rows) or bars. No part of the app imports this file.
"""

from __future__ import annotations

import runpy
import sys
from types import SimpleNamespace

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

NO_SELECTION = SimpleNamespace(selection=SimpleNamespace(points=[]))
IMAGE_ROWS = 64  # a heatmap of at most this many rows is an image (28 × 28 digits), not a cross-section map


def is_image_figure(fig) -> bool:
    """Whether every trace of a figure is an image-sized heatmap or a bar (Detection's per-class bars)."""
    traces = getattr(fig, "data", None)
    if not traces:
        return False
    return all(t.type == "bar" or (t.type == "heatmap" and t.z is not None and len(t.z) <= IMAGE_ROWS)
               for t in traces)


def install(leave_out: str) -> None:
    """Replace st.plotly_chart: "none" leaves out every figure, "charts" only the image figures."""
    # Streamlit runs this file again on every rerun: wrap Streamlit's own method, never our earlier wrapper.
    draw = DeltaGenerator.__dict__.get("_atlas_plotly_chart") or DeltaGenerator.plotly_chart
    DeltaGenerator._atlas_plotly_chart = draw  # type: ignore[attr-defined]

    def chart(self: DeltaGenerator, figure_or_data=None, *args, **kwargs):
        if leave_out == "none" or is_image_figure(figure_or_data):
            self.caption("(figure left out: the classroom bench's measurement)")
            return NO_SELECTION
        return draw(self, figure_or_data, *args, **kwargs)

    DeltaGenerator.plotly_chart = chart  # type: ignore[method-assign]
    st.plotly_chart = lambda *a, **k: chart(st._main, *a, **k)  # st.* writes where `with` points, as st does


if __name__ == "__main__":
    install(sys.argv[2] if len(sys.argv) > 2 else "none")
    runpy.run_path(sys.argv[1], run_name="__main__")
