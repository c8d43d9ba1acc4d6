"""The reproduce report as figures and one self-contained HTML page (plotly.js inlined: opens offline).

Everything is built from the report's JSON dict (geometry.reproduce.Reproduction.to_dict()), so the CLI, the
Findings page and a saved report.json all give the same page.
"""

from __future__ import annotations

import html
import json

import numpy as np
import plotly.graph_objects as go

from .common import base_layout

CLAIM_TITLES = {
    "paths": "1 · Classification regions are connected (paper §3)",
    "curvature": "2 · Near data points the boundary is flat along most directions (paper §5, Fig. 5b)",
    "subspace": "3 · The few curved directions are the vulnerable ones (paper §6)",
    "detection": "4 · Curvature asymmetry detects small perturbations and recovers the label (paper §7, Table 2)",
}
VERDICT_COLOURS = {"holds": "#2ca02c", "partly": "#ff7f0e", "does not hold": "#d62728", "not measured": "#7f7f7f"}
OURS, BASE, PAPER = "#1f77b4", "#7f7f7f", "#9467bd"


def paths_figure(claim: dict, *, height: int = 300) -> go.Figure | None:
    """Fraction of pairs connected by Algorithm 1 vs by the straight line, per kind of pair."""
    ours = claim.get("ours") or {}
    if not ours:
        return None
    kinds = list(ours)
    fig = go.Figure([
        go.Bar(name="Algorithm 1 (ours)", x=kinds, y=[ours[k]["fraction_connected"] for k in kinds],
               marker_color=OURS),
        go.Bar(name="straight line (baseline)", x=kinds,
               y=[claim["baseline"][k]["fraction_connected"] for k in kinds], marker_color=BASE),
        go.Bar(name="paper", x=kinds, y=[claim["paper"]["fraction_connected"]] * len(kinds), marker_color=PAPER),
    ])
    fig.update_layout(barmode="group", yaxis=dict(title="fraction of pairs connected", range=[0, 1.05]))
    return base_layout(fig, height=height, title="Connected pairs")


def curvature_figure(claim: dict, *, height: int = 340) -> go.Figure | None:
    """The dataset-level profile: median sorted curvature with the 10–90 % band, by rank."""
    f = claim.get("figure") or {}
    if not f.get("median"):
        return None
    ranks, q = np.asarray(f["ranks"]), f.get("quantiles", [0.1, 0.9])
    fig = go.Figure([
        go.Scatter(x=ranks, y=f["upper"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"),
        go.Scatter(x=ranks, y=f["lower"], mode="lines", line=dict(width=0), fill="tonexty",
                   fillcolor="rgba(31,119,180,0.25)", name=f"{q[0]:.0%}–{q[1]:.0%} of images"),
        go.Scatter(x=ranks, y=f["median"], mode="lines", line=dict(color=OURS), name="median over images"),
    ])
    fig.add_hline(y=0, line=dict(color=BASE, width=1, dash="dot"))
    fig.update_layout(xaxis_title="rank (sorted, most positive first)", yaxis_title="principal curvature κ")
    return base_layout(fig, height=height, title="Sorted principal curvatures at the boundary points")


def subspace_figure(claim: dict, *, height: int = 300) -> go.Figure | None:
    """‖P_S r‖/‖r‖ vs m: curved subspace, random subspace and √(m/d)."""
    f = claim.get("figure") or {}
    if not f.get("dims"):
        return None
    dims = f["dims"]
    fig = go.Figure([
        go.Scatter(x=dims, y=f["curved"], mode="lines+markers", name="curved subspace S (ours)",
                   line=dict(color=OURS)),
        go.Scatter(x=dims, y=f["random"], mode="lines+markers", name="random subspace (baseline)",
                   line=dict(color=BASE)),
        go.Scatter(x=dims, y=f["sqrt_m_over_d"], mode="lines", name="√(m/d)", line=dict(color=BASE, dash="dot")),
    ])
    fig.update_layout(xaxis=dict(title="subspace dimension m", type="log"),
                      yaxis=dict(title="median ‖P_S r‖ / ‖r‖", range=[0, 1.05]))
    return base_layout(fig, height=height, title="Share of the DeepFool perturbation in the subspace")


def detection_figure(claim: dict, *, height: int = 340) -> go.Figure | None:
    """ROC curves of the curvature score per attack, with the chance diagonal."""
    rocs = (claim.get("figure") or {}).get("roc") or {}
    if not rocs:
        return None
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color=BASE, dash="dot"),
                                name="chance")])
    for name, r in rocs.items():
        auc = claim["ours"][name]["auc"]
        margin = claim["baseline"][name]["margin"]["auc"]
        fig.add_trace(go.Scatter(x=r["fpr"], y=r["tpr"], mode="lines",
                                 name=f"{name}: AUC {auc:.2f} (margin baseline {margin:.2f})"))
    fig.update_layout(xaxis=dict(title="false-positive rate (clean flagged)", range=[0, 1]),
                      yaxis=dict(title="true-positive rate (attacked flagged)", range=[0, 1.02]))
    return base_layout(fig, height=height, title="ROC of the curvature score")


FIGURES = {"paths": paths_figure, "curvature": curvature_figure, "subspace": subspace_figure,
           "detection": detection_figure}


