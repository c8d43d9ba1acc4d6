"""Detection figures (docs/paper_notes.md §7): per-class curvature scores of an image and its attacked versions, the
ROC per attack with its operating point, and the score histograms of clean and attacked images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geometry.detection import Roc

from .common import FONT, image_trace, slim

COLORS = {"clean": "#1f77b4", "deepfool": "#d62728", "fgsm": "#ff7f0e", "pgd-l2": "#2ca02c",
          "pgd-linf": "#9467bd"}
MAX_BARS = 50  # above this many classes the bar chart shows only the highest scored (finite) classes
TITLES = {"clean": "clean", "deepfool": "DeepFool", "fgsm": "FGSM", "pgd-l2": "PGD-L2", "pgd-linf": "PGD-L∞"}


def _color(name: str) -> str:
    return COLORS.get(name, "#7f7f7f")


def versions_figure(versions: Mapping[str, Mapping], class_names: Sequence[str], *, height: int = 520
                    ) -> go.Figure:
    """Images (top) and per-class oriented scores c_i (bottom) of each version, side by side.

    `versions[name]` holds image (C,H,W), label, recovered, scores (L,) with NaN at the label, success
    (None for "clean"). The recovered class's bar is drawn darker after an attack that succeeded; the label
    has no bar. The mechanism's bars are outlined and named (_highlight): the original class after each
    successful attack, and on the clean image the class DeepFool moves it to (the same boundary, seen from
    the clean side).
    """
    names = list(versions)
    if not names:
        raise ValueError("no versions to draw")
    titles = [_version_title(n, versions[n], class_names) for n in names]
    fig = make_subplots(rows=2, cols=len(names), row_heights=[0.4, 0.6], vertical_spacing=0.08,
                        subplot_titles=titles + [""] * len(names), shared_yaxes="rows")
    labels = [str(c) for c in class_names]
    for j, n in enumerate(names, start=1):
        v = versions[n]
        fig.add_trace(image_trace(np.asarray(v["image"])), row=1, col=j)
        fig.update_xaxes(visible=False, constrain="domain", row=1, col=j)
        anchor = fig.get_subplot(1, j).xaxis.plotly_name.replace("axis", "")  # square pixels, not stretched
        fig.update_yaxes(visible=False, autorange="reversed", scaleanchor=anchor, constrain="domain", row=1,
                         col=j)
        scores = np.asarray(v["scores"], float)
        shown = np.arange(len(scores))
        if len(scores) > MAX_BARS:  # many classes: only the scored ones (top-K by logit), highest first
            finite = shown[np.isfinite(scores)]
            shown = np.sort(finite[np.argsort(-scores[finite], kind="stable")][:MAX_BARS])
        attacked = n != "clean" and bool(v.get("success"))
        opacity = [1.0 if attacked and i == int(v["recovered"]) else 0.45 for i in shown]
        mark = _highlight(n, versions)
        width = [3 if mark is not None and i == mark[0] else 0 for i in shown]
        if mark is not None and mark[0] in shown:
            fig.add_annotation(x=labels[mark[0]], y=float(np.nan_to_num(scores[mark[0]])), text=mark[1],
                               showarrow=True, arrowhead=2, ax=0, ay=-28, row=2, col=j)
        scores = scores[shown]
        fig.add_trace(go.Bar(x=[labels[i] for i in shown], y=np.nan_to_num(scores),
                             marker=dict(color=_color(n), opacity=opacity, line=dict(color="black", width=width)),
                             name=TITLES.get(n, n), showlegend=False,
                             customdata=scores,
                             hovertemplate="class %{x}: c = %{customdata:.4g}<extra></extra>"),
                      row=2, col=j)
        fig.update_xaxes(type="category", title="class i", row=2, col=j)
    fig.update_yaxes(title="score c_i", row=2, col=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=10), font=FONT, bargap=0.15)
    fig.update_annotations(font_size=12)
    return slim(fig)


def _highlight(name: str, versions: Mapping[str, Mapping]) -> tuple[int, str] | None:
    """(class, text) of the bar that shows the mechanism in version `name`, or None."""
    clean, v = versions.get("clean"), versions[name]
    if clean is None:
        return None
    if name == "clean":
        df = versions.get("deepfool")
        return (int(df["label"]), "DeepFool's class") if df is not None and df.get("success") else None
    return (int(clean["label"]), "original") if v.get("success") else None


def _version_title(name: str, v: Mapping, class_names: Sequence[str]) -> str:
    label = class_names[int(v["label"])]
    if name != "clean" and not bool(v.get("success", True)):
        return f"{TITLES.get(name, name)} · label {label}<br>attack failed"
    verdict = "" if v.get("flagged") is None else ("<b>perturbed</b>" if v["flagged"] else "clean")
    return f"{TITLES.get(name, name)} · label {label}<br>{verdict} ({float(v['score']):.3g})"


def roc_figure(rocs: Mapping[str, Roc], points: Mapping[str, tuple[float, float]] | None = None, *,
               height: int = 420) -> go.Figure:
    """ROC curve per attack (objects with fpr, tpr, auc) and the operating point (fpr, tpr) at threshold."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#999", dash="dot"),
                               name="chance", hoverinfo="skip"))
    for name, roc in rocs.items():
        line = dict(color=_color(name), shape="hv")
        fig.add_trace(go.Scatter(x=roc.fpr, y=roc.tpr, mode="lines", line=line,
                                 name=f"{TITLES.get(name, name)} (AUC {roc.auc:.3f})",
                                 hovertemplate="FPR %{x:.2f}, TPR %{y:.2f}<extra></extra>"))
        if points and name in points:
            fpr, tpr = points[name]
            fig.add_trace(go.Scatter(x=[fpr], y=[tpr], mode="markers", showlegend=False,
                                     marker=dict(color=_color(name), size=11,
                                                 line=dict(color="black", width=1)),
                                     hovertemplate=f"{TITLES.get(name, name)} at threshold: "
                                                   "FPR %{x:.2f}, TPR %{y:.2f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], title="false-positive rate (clean flagged)")
    fig.update_yaxes(range=[0, 1.02], title="true-positive rate (attacked flagged)")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), font=FONT,
                      title=dict(text="ROC per attack", x=0.5, xanchor="center"),
                      legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom"))
    return slim(fig)


def histogram_figure(clean: np.ndarray, attacked: Mapping[str, np.ndarray], threshold: float | None = None, *,
                     bins: int = 30, height: int = 380) -> go.Figure:
    """Overlaid, normalised histograms of the detection score for clean and attacked images."""
    groups = {"clean": np.asarray(clean, float), **{k: np.asarray(v, float) for k, v in attacked.items()}}
    values = np.concatenate([g for g in groups.values() if g.size])
    lo, hi = float(values.min()), float(values.max())
    size = (hi - lo) / bins or 1.0
    fig = go.Figure()
    for name, g in groups.items():
        fig.add_trace(go.Histogram(x=g, name=f"{TITLES.get(name, name)} (n={g.size})", opacity=0.55,
                                   histnorm="probability", marker_color=_color(name),
                                   xbins=dict(start=lo, end=hi + size, size=size)))
    if threshold is not None:
        fig.add_vline(x=threshold, line=dict(color="black", dash="dash"), annotation_text="threshold t",
                      annotation_position="top")
    fig.update_layout(barmode="overlay", height=height, margin=dict(l=10, r=10, t=40, b=10), font=FONT,
                      title=dict(text="Detection score: clean vs attacked", x=0.5, xanchor="center"),
                      xaxis_title="score (flag as perturbed when ≥ t)", yaxis_title="fraction of images")
    return slim(fig)
