"""Connecting-paths view: class probability along the straight line and the path, a strip of images along
the path, the path on the plane through x1, x2 and its farthest anchor, and the UMAP data map.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geometry.path_plane import PathPlane
from geometry.paths import ConnectingPath

from .common import _image_axes, base_layout, image_trace

PATH_COLOR = "#d62728"
LINE_COLOR = "#7f7f7f"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def probability_figure(path: ConnectingPath, class_names: Sequence[str], *, height: int = 320) -> go.Figure:
    """p(k) along the straight segment (by fraction t) and along the path (by arc-length fraction s)."""
    name = class_names[path.label]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=path.line_t, y=path.line_prob, mode="lines", name="straight line",
                             line=dict(color=LINE_COLOR, dash="dash"),
                             hovertemplate="t %{x:.3f}: p %{y:.3f}<extra>straight line</extra>"))
    fig.add_trace(go.Scatter(x=path.path_s, y=path.path_prob, mode="lines", name="found path",
                             line=dict(color=PATH_COLOR, width=2.5),
                             hovertemplate="s %{x:.3f}: p %{y:.3f}<extra>path</extra>"))
    out = ~path.line_inside
    if out.any():
        fig.add_trace(go.Scatter(x=path.line_t[out], y=path.line_prob[out], mode="markers",
                                 name=f"line point not labelled {name}", marker=dict(color="black", size=5)))
    bad = ~path.path_inside
    if bad.any():
        fig.add_trace(go.Scatter(x=path.path_s[bad], y=path.path_prob[bad], mode="markers",
                                 name=f"path point not labelled {name}",
                                 marker=dict(color=PATH_COLOR, size=8, symbol="x")))
    fig.update_xaxes(title="position along the curve (fraction of its length)", range=[0, 1])
    fig.update_yaxes(title=f"probability of {name}", range=[0, 1.02])
    fig.update_layout(legend=dict(orientation="h", y=-0.25))
    return base_layout(fig, height=height, title=f"Probability of class {name} along the straight line and the path")


def strip_figure(frames: np.ndarray, s: np.ndarray, probs: np.ndarray | None = None, *,
                 height: int = 200) -> go.Figure:
    """A row of images (n, C, H, W) along the path, titled with their arc-length fraction (and p(k))."""
    frames = np.asarray(frames)
    if frames.ndim != 4:
        raise ValueError(f"expected frames (n, C, H, W), got shape {frames.shape}")
    titles = [f"s={si:.2f}" + ("" if probs is None else f"<br>p={pi:.2f}")  # two short lines: never clipped
              for si, pi in zip(s, probs if probs is not None else s, strict=True)]
    fig = make_subplots(rows=1, cols=len(frames), subplot_titles=titles, horizontal_spacing=0.01)
    for i, img in enumerate(frames, start=1):
        fig.add_trace(image_trace(img), row=1, col=i)
        _image_axes(fig, row=1, col=i)  # square pixels: each y axis anchors to its own x
    fig.update_annotations(font=dict(size=11))
    base_layout(fig, height=height)
    fig.update_layout(margin=dict(t=45))  # room for the two-line titles above the images
    return fig  # base_layout has slimmed it


def plane_figure(plane: PathPlane, class_names: Sequence[str], *, height: int = 420) -> go.Figure:
    """The class-k region (shaded) on the plane through x1, x2 and the farthest anchor, with both curves."""
    name = class_names[plane.label]
    fig = go.Figure(go.Heatmap(x=plane.u, y=plane.v, z=plane.inside.astype(np.uint8), zmin=0, zmax=1,
                               colorscale=[[0, "#f2f2f2"], [1, "#c6dbef"]], showscale=False,
                               customdata=plane.prob,
                               hovertemplate="u %{x:.3f}, v %{y:.3f}: p(" + name + ") %{customdata:.3f}"
                                             "<extra></extra>"))
    fig.add_trace(go.Contour(x=plane.u, y=plane.v, z=plane.inside.astype(np.uint8), showscale=False,
                             contours=dict(start=0.5, end=0.5, coloring="none"), line=dict(color="#08519c"),
                             hoverinfo="skip", name="boundary of " + name))
    uv = plane.anchors_uv
    fig.add_trace(go.Scatter(x=[uv[0, 0], uv[-1, 0]], y=[uv[0, 1], uv[-1, 1]], mode="lines",
                             line=dict(color=LINE_COLOR, dash="dash"), name="straight line"))
    fig.add_trace(go.Scatter(x=uv[:, 0], y=uv[:, 1], mode="lines+markers", name="path (projected)",
                             line=dict(color=PATH_COLOR, width=2.5), marker=dict(size=5),
                             customdata=plane.off_plane,
                             hovertemplate="anchor: off the plane by %{customdata:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=uv[[0, -1], 0], y=uv[[0, -1], 1], mode="markers+text", text=["x1", "x2"],
                             textposition="top center", marker=dict(color="black", size=10), name="ends"))
    fig.update_xaxes(title="along x2 − x1")
    fig.update_yaxes(title="towards the farthest anchor", scaleanchor="x")
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    fig = base_layout(fig, height=height, title=f"Region of {name} (blue): plane of x1, x2, farthest anchor")
    fig.update_layout(title=dict(x=0.0, xanchor="left"))  # keep clear of the toolbar on the right
    return fig  # base_layout has slimmed it


def datamap_figure(embedding: np.ndarray, predicted: np.ndarray, class_names: Sequence[str], *,
                   marks: Mapping[str, np.ndarray] | None = None, path_xy: np.ndarray | None = None,
                   height: int = 520) -> go.Figure:
    """UMAP scatter coloured by predicted class; each sample carries its index in customdata (for picking).

    marks: name -> (M, 2) points drawn on top (chosen images, adversarial examples); path_xy: (P, 2) line.
    """
    fig = go.Figure()
    for c in np.unique(predicted):
        idx = np.nonzero(predicted == c)[0]
        fig.add_trace(go.Scattergl(x=embedding[idx, 0], y=embedding[idx, 1], mode="markers",
                                   name=class_names[int(c)], customdata=idx,
                                   marker=dict(size=6, color=PALETTE[int(c) % len(PALETTE)], opacity=0.75),
                                   hovertemplate="sample %{customdata}<extra>%{fullData.name}</extra>"))
    if path_xy is not None and len(path_xy):
        fig.add_trace(go.Scatter(x=path_xy[:, 0], y=path_xy[:, 1], mode="lines+markers", name="path",
                                 line=dict(color="black", width=2), marker=dict(size=4)))
    symbols = ("star", "diamond", "x", "square", "cross")
    for i, (name, xy) in enumerate((marks or {}).items()):
        fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=name,
                                 marker=dict(size=15, symbol=symbols[i % len(symbols)], color="black",
                                             line=dict(color="white", width=1.5))))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(legend=dict(title="predicted"))  # Streamlit sets click-to-select for picking
    return base_layout(fig, height=height)
