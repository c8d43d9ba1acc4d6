"""app/cache/figures.py: a figure is built once per distinct input and shared; other inputs build anew."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

from app.cache.figures import _built, figure

CALLS: list[tuple] = []


def _bars(values, *, title: str = "") -> go.Figure:
    CALLS.append((np.asarray(values).tolist(), title))
    return go.Figure(go.Bar(y=np.asarray(values)), layout=dict(title=title))


def test_the_same_inputs_share_one_built_figure_and_other_inputs_build_their_own():
    CALLS.clear()
    _built.clear()  # a figure built by an earlier run of this test in the same process
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


def test_an_edited_builder_is_not_served_the_figures_of_its_old_code():
    """A builder edited while the server runs (file watcher on) keeps its name but not its code."""
    def old():
        return go.Figure(go.Bar(y=[1.0]))

    def new():
        return go.Figure(go.Bar(y=[2.0]))

    new.__qualname__ = old.__qualname__
    assert list(figure(old).data[0].y) == [1.0] and list(figure(new).data[0].y) == [2.0]
