"""Curvature view: the sorted curvature profile (paper Fig. 5b), its density, the extreme curvature directions
as images, the (normal, curved) vs (normal, random) cross-sections, and the subspace (vulnerability) panel.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geometry.profile import CurvatureProfile
from geometry.spectrum import CurvatureSpectrum
from geometry.vulnerability import SubspaceExperiment

from .common import FONT, _image_axes, signed_trace, slim

CURVED, RANDOM, GUIDE = "#d62728", "#1f77b4", "#7f7f7f"
PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def _layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50 if title else 20, b=10), font=FONT,
                      # left-aligned: on a half-width chart a centred title runs under the toolbar (top right)
                      title=dict(text=title, x=0.01, xanchor="left") if title else None)
    return slim(fig)


def spectrum_ranks(s: CurvatureSpectrum) -> np.ndarray:
    """1-based rank of each eigenvalue in the full sorted spectrum of d − 1: all of them for the full solver;
    for Lanczos the top half are the largest (ranks 1..k), the rest the smallest (ranks d−k..d−1)."""
    n = len(s.eigenvalues)
    if s.solver == "full":
        return np.arange(1, n + 1)
    top = (n + 1) // 2
    return np.concatenate([np.arange(1, top + 1), np.arange(s.dim - n + top, s.dim)])


def profile_figure(spectra: Mapping[str, CurvatureSpectrum], *, height: int = 360,
                   title: str | None = "Principal curvatures, sorted") -> go.Figure:
    """Sorted principal curvatures (descending) by rank, one line per labelled spectrum (e.g. per h).

    Lanczos spectra (top-k and bottom-k only) are drawn as markers at their ranks out of d − 1.
    """
    if not spectra:
        raise ValueError("profile_figure needs at least one spectrum")
    fig = go.Figure()
    for i, (name, s) in enumerate(spectra.items()):
        mode = "lines" if s.solver == "full" else "markers"
        fig.add_trace(go.Scatter(x=spectrum_ranks(s), y=np.asarray(s.eigenvalues), name=name, mode=mode,
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=2),
                                 hovertemplate="rank %{x}: κ = %{y:.4g}<extra>" + name + "</extra>"))
    fig.add_hline(y=0, line=dict(color=GUIDE, width=1, dash="dot"))
    fig.update_xaxes(title="rank (most positive first)")
    fig.update_yaxes(title="principal curvature κ")
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return _layout(fig, height, title)


def density_figure(spectrum: CurvatureSpectrum, slq: Mapping[str, np.ndarray] | None = None, *,
                   bins: int = 60, height: int = 360, title: str | None = "Density of the curvatures"
                   ) -> go.Figure:
    """Histogram of the principal curvatures, with the SLQ density estimate (nodes, weights) overlaid."""
    ev = np.asarray(spectrum.eigenvalues)
    fig = go.Figure(go.Histogram(x=ev, nbinsx=bins, histnorm="probability density", name="eigenvalues",
                                 marker_color=RANDOM, opacity=0.6))
    if slq is not None:
        grid, dens = slq_curve(np.asarray(slq["nodes"]), np.asarray(slq["weights"]))
        fig.add_trace(go.Scatter(x=grid, y=dens, name="SLQ density", line=dict(color=CURVED, width=2)))
    fig.update_xaxes(title="principal curvature κ")
    # dtick=1: a tick per power of ten only (plotly's default log ticks read "1, 2, 5, 10, 2, 5, 100").
    fig.update_yaxes(title="density", **(dict(type="log", dtick=1) if len(ev) > 50 else {}))
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), bargap=0.02)
    return _layout(fig, height, title)


def slq_curve(nodes: np.ndarray, weights: np.ndarray, *, points: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """The SLQ quadrature smoothed by a Gaussian kernel whose width is 2% of the node range."""
    lo, hi = float(nodes.min()), float(nodes.max())
    width = max(0.02 * (hi - lo), 1e-12)
    grid = np.linspace(lo - 3 * width, hi + 3 * width, points)
    dens = (weights[None] * np.exp(-0.5 * ((grid[:, None] - nodes[None]) / width) ** 2)).sum(1)
    return grid, dens / (width * np.sqrt(2 * np.pi))


def directions_figure(spectrum: CurvatureSpectrum, *, m: int = 4, height: int = 420) -> go.Figure:
    """The m most positive and m most negative curvature directions as signed images (two rows)."""
    m = max(1, min(m, len(spectrum.eigenvalues) // 2 or 1))
    pos, neg = spectrum.positive_directions(m), spectrum.negative_directions(m)
    ev = spectrum.eigenvalues
    titles = [f"κ = {ev[i]:+.3g}" for i in range(m)] + [f"κ = {ev[-1 - i]:+.3g}" for i in range(m)]
    fig = make_subplots(rows=2, cols=m, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.12)
    for row, dirs in ((1, pos), (2, neg)):
        for j in range(m):
            fig.add_trace(signed_trace(np.asarray(dirs[j]).reshape(_chw(spectrum))), row=row, col=j + 1)
            _image_axes(fig, row=row, col=j + 1)
    return _layout(fig, height)


def _chw(spectrum: CurvatureSpectrum) -> tuple[int, ...]:
    shape = spectrum.x.shape
    return shape if len(shape) == 3 else (1, 1, int(np.prod(shape)))


def planes_figure(planes: Sequence[Mapping[str, Any]], class_names: Sequence[str], *,
                  height: int = 380) -> go.Figure:
    """Class maps of 2-D planes through the boundary point, side by side.

    Each plane: {"title", "labels" (n_b, n_a) int, "a" (n_a,), "b" (n_b,), "label", "target"}; axis a is
    the in-plane direction (curved or random), axis b the normal. The point itself is at (0, 0).
    """
    fig = make_subplots(rows=1, cols=len(planes), subplot_titles=[str(p["title"]) for p in planes],
                        horizontal_spacing=0.08)
    for j, p in enumerate(planes):
        labels = np.asarray(p["labels"])
        classes = sorted(set(np.unique(labels).tolist()))
        index = {c: i for i, c in enumerate(classes)}
        z = np.vectorize(index.get)(labels)
        text = np.asarray(class_names, dtype=object)[labels]
        scale = [[i / max(1, len(classes) - 1), _class_color(c, p)] for i, c in enumerate(classes)]
        if len(scale) == 1:
            scale = [[0, scale[0][1]], [1, scale[0][1]]]
        cell = dict(row=1, col=j + 1)
        fig.add_trace(go.Heatmap(z=z, x=p["a"], y=p["b"], colorscale=scale, showscale=False, text=text,
                                 hovertemplate="a %{x:.3f}, b %{y:.3f}: %{text}<extra></extra>"), **cell)
        fig.add_trace(go.Contour(z=(labels == p["label"]).astype(float), x=p["a"], y=p["b"], showscale=False,
                                 contours=dict(start=0.5, end=0.5, coloring="none"),
                                 line=dict(color="black", width=2), hoverinfo="skip"), **cell)
        marker = dict(color="white", size=9, line=dict(color="black", width=1.5))
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", marker=marker, name="z", hoverinfo="skip"),
                      **cell)
        fig.update_xaxes(title="in-plane direction", row=1, col=j + 1)
        fig.update_yaxes(title="normal n", row=1, col=j + 1)
    if planes:  # a legend of legend-only traces: what the colours, the line and the dot are
        p = planes[0]
        key = [(f"{class_names[int(p['label'])]} (x's class)", _class_color(int(p["label"]), p), "square"),
               (f"{class_names[int(p['target'])]} (DeepFool's class)", _class_color(int(p["target"]), p),
                "square"),
               ("boundary of x's region", "black", "line-ew-open"), ("z = x + r(x)", "white", "circle")]
        for name, color, symbol in key:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, showlegend=True,
                                     marker=dict(symbol=symbol, size=12, color=color,
                                                 line=dict(color="black", width=1.5))))
    for trace in fig.data[:-4 if planes else None]:
        trace.showlegend = False
    fig.update_layout(legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return _layout(fig, height)


def _class_color(c: int, plane: Mapping[str, object]) -> str:
    if c == plane["label"]:
        return "#9ecae1"
    if c == plane["target"]:
        return "#fcae91"
    return ("#c7e9c0", "#dadaeb", "#fdd0a2", "#d9d9d9")[c % 4]


def vulnerability_figure(exp: SubspaceExperiment, *, height: int = 380) -> go.Figure:
    """Left: ‖P_S r‖/‖r‖ vs m for the curvature and random subspaces (and sqrt(m/d)). Right: fooling rate
    within the norm budget, and the median ‖r_S‖/‖r‖, vs m."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "share of r(x) inside the subspace",
        f"DeepFool restricted to the subspace (budget {exp.budget:g}·‖r‖)"),
        specs=[[{}, {"secondary_y": True}]])
    m = exp.dims
    pairs = (("curvature S", exp.ratio_curved, CURVED), ("random", exp.ratio_random, RANDOM))
    for name, ratio, color in pairs:
        fig.add_trace(go.Scatter(x=m, y=ratio.mean(0), name=name, legendgroup=name, line=dict(color=color),
                                 error_y=dict(type="data", array=ratio.std(0), visible=True)), row=1, col=1)
    fig.add_trace(go.Scatter(x=m, y=exp.sqrt_m_over_d, name="√(m/d)", line=dict(color=GUIDE, dash="dot")),
                  row=1, col=1)
    for name, fooled, norm, color in (("curvature S", exp.fooled_curved, exp.norm_curved, CURVED),
                                      ("random", exp.fooled_random, exp.norm_random, RANDOM)):
        fig.add_trace(go.Scatter(x=m, y=fooled.mean(0), name=f"fooling rate, {name}", legendgroup=name,
                                 line=dict(color=color), showlegend=False), row=1, col=2)
        fig.add_trace(go.Scatter(x=m, y=_nanmedian(norm), name=f"median ‖r_S‖/‖r‖, {name}", legendgroup=name,
                                 line=dict(color=color, dash="dash"), showlegend=False), row=1, col=2,
                      secondary_y=True)
    fig.update_xaxes(type="log", title="subspace dimension m", tickvals=list(m), ticktext=[str(v) for v in m])
    fig.update_yaxes(title="‖P_S r‖ / ‖r‖", range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(title="fooling rate (solid)", range=[0, 1.05], row=1, col=2)
    fig.update_yaxes(title="median ‖r_S‖/‖r‖ (dashed)", type="log", tickformat=".2~g", row=1, col=2,
                     secondary_y=True)
    fig.update_layout(legend=dict(orientation="h", y=1.12, yanchor="bottom", x=0))
    return _layout(fig, height)


def _nanmedian(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():  # a column with no fooled image is all NaN: a gap in the line, not a fault
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.asarray(a, dtype=float), axis=0)


def dataset_profile_figure(profiles: Mapping[str, CurvatureProfile], *, colors: Sequence[str] | None = None,
                           height: int = 380) -> go.Figure:
    """Dataset-level profiles (the paper's Figure 5b): per model, the median sorted principal curvature per
    rank over images and the band between the profile's quantiles (10–90 %)."""
    fig = go.Figure()
    for i, (name, p) in enumerate(profiles.items()):
        color = colors[i] if colors else PALETTE[i % len(PALETTE)]
        x = p.ranks + 1
        lo, hi = p.quantiles
        fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([p.upper, p.lower[::-1]]),
                                 fill="toself", fillcolor=_rgba(color, 0.18), line=dict(width=0),
                                 name=f"{name}: {lo:.0%}–{hi:.0%} band", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=p.median, mode="lines" if p.solver == "full" else "markers",
                                 line=dict(color=color, width=2), name=f"{name}: median (N = {p.n_images})",
                                 hovertemplate="rank %{x}: median κ = %{y:.4g}<extra>" + name + "</extra>"))
    fig.add_hline(y=0, line=dict(color=GUIDE, width=1, dash="dot"))
    fig.update_xaxes(title="rank (most positive first)")
    fig.update_yaxes(title="principal curvature κ")
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return _layout(fig, height, "Over the sample set: median curvature profile and its band")


def _rgba(color: str, alpha: float) -> str:
    """'#rrggbb' or 'rgb(r,g,b)' with an alpha."""
    if color.startswith("#"):
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    else:
        r, g, b = (int(float(v)) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3])
    return f"rgba({r},{g},{b},{alpha})"
