"""Figure pieces every view uses: an image, a signed perturbation map, a top-k probability bar."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

FONT = dict(family="Inter, Helvetica, Arial, sans-serif", size=13)
LEAN_KEYS = ("x", "y", "z", "customdata", "base", "width")


def lean(values):
    """An array as the browser needs it: float64 as float32 (7 significant digits; every hover and axis here
    shows at most 4) and booleans as uint8, so a figure's typed arrays weigh half or an eighth as much. Other
    values (lists, text, ints: plotly already sends ints in the smallest type that holds them) pass through."""
    if isinstance(values, np.ndarray):
        if values.dtype == np.float64:
            return values.astype(np.float32)
        if values.dtype == np.bool_:
            return values.astype(np.uint8)
    return values


def slim(fig: go.Figure) -> go.Figure:
    """lean() every data array of every trace (x, y, z, customdata, …): the figure draws the same; its float64
    arrays go to the browser at half their bytes (arrays already float32, like the images, are unchanged)."""
    for trace in fig.data:
        for key in LEAN_KEYS:
            value = getattr(trace, key, None) if key in trace else None
            if isinstance(value, np.ndarray) and value.dtype in (np.float64, np.bool_):
                trace[key] = lean(value)
    return fig


def base_layout(fig: go.Figure, *, height: int, title: str | None = None) -> go.Figure:
    """Height, tight margins, the app's font and a centred title: the frame every figure shares."""
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10), font=FONT,
                      title=dict(text=title, x=0.5, xanchor="center") if title else None)
    return slim(fig)


def _check_image(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[0] not in (1, 3):
        raise ValueError(f"expected an image (C, H, W) with C in (1, 3), got shape {img.shape}")
    return img


def image_trace(img: np.ndarray) -> go.BaseTraceType:
    """An image (C, H, W) in [0, 1] as a trace: grayscale heatmap or RGB go.Image."""
    img = _check_image(img)
    if img.shape[0] == 1:
        return go.Heatmap(z=img[0], colorscale="gray", zmin=0, zmax=1, showscale=False,
                          hovertemplate="x %{x}, y %{y}: %{z:.3f}<extra></extra>")
    rgb = np.clip(np.round(img.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)
    return go.Image(z=rgb, hovertemplate="x %{x}, y %{y}<extra></extra>")


def _image_axes(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    """Hide the axes of an image cell and keep its pixels square (a subplot's y anchors to its own x)."""
    # The cell's own axis objects, updated directly: fig.update_xaxes(row=, col=) searches every subplot's
    # axes on each call (quadratic in the cells of an 8- or 10-image figure). Same layout either way.
    if row is None:
        xaxis, yaxis = fig.layout.xaxis, fig.layout.yaxis
    else:
        cell = fig.get_subplot(row, col)
        xaxis, yaxis = cell.xaxis, cell.yaxis
    anchor = xaxis.plotly_name.replace("axis", "")
    xaxis.update(visible=False, constrain="domain")
    yaxis.update(visible=False, autorange="reversed", scaleanchor=anchor, constrain="domain")


def image_figure(img: np.ndarray, *, title: str | None = None, height: int = 300) -> go.Figure:
    """One image (C, H, W) in [0, 1]."""
    fig = go.Figure(image_trace(img))
    _image_axes(fig)
    return base_layout(fig, height=height, title=title)


def signed_trace(delta: np.ndarray) -> go.Heatmap:
    """A perturbation (C, H, W) summed over channels, on a symmetric red-blue scale."""
    delta = _check_image(delta)
    m = delta.sum(axis=0)
    vmax = float(np.abs(m).max()) or 1.0
    return go.Heatmap(z=m, colorscale="RdBu_r", zmin=-vmax, zmax=vmax, showscale=False,
                      hovertemplate="x %{x}, y %{y}: %{z:.4f}<extra></extra>")


def signed_image_figure(delta: np.ndarray, *, title: str | None = None, height: int = 300) -> go.Figure:
    fig = go.Figure(signed_trace(delta))
    _image_axes(fig)
    return base_layout(fig, height=height, title=title)


def probability_bar(probs: np.ndarray, class_names: Sequence[str], *, k: int = 5,
                    highlight: int | None = None, title: str | None = None, height: int = 260) -> go.Figure:
    """Horizontal bars of the top-k class probabilities, most likely on top."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 1 or len(probs) != len(class_names):
        raise ValueError(f"{len(class_names)} class names for probabilities of shape {probs.shape}")
    top = np.argsort(probs)[::-1][: min(k, len(probs))][::-1]
    colors = ["#d62728" if i == highlight else "#1f77b4" for i in top]
    fig = go.Figure(go.Bar(x=probs[top], y=[f"{class_names[i]} " for i in top], orientation="h",
                           marker_color=colors, text=[f"{p:.1%}" for p in probs[top]],
                           # inside long bars, after short ones: "auto" dropped labels that fitted neither way
                           textposition=["inside" if p >= 0.2 else "outside" for p in probs[top]],
                           cliponaxis=False, hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title="probability")
    fig.update_yaxes(type="category")  # digit names like "8" must not become a numeric axis
    return base_layout(fig, height=height, title=title)
