"""Heavy computations on large inputs: a time estimate before running and a Cancel button while running.

`run(sel, view, text, fn, **settings)` runs `fn(progress)` under a progress bar. For large inputs
(app/estimates.is_large) the bar's text carries the estimate (one timed forward/backward pass × the view's
pass count) and a Cancel button sits beside it. Clicking Cancel makes Streamlit stop this script run at the
computation's next progress update (a click reruns the page) and remembers the cancellation for this model,
image and settings, so the rerun shows "cancelled" with a button to run it after all instead of starting
again. Nothing partial is cached: st.cache_data stores a result only when its function returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from app import estimates, ui
from geometry.model import Classifier

T = TypeVar("T")


@st.cache_resource(max_entries=8, show_spinner=False)
def unit_seconds(model_key: str, _model: Classifier) -> float:
    """One timed forward/backward pass of one image, once per model (the estimates' unit)."""
    return estimates.unit_seconds(_model)


def _cancel(flag: str, signature: str) -> None:
    st.session_state[flag] = signature


def _resume(flag: str) -> None:
    st.session_state.pop(flag, None)


def estimate_text(sel, view: str, **settings) -> str:
    """'about 12 s (estimated from …)' for this view and settings on the selected model."""
    unit = unit_seconds(sel.model_key, sel.model)
    return estimates.describe(estimates.estimate(view, sel.model, unit, **settings), unit)


def run(sel, view: str, text: str, fn: Callable[[Callable[[float], None]], T], *, cancel: bool = True,
        **settings) -> T:
    """fn(progress) under a progress bar; on large inputs with the estimate and (unless cancel=False, for a
    computation with no progress steps to stop at) a Cancel button."""
    if not estimates.is_large(sel.model):
        update, done = ui.progress_bar(text)
        out = fn(update)
        done()
        return out
    flag = f"heavy_cancelled_{view}"
    signature = json.dumps([sel.model_key, sel.image_key, settings], sort_keys=True, default=str)
    if st.session_state.get(flag) == signature:
        st.warning(f"Cancelled: {text.rstrip('…')}.")
        st.button("Run it after all", key=f"heavy_resume_{view}", on_click=_resume, args=(flag,))
        st.stop()
    update, done = ui.progress_bar(f"{text} {estimate_text(sel, view, **settings)}")
    slot = st.empty()
    if cancel:
        slot.button("Cancel", key=f"heavy_cancel_{view}", on_click=_cancel, args=(flag, signature),
                    help="stops at the computation's next progress step")
    out = fn(update)
    slot.empty()
    done()
    return out


def forget(view: str) -> None:
    """Drop a remembered cancellation (the page's own run button was pressed)."""
    _resume(f"heavy_cancelled_{view}")
