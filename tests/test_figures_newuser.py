"""Figure defects a new user met (issue 12, item 8), each checked on hand-made results so it cannot return:
stretched 28×28 images, clipped strip labels, a legend-less planes figure, untitled profile charts and log
axes labelled "1, 2, 5, 10, 2, 5, 100"."""

from __future__ import annotations

import numpy as np

from app.figures import curvature as curv
from app.figures import detection as det
from app.figures import paths as pathfigs
from geometry.vulnerability import SubspaceExperiment
from tests.test_figures_curvature import _spectrum


def _image_cells_are_square(fig) -> list[str]:
    """The y axes of the image cells, each anchored to its own x axis (plotly then keeps pixels square)."""
    heat = [t for t in fig.data if t.type in ("heatmap", "image")]
    out = []
    for t in heat:
        y = fig.layout["yaxis" + t.yaxis[1:]]
        assert y.scaleanchor == t.xaxis, (t.yaxis, y.scaleanchor, t.xaxis)
        out.append(t.yaxis)
    return out


def test_curvature_directions_keep_square_pixels():
    fig = curv.directions_figure(_spectrum(n=15), m=3)
    assert len(_image_cells_are_square(fig)) == 6


def test_detection_versions_keep_square_pixels():
    scores = np.linspace(-1, 1, 10)
    scores[3] = np.nan
    version = {"image": np.zeros((1, 28, 28)), "label": 3, "recovered": 3, "scores": scores, "score": 0.0,
               "flagged": False, "success": True}
    fig = det.versions_figure({"clean": version, "deepfool": version}, [str(i) for i in range(10)])
    assert len(_image_cells_are_square(fig)) == 2


def test_path_strip_labels_have_room():
    frames = np.zeros((8, 1, 28, 28))
    fig = pathfigs.strip_figure(frames, np.linspace(0, 1, 8), np.full(8, 0.9))
    assert all("<br>" in a.text for a in fig.layout.annotations)  # two short lines, not one long one
    assert fig.layout.margin.t >= 40  # above the images: the titles are not cut off at the top
    assert len(_image_cells_are_square(fig)) == 8


def test_planes_figure_has_a_legend():
    t = np.linspace(-1, 1, 5)
    labels = np.where(t[:, None] > 0, 1, 0)
    planes = [dict(title="p", labels=labels, a=t, b=t, label=0, target=1)]
    fig = curv.planes_figure(planes, ["zero", "one"])
    shown = [d.name for d in fig.data if d.showlegend]
    assert shown == ["zero (x's class)", "one (DeepFool's class)", "boundary of x's region", "z = x + r(x)"]


def test_profile_and_density_have_titles():
    s = _spectrum(n=80)
    assert curv.profile_figure({"x": s}).layout.title.text
    assert curv.density_figure(s).layout.title.text


def test_log_axes_label_whole_numbers_only():
    s = _spectrum(n=80)  # > 50 curvatures: a log density axis
    y = curv.density_figure(s).layout.yaxis
    assert y.type == "log" and y.dtick == 1  # one tick per power of ten
    dims = np.array([1, 2, 5, 10, 20, 50, 100, 200])
    ones = np.ones((2, len(dims)))
    exp = SubspaceExperiment(dims=dims, dim=784, ratio_curved=ones * 0.5, ratio_random=ones * 0.1,
                             fooled_curved=ones.astype(bool), fooled_random=np.zeros_like(ones, bool),
                             norm_curved=ones * 1.5, norm_random=ones * 2.0, full_norm=np.ones(2), which="abs",
                             budget=3.0, n_hvp=10, n_forward=5, seconds=1.0)
    x = curv.vulnerability_figure(exp).layout.xaxis
    assert x.type == "log" and list(x.ticktext) == ["1", "2", "5", "10", "20", "50", "100", "200"]


def test_html_figure_export_opens_offline():
    """The exported HTML carries plotly.js itself: no <script src=...> to a CDN, so it is not blank offline."""
    import re

    import plotly.graph_objects as go

    from app.exports import figure_html
    page = figure_html(go.Figure(go.Scatter(x=[0, 1], y=[1, 0])), {"model": "test"})
    assert not re.search(r"<script[^>]*\bsrc=", page) and len(page) > 1_000_000  # the library is inside


def test_every_top5_bar_has_its_percentage_inside_or_after_it():
    """Plotly's textposition "auto" dropped the label of a bar too short to hold it and too crowded after."""
    import numpy as np

    from app.figures.common import probability_bar
    probs = np.array([0.62, 0.3, 0.05, 0.02, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0])
    bar = probability_bar(probs, [str(i) for i in range(10)]).data[0]
    assert len(bar.text) == 5 and all(bar.text) and bar.cliponaxis is False
    assert [pos for pos in bar.textposition] == ["inside" if p >= 0.2 else "outside" for p in bar.x]
