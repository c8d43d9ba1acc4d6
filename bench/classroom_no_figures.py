"""The app with every figure left out: the floor of what a tour walk costs the browser in this framework.

    streamlit run bench/classroom_no_figures.py -- APP_DIR/app/streamlit_app.py

`python -m bench.classroom --figures none` serves this. Each st.plotly_chart draws a one-line caption instead of
its figure (and answers a click map as if nothing were selected); everything else runs as in the app (the
sidebar's small st.image of the chosen sample included: it is not a Plotly figure), so the
browser's CPU per walk measured against it is what Streamlit itself costs: the page, the widgets, the reruns.
No part of the app imports this file.
"""

from __future__ import annotations

import runpy
import sys
from types import SimpleNamespace

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

NO_SELECTION = SimpleNamespace(selection=SimpleNamespace(points=[]))


def _no_figure(self: DeltaGenerator, figure_or_data=None, *args, **kwargs):
    self.caption("(figure left out: the classroom bench's floor measurement)")
    return NO_SELECTION


DeltaGenerator.plotly_chart = _no_figure  # type: ignore[method-assign]
st.plotly_chart = lambda *a, **k: _no_figure(st._main, *a, **k)  # st.* writes where `with` points, as st does
runpy.run_path(sys.argv[1], run_name="__main__")
