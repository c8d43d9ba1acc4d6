"""Cached reproduce report for the Findings page, keyed by model key, sample-set key, image range and params."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

import geometry as g
from app import ui
from geometry.reproduce import ReproduceConfig, reproduce


@ui.cached_with_progress(max_entries=8, show_spinner=False)
def report(model_key: str, set_key: str, start: int, n: int, claims: tuple[str, ...], config: ReproduceConfig,
           _model: g.Classifier, _images: np.ndarray, _progress: Callable[[float], None] | None = None) -> dict:
    """The report's JSON dict (Reproduction.to_dict) for images start..start+n of the sample set."""
    x = torch.from_numpy(np.ascontiguousarray(_images[start : start + n]))
    rep = reproduce(_model, x, images=f"{set_key}[{start}:{start + len(x)}]", config=config, claims=claims,
                    progress=_progress)
    return rep.to_dict()


@st.cache_data(max_entries=8, show_spinner="Writing the HTML report…")
def report_html(model_key: str, set_key: str, start: int, n: int, claims: tuple[str, ...], config: ReproduceConfig,
                _report: dict) -> str:
    """The self-contained HTML page (about 5 MB with plotly.js inlined), built once per report."""
    from app.figures.report import report_html as build
    return build(_report)