def _value(v: object, none: str = "—") -> str:
    """A JSON value as HTML; `none` is what None reads as (in the paper's column: the paper gives none)."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "n/a" if not np.isfinite(v) else f"{v:.4g}"
    if isinstance(v, dict):
        items = "".join(f"<li><b>{html.escape(str(k))}</b>: {_value(x, none)}</li>" for k, x in v.items())
        return f"<ul>{items}</ul>"
    if isinstance(v, list):
        if len(v) > 12:  # per-image arrays: summarise, the JSON has them all
            arr = np.asarray([np.nan if x is None else x for x in v], float)
            return f"{len(v)} values, median {np.nanmedian(arr):.4g}"
        return ", ".join(_value(x, none) for x in v)
    if v is None:
        return none
    return html.escape(str(v))


def _table(claim: dict) -> str:
    rows = "".join(f"<tr><th>{key}</th><td>{_value(claim.get(key), none)}</td></tr>"
                   for key, none in (("ours", "—"), ("paper", "the paper gives none"), ("baseline", "—")))
    return f"<table>{rows}</table>"


def _pct(v: object) -> str:
    return f"{v:.0%}" if isinstance(v, int | float) else "—"


def _num(v: object) -> str:
    return f"{v:.2f}" if isinstance(v, int | float) else "—"


def detection_table(claim: dict) -> str:
    """Per attack, ours beside the three baselines: the comparison the detection claim turns on."""
    ours, base = claim.get("ours") or {}, claim.get("baseline") or {}
    head = ("<tr><th>attack</th><th>success</th><th>Table 2: clean / perturbed</th><th>AUC</th>"
            "<th>TPR at FPR</th><th>labels recovered</th><th>margin AUC</th><th>margin TPR</th>"
            "<th>runner-up recovers</th><th>min-variant AUC</th></tr>")
    rows = []
    for name, o in ours.items():
        if not isinstance(o, dict) or name not in base:
            continue
        b, mv = base[name]["margin"], base[name]["min_variant"]
        t2 = o.get("table_2", {})
        cells = [name, _pct(o.get("success_rate")),
                 f"{_pct(t2.get('clean_sign'))} / {_pct(t2.get('perturbed_opposite'))}", _num(o.get("auc")),
                 _pct(o.get("tpr_at_fpr")), _pct(o.get("recovery")), _num(b.get("auc")), _pct(b.get("tpr_at_fpr")),
                 _pct(b.get("runner_up_recovery")), _num(mv.get("auc"))]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    if not rows:
        return ""
    return (f"<table class='compact'>{head}{''.join(rows)}</table><p class='rule'>Ours: the curvature score "
            "(statistic and threshold in the table below); baselines: the logit margin as detector, the "
            "runner-up logit as recovered label, and the min-over-classes curvature score. Paper (CIFAR-10, "
            "Table 2): LeNet 97 % / 96 %, NiN 94 % / 93 %.</p>")


def _section(name: str, claim: dict, fig_html: str) -> str:
    verdict = claim.get("verdict", "not measured")
    colour = VERDICT_COLOURS.get(verdict, "#7f7f7f")
    secs = claim.get("seconds")
    timing = f" · {secs:.1f} s" if isinstance(secs, int | float) else ""
    return (f'<section id="{name}"><h2>{html.escape(CLAIM_TITLES[name])}</h2>'
            f'<p><span class="verdict" style="background:{colour}">{html.escape(verdict)}</span> '
            f"{html.escape(claim.get('why', ''))}</p>"
            f"<p class='rule'><b>Rule:</b> {html.escape(claim.get('rule', ''))}{timing}</p>"
            f"{fig_html}{detection_table(claim) if name == 'detection' else ''}{_table(claim)}</section>")


CSS = """body{font-family:Inter,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em;font-size:13px}th,td{border:1px solid #ddd;
padding:6px;vertical-align:top;text-align:left}th{width:8em;background:#f6f6f6}.verdict{color:#fff;
padding:2px 8px;border-radius:4px;font-weight:600;white-space:nowrap}
.rule{color:#555;font-size:13px}code{font-size:12px}ul{margin:0;padding-left:1.2em}table.compact th{width:auto}"""


def report_html(report: dict) -> str:
    """The whole report as one HTML page; plotly.js is inlined once, so the file works offline."""
    first = True
    sections, summary = [], []
    for name in CLAIM_TITLES:
        claim = report.get(name) or {}
        fig = FIGURES[name](claim) if claim else None
        fig_html = ""
        if fig is not None:
            fig_html = fig.to_html(full_html=False, include_plotlyjs=True if first else False)
            first = False
        sections.append(_section(name, claim, fig_html))
        verdict = claim.get("verdict", "not measured")
        summary.append(f"<tr><th><a href='#{name}'>{name}</a></th><td><span class='verdict' style='background:"
                       f"{VERDICT_COLOURS.get(verdict, '#7f7f7f')}'>{html.escape(verdict)}</span></td>"
                       f"<td>{html.escape(claim.get('why', ''))}</td></tr>")
    title = f"The paper's claims on {report.get('model', '?')}"
    meta = (f"{report.get('n_images', '?')} images from {html.escape(str(report.get('images', '')))}, "
            f"{report.get('seconds', 0):.0f} s. Paper: Fawzi et al., CVPR 2018 (notes: docs/paper_notes.md).")
    config = html.escape(json.dumps({"config": report.get("config"), "provenance": report.get("provenance")},
                                    indent=1))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1><p>{meta}</p>"
            f"<table>{''.join(summary)}</table>{''.join(sections)}"
            f"<h2>Configuration and provenance</h2><pre><code>{config}</code></pre></body></html>")
