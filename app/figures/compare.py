"""Figures of the Compare view: two models on the same scales."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geometry.compare import BatchComparison, ImageComparison
from geometry.cross_section import CrossSection

from .common import FONT, _image_axes, base_layout
from .curvature import dataset_profile_figure, spectrum_ranks

COLORS = ("#1f77b4", "#d62728")  # model a, model b
DASHES = ("solid", "dash")


def perturbations_figure(comparison: ImageComparison, *, height: int = 300) -> go.Figure:
    """Both DeepFool perturbations r(x) on one symmetric colour scale (the larger maximum), so their sizes
    can be compared by eye."""
    models = (comparison.a, comparison.b)
    maps = [m.perturbation.sum(axis=0) for m in models]
    vmax = max(float(np.abs(r).max()) for r in maps) or 1.0
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.04,
                        subplot_titles=[f"r(x), {m.name}: ‖r‖ = {m.distance:.3g}" for m in models])
    for col, r in enumerate(maps, start=1):
        fig.add_trace(go.Heatmap(z=r, colorscale="RdBu_r", zmin=-vmax, zmax=vmax, showscale=col == 2,
                                 colorbar=dict(title="Δ pixel", len=0.9),
                                 hovertemplate="x %{x}, y %{y}: %{z:.4f}<extra></extra>"), row=1, col=col)
        _image_axes(fig, row=1, col=col)
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    base_layout(fig, height=height)
    fig.update_layout(margin=dict(t=50))  # room for the subplot titles
    return fig


def boundaries_figure(sections: Sequence[CrossSection], names: Sequence[str], *, height: int = 520,
                      title: str | None = None) -> go.Figure:
    """Both models' boundaries of x's region (G = 0) drawn over each other on one plane, with the marks."""
    fig = go.Figure()
    for cs, name, color, dash in zip(sections, names, COLORS, DASHES, strict=False):
        if cs.G.min() < 0 < cs.G.max():
            fig.add_trace(go.Contour(x=cs.a, y=cs.b, z=cs.G, showscale=False, name=f"boundary, {name}",
                                     contours=dict(coloring="none", start=0, end=0, size=1),
                                     line=dict(color=color, width=3, dash=dash), showlegend=True,
                                     hoverinfo="skip"))
        else:  # say so in the legend instead of drawing nothing silently
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=color, dash=dash),
                                     name=f"{name}: no boundary in this square"))
    for label, (a, b) in sections[0].plane.marks.items():
        color = next((c for n, c in zip(names, COLORS, strict=False) if label.endswith(n)), "black")
        fig.add_trace(go.Scatter(x=[a], y=[b], mode="markers", name=label,
                                 marker=dict(size=11, color=color, symbol="star" if "r(x)" in label else "circle",
                                             line=dict(color="white", width=1)),
                                 hovertemplate=f"{label}: a %{{x:.3f}}, b %{{y:.3f}}<extra></extra>"))
    cs = sections[0]
    fig.update_xaxes(title="a (L2)", range=[cs.a[0], cs.a[-1]], constrain="domain")
    fig.update_yaxes(title="b (L2)", range=[cs.b[0], cs.b[-1]], scaleanchor="x", constrain="domain")
    fig.update_layout(plot_bgcolor="#f7f7f7", legend=dict(orientation="h", y=-0.15))
    return base_layout(fig, height=height, title=title)


def spectra_figure(comparison: ImageComparison, *, height: int = 360) -> go.Figure:
    """Both sorted curvature profiles at the image's boundary points, overlaid (rank on a common axis)."""
    fig = go.Figure()
    for m, color in zip((comparison.a, comparison.b), COLORS, strict=True):
        s = m.spectrum
        mode = "lines" if s.solver == "full" else "markers"
        fig.add_trace(go.Scatter(x=spectrum_ranks(s), y=np.asarray(s.eigenvalues), mode=mode, name=m.name,
                                 line=dict(color=color, width=2),
                                 hovertemplate="rank %{x}: κ = %{y:.4g}<extra>" + m.name + "</extra>"))
    fig.add_hline(y=0, line=dict(color="#999", width=1, dash="dot"))
    fig.update_xaxes(title="rank (most positive first)")
    fig.update_yaxes(title="principal curvature κ at z")
    fig.update_layout(legend=dict(orientation="h", y=-0.2, yanchor="top", x=0))
    return base_layout(fig, height=height, title="Curvature spectrum of this image's boundary point")


def profiles_figure(batch: BatchComparison, *, height: int = 380) -> go.Figure:
    """Dataset-level profiles of both models: median sorted curvature per rank and the 10–90 % band."""
    return dataset_profile_figure(dict(zip(batch.names, batch.profiles, strict=True)), colors=COLORS, height=height)


def distances_figure(batch: BatchComparison, *, height: int = 320) -> go.Figure:
    """Histograms of the DeepFool distance ‖z − x‖ per model, on one axis."""
    fig = go.Figure()
    for name, p, color in zip(batch.names, batch.profiles, COLORS, strict=True):
        fig.add_trace(go.Histogram(x=p.distance, name=f"{name} (median {np.median(p.distance):.3g})",
                                   marker_color=color, opacity=0.55))
    fig.update_layout(barmode="overlay", xaxis_title="distance to the boundary ‖z − x‖ (L2)",
                      yaxis_title="images", legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return base_layout(fig, height=height, title="DeepFool distances")


def roc_figure(batch: BatchComparison, *, height: int = 360) -> go.Figure:
    """The curvature detector's ROC against DeepFool, one curve per model."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#999", dash="dot"),
                               name="chance", hoverinfo="skip"))
    for i, (name, color) in enumerate(zip(batch.names, COLORS, strict=True)):
        if batch.detection is None or batch.detection[i].attacks["deepfool"].scores is None:
            continue
        det = batch.detection[i]
        roc = det.attacks["deepfool"].metrics(det.clean).roc
        fig.add_trace(go.Scatter(x=roc.fpr, y=roc.tpr, mode="lines", line=dict(color=color, shape="hv"),
                                 name=f"{name} (AUC {roc.auc:.2f})"))
    fig.update_xaxes(range=[0, 1], title="false-positive rate")
    fig.update_yaxes(range=[0, 1.02], title="true-positive rate")
    fig.update_layout(font=FONT, legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom"))
    return base_layout(fig, height=height, title="Curvature detector vs DeepFool")
