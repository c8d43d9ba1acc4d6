"""The reproduce report's HTML and figures, from a hand-made report dict (no model needed)."""

from __future__ import annotations

import re

from app.figures.report import curvature_figure, detection_figure, report_html, subspace_figure
from geometry.reproduce import PAPER


def _report() -> dict:
    det_ours = {"deepfool": {"success_rate": 1.0, "table_2": {"clean_sign": 0.8, "perturbed_opposite": 0.1},
                             "auc": 0.61, "tpr_at_fpr": 0.04, "recovery": 0.25}}
    det_base = {"deepfool": {"margin": {"auc": 0.99, "tpr_at_fpr": 0.9, "runner_up_recovery": 1.0},
                             "min_variant": {"auc": 0.7}}}
    return {
        "model": "m", "images": "digits[0:3]", "n_images": 3, "seconds": 1.0, "config": {}, "provenance": {},
        "paths": {"verdict": "not measured", "why": "not requested", "rule": "r", "ours": {}, "baseline": {},
                  "paper": PAPER["paths"]},
        "curvature": {"verdict": "holds", "why": "w", "rule": "r", "ours": {"flat_fraction_median": 0.95},
                      "baseline": {}, "paper": PAPER["curvature"],
                      "figure": {"ranks": [0, 1, 2], "median": [1.0, 0.0, -1.0], "lower": [0.5, -0.1, -2.0],
                                 "upper": [2.0, 0.1, -0.5], "quantiles": [0.1, 0.9]}},
        "subspace": {"verdict": "partly", "why": "w", "rule": "r", "ours": {}, "baseline": {},
                     "paper": PAPER["subspace"],
                     "figure": {"dims": [5, 20], "curved": [0.3, 0.5], "random": [0.08, 0.16],
                                "sqrt_m_over_d": [0.08, 0.16]}},
        "detection": {"verdict": "does not hold", "why": "AUC 0.61", "rule": "r", "ours": det_ours,
                      "baseline": det_base, "paper": PAPER["detection"],
                      "figure": {"roc": {"deepfool": {"fpr": [0, 0.5, 1], "tpr": [0, 0.7, 1]}}}},
    }


def test_html_is_offline_and_shows_the_comparison():
    page = report_html(_report())
    assert not re.search(r"<script[^>]*\bsrc=", page) and page.count("Plotly.newPlot") == 3  # no paths figure
    assert "does not hold" in page and "not measured" in page
    # detection row: Table 2, our AUC beside the margin baseline's and the runner-up recovery
    assert "<td>80% / 10%</td><td>0.61</td><td>4%</td><td>25%</td><td>0.99</td><td>90%</td><td>100%</td>" in page
    assert "the paper gives none" in page  # the paper's subspace ratio and detection AUC


def test_figures_carry_the_numbers():
    r = _report()
    cf = curvature_figure(r["curvature"])
    assert list(cf.data[2].y) == [1.0, 0.0, -1.0] and list(cf.data[1].y) == [0.5, -0.1, -2.0]
    sf = subspace_figure(r["subspace"])
    assert [t.name for t in sf.data][:2] == ["curved subspace S (ours)", "random subspace (baseline)"]
    df = detection_figure(r["detection"])
    assert df.data[1].name == "deepfool: AUC 0.61 (margin baseline 0.99)"
