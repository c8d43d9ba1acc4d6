"""2-D toy view: the whole input plane coloured by class with the boundary F = 0, a point's DeepFool arrow,
normal and osculating circle (docs/paper_notes.md §5, curvature in 2-D), and a connecting path (docs/paper_notes.md §3).

Pure builders from arrays and geometry result dataclasses; no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from geometry.paths import ConnectingPath
from geometry.spectrum import CurvatureSpectrum

from .common import FONT

REGION_COLORS = ("#c6dbef", "#fdd0a2")  # light blue: class 0 (upper moon), light orange: class 1 (lower moon)
DATA_COLORS = ("#2171b5", "#d94801")
BOUNDARY_NAME = "decision boundary (F = 0)"
CLICK_TRACE = "click grid"
ARROW_COLOR, NORMAL_COLOR, CIRCLE_COLOR = "#000000", "#6a51a3", "#238b45"
PATH_COLOR, LINE_COLOR = "#d62728", "#525252"
NORMAL_LENGTH = 0.4  # drawn length of the unit normal, in input units
FLAT = 1e-3  # |κ| below this: the osculating circle (radius > 1000) is drawn as the tangent line
KEEP = dict(marker=dict(opacity=1))  # marks stay opaque when Streamlit dims unselected points


def osculating_circle(z: np.ndarray, normal: np.ndarray, kappa: float, n_points: int = 241
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """The circle of radius 1/|κ| tangent to the boundary at z: (points (P, 2), centre (2,)); None when flat.

    The centre is z − n/κ, n the unit normal pointing out of x's region: on x's side when κ > 0 (the boundary
    curves around x's region, like a disc around it), on the far side when κ < 0.
    """
    if not abs(kappa) > FLAT:
        return None
    z, n = np.asarray(z, dtype=float), np.asarray(normal, dtype=float)
    centre = z - n / kappa
    angle = np.linspace(0, 2 * np.pi, n_points)
    pts = centre + np.stack([np.cos(angle), np.sin(angle)], 1) / abs(kappa)
    return pts, centre


def class_map_figure(xs: np.ndarray, ys: np.ndarray, decision: np.ndarray, class_names: Sequence[str], *,
                     data: tuple[np.ndarray, np.ndarray] | None = None, click_step: int = 0,
                     height: int = 520, title: str | None = None) -> go.Figure:
    """The plane coloured by predicted class (F > 0: class 1) with the boundary contour F = 0.

    Args:
        xs, ys: (G,) grid coordinates; decision: (G, G) F = f_1 − f_0, row i at ys[i].
        data: optional (points (N, 2), labels (N,)) drawn as dots in darker class colours.
        click_step: > 0 adds nearly invisible markers on every click_step-th grid point (Streamlit reports
            clicks on scatter points only, not on heatmaps).
    """
    labels = (decision > 0).astype(float)
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=labels, zmin=0, zmax=1, showscale=False, hoverinfo="skip",
                               colorscale=[[0, REGION_COLORS[0]], [0.5, REGION_COLORS[0]],
                                           [0.5, REGION_COLORS[1]], [1, REGION_COLORS[1]]]))
    if decision.min() < 0 < decision.max():
        fig.add_trace(go.Contour(x=xs, y=ys, z=decision, showscale=False, name=BOUNDARY_NAME, hoverinfo="skip",
                                 contours=dict(start=0, end=0, size=1, coloring="none"),
                                 line=dict(color="black", width=2.5)))
    for k, name in enumerate(class_names[:2]):  # legend swatches for the two regions
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"region of {name}",
                                 marker=dict(symbol="square", size=12, color=REGION_COLORS[k],
                                             line=dict(color="#555", width=1))))
    if data is not None:
        fig.add_traces(_data_traces(*data, class_names))
    if click_step > 0:
        fig.add_trace(_click_grid(xs, ys, decision, class_names, click_step))
    return _plane_layout(fig, xs, ys, height, title)


def _data_traces(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> list[go.Scatter]:
    return [go.Scatter(x=points[labels == k, 0], y=points[labels == k, 1], mode="markers",
                       name=f"training data: {name}", hoverinfo="skip",
                       marker=dict(size=4, color=DATA_COLORS[k], opacity=0.6))
            for k, name in enumerate(class_names[:2])]


def _click_grid(xs: np.ndarray, ys: np.ndarray, decision: np.ndarray, class_names: Sequence[str],
                step: int) -> go.Scatter:
    gx, gy = np.meshgrid(xs[::step], ys[::step])
    f = decision[::step, ::step].ravel()
    names = np.asarray(class_names[:2], dtype=object)[(f > 0).astype(int)]
    return go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", name=CLICK_TRACE, showlegend=False,
                      marker=dict(size=9, color="rgba(0,0,0,0)", symbol="square", line=dict(width=0)),
                      text=names, customdata=f,
                      hovertemplate="(%{x:.2f}, %{y:.2f}): %{text}, F = %{customdata:.2f}<extra></extra>")


def _plane_layout(fig: go.Figure, xs: np.ndarray, ys: np.ndarray, height: int, title: str | None) -> go.Figure:
    fig.update_xaxes(title="x₁", range=[xs[0], xs[-1]], constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(title="x₂", range=[ys[0], ys[-1]], scaleanchor="x", constrain="domain", showgrid=False,
                     zeroline=False)
    fig.update_layout(height=height, font=FONT, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=dict(text=title, x=0.0, xanchor="left") if title else None,
                      legend=dict(orientation="h", yanchor="top", y=-0.14))
    return fig


def mark(xy: np.ndarray, name: str, symbol: str, color: str, text: str = "", edge: str = "white",
          position: str = "top left") -> go.Scatter:
    """One labelled point (a scatter trace that stays opaque when Streamlit dims unselected points)."""
    return go.Scatter(x=[float(xy[0])], y=[float(xy[1])], mode="markers+text", name=name, text=[text],
                      textposition=position, unselected=KEEP,
                      marker=dict(symbol=symbol, size=12, color=color, line=dict(color=edge, width=1.5)),
                      hovertemplate=f"{name}: (%{{x:.3f}}, %{{y:.3f}})<extra></extra>")


def add_boundary_point(fig: go.Figure, spec: CurvatureSpectrum, *, normal_length: float = NORMAL_LENGTH
                       ) -> go.Figure:
    """Overlay x, the DeepFool arrow r(x) to z, the normal at z and the osculating circle (2-D spectrum)."""
    x, z, n = (np.asarray(a, dtype=float).reshape(2) for a in (spec.x, spec.point, spec.normal))
    kappa = float(spec.eigenvalues[0])
    circle = osculating_circle(z, n, kappa)
    if circle is None:  # flat: the tangent line
        t = np.asarray(spec.eigenvectors[0], dtype=float).reshape(2)
        pts = z + np.outer([-10, 10], t)
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines", name="tangent (κ ≈ 0)",
                                 line=dict(color=CIRCLE_COLOR, width=2, dash="dot"), hoverinfo="skip"))
    else:
        pts, centre = circle
        fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="lines", hoverinfo="skip",
                                 name=f"osculating circle, radius 1/|κ| = {1 / abs(kappa):.3g}",
                                 line=dict(color=CIRCLE_COLOR, width=2, dash="dot")))
        fig.add_trace(mark(centre, "centre of curvature", "cross", CIRCLE_COLOR))
    fig.add_trace(go.Scatter(x=[x[0], z[0]], y=[x[1], z[1]], mode="lines", name="r(x) (DeepFool)",
                             line=dict(color=ARROW_COLOR, width=2.5), hoverinfo="skip"))
    tip = z + normal_length * n
    fig.add_trace(go.Scatter(x=[z[0], tip[0]], y=[z[1], tip[1]], mode="lines", name="normal n at z",
                             line=dict(color=NORMAL_COLOR, width=2.5), hoverinfo="skip"))
    for start, end, color in ((x, z, ARROW_COLOR), (z, tip, NORMAL_COLOR)):
        fig.add_annotation(x=end[0], y=end[1], ax=start[0], ay=start[1], xref="x", yref="y", axref="x",
                           ayref="y", showarrow=True, arrowhead=3, arrowsize=1.3, arrowwidth=2.5,
                           arrowcolor=color, text="")
    fig.add_trace(mark(x, "x", "circle", "black", "x"))
    fig.add_trace(mark(z, "z = x + r(x)", "diamond", "white", "z", edge="black"))
    return fig


def add_path(fig: go.Figure, path: ConnectingPath) -> go.Figure:
    """Overlay the straight segment x1 → x2 (its points outside the region marked) and the found polyline."""
    a = np.asarray(path.anchors, dtype=float).reshape(-1, 2)
    x1, x2 = a[0], a[-1]
    fig.add_trace(go.Scatter(x=[x1[0], x2[0]], y=[x1[1], x2[1]], mode="lines", name="straight segment",
                             line=dict(color=LINE_COLOR, width=2, dash="dash"), hoverinfo="skip"))
    runs = outside_runs(path.line_t, path.line_inside)
    if runs:
        pts = [p for t0, t1 in runs for p in (x1 + t0 * (x2 - x1), x1 + t1 * (x2 - x1), (None, None))]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", hoverinfo="skip",
                                 name="where the segment leaves the region",
                                 line=dict(color="rgba(37,37,37,0.55)", width=7)))
    fig.add_trace(go.Scatter(x=a[:, 0], y=a[:, 1], mode="lines+markers", name="connecting path",
                             line=dict(color=PATH_COLOR, width=3), marker=dict(size=7), unselected=KEEP,
                             hovertemplate="anchor (%{x:.3f}, %{y:.3f})<extra></extra>"))
    fig.add_trace(mark(x1, "x1", "circle", "black", "x1", position="bottom center"))
    fig.add_trace(mark(x2, "x2", "circle", "black", "x2", position="bottom center"))
    return fig


def focus(fig: go.Figure, centre: np.ndarray, half_width: float, bounds: tuple[float, float]) -> go.Figure:
    """Zoom the plane to the square centre ± half_width, kept inside the input bounds."""
    lo, hi = bounds
    half = min(half_width, (hi - lo) / 2)
    c = np.clip(np.asarray(centre, dtype=float).reshape(2), lo + half, hi - half)
    fig.update_xaxes(range=[c[0] - half, c[0] + half])
    fig.update_yaxes(range=[c[1] - half, c[1] + half])
    return fig


def window(points: np.ndarray, *, margin: float = 0.1, least: float = 0.6, most: float = 3.0
           ) -> tuple[np.ndarray, float]:
    """The square (centre, half width) around points (M, 2), with a margin, half width in [least, most]."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (lo + hi) / 2, float(np.clip(0.5 * np.max(hi - lo) + margin, least, most))


def point_window(spec: CurvatureSpectrum, *, extra: Sequence[np.ndarray] = (), normal_length: float = NORMAL_LENGTH,
                 max_radius: float = 1.5) -> tuple[np.ndarray, float]:
    """A square (centre, half width) holding x, z, the normal's tip, `extra` points (2,) and the osculating
    circle when its radius is at most max_radius."""
    x, z, n = (np.asarray(a, dtype=float).reshape(2) for a in (spec.x, spec.point, spec.normal))
    pts = [x, z, z + normal_length * n, *(np.asarray(e, dtype=float).reshape(2) for e in extra)]
    kappa = float(spec.eigenvalues[0])
    if abs(kappa) > 1 / max_radius:
        centre, r = z - n / kappa, 1 / abs(kappa)
        pts += [centre - r, centre + r]  # corners of the circle's bounding box
    return window(np.array(pts), margin=0.15)


def outside_runs(t: np.ndarray, inside: np.ndarray) -> list[tuple[float, float]]:
    """Maximal runs [t0, t1] of consecutive checked points (sorted t) that are outside the region."""
    t, out = np.asarray(t, dtype=float), ~np.asarray(inside, dtype=bool)
    order = np.argsort(t, kind="stable")
    t, out = t[order], out[order]
    edges = np.diff(np.concatenate([[0], out.astype(int), [0]]))  # +1 where a run starts, -1 after it ends
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1
    return [(float(t[i]), float(t[j])) for i, j in zip(starts, ends, strict=True)]
