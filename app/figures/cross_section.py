"""Cross-section view: the class map of a plane through x with its boundary, and 1-D profiles of F.

The boundary is drawn as the zero contour of G = f_k̂ − max_{j≠k̂} f_j (k̂ the label of x): unlike
F = f_k − f_k̂, which only knows one neighbouring class, G vanishes on the whole boundary of x's region,
whichever class lies beyond it. Boundaries between two other classes show as colour changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from geometry.cross_section import CrossSection
from geometry.profiles import Profile

from .common import FONT, slim

PALETTE = px.colors.qualitative.Set3 + px.colors.qualitative.Pastel1
MARK_STYLE = {"x": ("circle", "black"), "boundary z": ("x", "black"), "x + r(x)": ("star", "#d62728")}
CLICK_TRACE = "click grid"
KEEP_OPAQUE = dict(marker=dict(opacity=1), textfont=dict(color="black"))  # marks stay legible after a click
HOVER = "a %{x:.3f}, b %{y:.3f}<br>class %{text} (p = %{customdata:.1%})"

TOOLBAR = 40  # px: the height of the toolbar (Plotly's buttons and Streamlit's) over a chart's top right corner


def class_colors(classes: Iterable[int]) -> dict[int, str]:
    """A colour per class present in the map (classes beyond the palette reuse its colours)."""
    return {int(k): PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(set(int(c) for c in classes)))}


def _class_heatmap(cs: CrossSection, names: Sequence[str], colors: dict[int, str], *, hover: bool = True
                   ) -> go.Heatmap:
    """The class map. hover=False: no per-cell hover arrays (the click grid then carries the same hover on
    every cell, so sending them twice would only double the bytes and the browser's work)."""
    present = sorted(colors)
    index = {k: i for i, k in enumerate(present)}
    z = np.vectorize(index.get)(cs.labels)  # (n, n) position in `present`
    m = len(present)
    scale = []
    for i, k in enumerate(present):  # piecewise-constant colour scale: one band per class
        scale += [[i / m, colors[k]], [(i + 1) / m, colors[k]]]
    if not hover:
        return go.Heatmap(x=cs.a, y=cs.b, z=z, zmin=-0.5, zmax=m - 0.5, colorscale=scale, showscale=False,
                          name="class", hoverinfo="skip")
    text = np.asarray(names, dtype=object)[cs.labels]
    return go.Heatmap(x=cs.a, y=cs.b, z=z, zmin=-0.5, zmax=m - 0.5, colorscale=scale, showscale=False,
                      text=text, customdata=cs.confidence, name="class",
                      hovertemplate=HOVER + "<extra></extra>")


def _legend_entries(names: Sequence[str], colors: dict[int, str], label_x: int) -> list[go.Scatter]:
    return [go.Scatter(x=[None], y=[None], mode="markers", name=f"{names[k]}{' (x)' if k == label_x else ''}",
                       marker=dict(symbol="square", size=12, color=c, line=dict(color="#555", width=1)))
            for k, c in colors.items()]


def _contour(cs: CrossSection, values: np.ndarray, *, start: float, end: float, size: float, color: str,
             width: float, dash: str, name: str, labels: bool = False) -> go.Contour:
    levels = dict(coloring="none", start=start, end=end, size=size, showlabels=labels)
    return go.Contour(x=cs.a, y=cs.b, z=values, contours=levels,
                      line=dict(color=color, width=width, dash=dash), showscale=False, name=name,
                      showlegend=True, hoverinfo="skip")


def _marks(cs: CrossSection) -> list[go.Scatter]:
    traces = []
    for name, (a, b) in cs.plane.marks.items():
        symbol, color = MARK_STYLE.get(name, ("diamond", "black"))
        marker = dict(symbol=symbol, size=12, color=color, line=dict(color="white", width=1))
        pos = "bottom center" if name == "x + r(x)" else "top center"
        text = [""] if name == "boundary z" else [name]  # z and x + r(x) nearly coincide: legend names z
        traces.append(go.Scatter(x=[a], y=[b], mode="markers+text", text=text, textposition=pos,
                                 marker=marker, name=name, unselected=KEEP_OPAQUE,
                                 hovertemplate=f"{name}: a %{{x:.3f}}, b %{{y:.3f}}<extra></extra>"))
    return traces


def click_grid(cs: CrossSection, names: Sequence[str], points: int = 40) -> go.Scatter:
    """Nearly invisible markers on a coarser grid: Streamlit reports clicks on scatter points only."""
    n = cs.resolution
    idx = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(int))
    rows, cols = np.meshgrid(idx, idx, indexing="ij")
    lab = cs.labels[rows, cols].ravel()
    return go.Scatter(x=cs.a[cols].ravel(), y=cs.b[rows].ravel(), mode="markers", name=CLICK_TRACE,
                      marker=dict(size=max(4, 560 // len(idx)), color="rgba(0,0,0,0.01)", symbol="square"),
                      text=np.asarray(names, dtype=object)[lab], customdata=cs.confidence[rows, cols].ravel(),
                      hovertemplate=HOVER + "<br>click for the image<extra></extra>", showlegend=False)


def pixel_note(cs: CrossSection) -> str:
    """What the map is with respect to the pixel range: a true plane (and the share of points leaving the
    range) or a clipped, bent one. Empty for an unclipped map whose points all stay within the bounds."""
    if cs.clip:
        return f"clipped to the pixel range: {cs.clipped_fraction:.0%} of the points moved (a bent plane)"
    if cs.outside_fraction > 0:
        return f"true plane: {cs.outside_fraction:.0%} of the points have pixel values outside the range"
    return ""


def cross_section_figure(cs: CrossSection, class_names: Sequence[str], *, f_levels: int = 0,
                         clickable: bool = True, click_points: int = 40, height: int = 620,
                         title: str | None = None) -> go.Figure:
    """The class map of a plane, the boundary of x's region (G = 0), optional F levels, marked points.

    Args:
        cs: a CrossSection. class_names: names of all classes.
        f_levels: number of extra contour levels of F = f_k − f_k̂ on each side of 0 (0: none).
        clickable: add the click grid (a scatter trace) for Streamlit point selection.
        The title carries pixel_note(cs): whether the map is the true plane or a clipped one.
    """
    colors = class_colors(np.unique(cs.labels))
    covered = clickable and cs.resolution <= click_points  # the click grid then sits on every cell
    fig = go.Figure(_class_heatmap(cs, class_names, colors, hover=not covered))
    if cs.G.min() < 0 < cs.G.max():
        fig.add_trace(_contour(cs, cs.G, start=0, end=0, size=1, color="black", width=2.5, dash="solid",
                               name="boundary of x's region (G = 0)"))
    if f_levels > 0:
        span = float(np.abs(cs.F).max()) or 1.0
        step = span / (f_levels + 1)
        fig.add_trace(_contour(cs, cs.F, start=-f_levels * step, end=f_levels * step, size=step, color="#444",
                               width=1, dash="dot", name=f"F = f_{class_names[cs.ref_class]} − "
                               f"f_{class_names[cs.label_x]} levels", labels=True))
    for trace in _legend_entries(class_names, colors, cs.label_x) + _marks(cs):
        fig.add_trace(trace)
    if clickable:
        fig.add_trace(click_grid(cs, class_names, click_points))
    fig.update_xaxes(title="a: coordinate along u (L2)", range=[cs.a[0], cs.a[-1]], constrain="domain")
    fig.update_yaxes(title="b: coordinate along v (L2)", range=[cs.b[0], cs.b[-1]], scaleanchor="x",
                     constrain="domain")
    note = pixel_note(cs)
    if note:
        title = f"{title}<br><sup>{note}</sup>" if title else f"<sup>{note}</sup>"
    # The title starts below the chart's toolbar (zoom, PNG), which would otherwise cover its right end.
    fig.update_layout(height=height, font=FONT,
                      margin=dict(l=10, r=10, t=((60 if note else 40) + TOOLBAR) if title else 10, b=10),
                      title=dict(text=title, x=0.5, xanchor="center", yref="container", y=1, yanchor="top",
                                 pad=dict(t=TOOLBAR)) if title else None,
                      legend=dict(title="class / mark", itemclick=False), clickmode="event+select",
                      hovermode="closest", plot_bgcolor="white")
    return slim(fig)


def profile_figure(profiles: Sequence[Profile], class_names: Sequence[str], *, distance: float | None = None,
                   height: int = 320) -> go.Figure:
    """F = f_k − f_k̂ along u and along v through x (F < 0 on x's side; the boundary with k is F = 0)."""
    fig = go.Figure()
    for prof, color in zip(profiles, ("#1f77b4", "#ff7f0e"), strict=False):
        names = np.asarray(class_names, dtype=object)[prof.labels]
        fig.add_trace(go.Scatter(x=prof.t, y=prof.F, mode="lines", name=f"along {prof.axis}",
                                 line=dict(color=color, width=2), text=names,
                                 hovertemplate=f"{prof.axis}: %{{x:.3f}}<br>F %{{y:.3f}}<br>class %{{text}}"
                                               "<extra></extra>"))
    fig.add_hline(y=0, line=dict(color="black", width=1))
    if distance is not None and np.isfinite(distance):
        fig.add_vline(x=distance, line=dict(color="#d62728", dash="dash"), annotation_text="‖r(x)‖")
    ref, lab = ("k", "k̂") if not profiles else (class_names[profiles[0].ref_class],
                                                 class_names[profiles[0].label_x])
    fig.update_xaxes(title="t: distance from x along the direction (L2)")
    fig.update_yaxes(title=f"F = f_{ref} − f_{lab}")
    fig.update_layout(height=height, font=FONT, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified",
                      legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"))
    return slim(fig)
