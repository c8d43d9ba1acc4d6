"""Built figures shared by every session and every rerun.

A figure with many cells costs the server tens of milliseconds to build with plotly (an 8-image strip: about
60 ms, against 3 ms to serialise it), and a class opens the same views on the same defaults: building each
distinct figure once serves every student (and every rerun that leaves a figure's inputs alone).
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.caching.cache_errors import UnhashableParamError


# 64 figures: a tour walk has about 25 distinct ones. Most are tens of kB; a cross-section with its hover arrays
# holds about 1.5 MB of Python objects at 200 × 200 and 2.7 MB at the largest grid, 300 × 300 (tracemalloc), so
# the cache stays under about 170 MB even if it held nothing else. Figures that change with every click or
# slider position are built by their pages directly, not here.
@st.cache_resource(max_entries=64, show_spinner=False)
def _built(name: str, args: tuple, kwargs: dict, _builder: Callable[..., go.Figure]) -> go.Figure:
    return _builder(*args, **kwargs)


def figure(builder: Callable[..., go.Figure], *args, **kwargs) -> go.Figure:
    """builder(*args, **kwargs), built once per distinct input (hashed by value) for all sessions. The figure
    is shared: draw or export it, never change it (Streamlit copies a figure before sending it). Inputs that
    cannot be hashed (a torch tensor, say) build the figure afresh instead."""
    code = builder.__code__  # a builder edited while the server runs (file watcher on) is a new one
    name = f"{builder.__module__}.{builder.__qualname__}:{hash((code.co_code, code.co_consts))}"
    try:
        return _built(name, args, kwargs, builder)
    except UnhashableParamError:
        return builder(*args, **kwargs)
