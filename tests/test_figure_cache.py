"""app/cache/figures.py: a figure is built once per distinct input and shared; other inputs build anew."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from app.cache.figures import figure

CALLS: list[tuple] = []


def _bars(values, *, title: str = "") -> go.Figure:
    CALLS.append((np.asarray(values).tolist(), title))
    return go.Figure(go.Bar(y=np.asarray(values)), layout=dict(title=title))


def test_the_same_inputs_share_one_built_figure_and_other_inputs_build_their_own():
    CALLS.clear()
    a = figure(_bars, np.array([1.0, 2.0]), title="t")
    b = figure(_bars, np.array([1.0, 2.0]), title="t")  # equal values, another array object
    assert a is b and len(CALLS) == 1
    c = figure(_bars, np.array([1.0, 3.0]), title="t")
    d = figure(_bars, np.array([1.0, 2.0]), title="u")
    assert len(CALLS) == 3 and c is not a and d is not a
    assert list(c.data[0].y) == [1.0, 3.0] and d.layout.title.text == "u"


def test_inputs_that_cannot_be_hashed_build_the_figure_each_time():
    CALLS.clear()
    values = torch.tensor([1.0, 2.0])
    first, second = figure(_bars, values), figure(_bars, values)
    assert len(CALLS) == 2 and first is not second
    assert list(first.data[0].y) == [1.0, 2.0]
