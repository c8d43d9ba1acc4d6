"""Detection figures (app/figures/detection.py) built from hand-made results."""

from __future__ import annotations

import numpy as np
import pytest

from app.figures import detection as figs
from geometry.detection import roc_curve


def _version(label: int, recovered: int, score: float, success: bool | None = True) -> dict:
    scores = np.linspace(-1, 1, 10)
    scores[label] = np.nan
    return {"image": np.zeros((1, 28, 28)), "label": label, "recovered": recovered, "scores": scores,
            "score": score, "flagged": score >= 0.0, "success": success}


def test_versions_figure_has_one_image_and_one_bar_chart_per_version():
    versions = {"clean": _version(3, 9, -0.5, None), "deepfool": _version(5, 3, 0.2),
                "fgsm": _version(3, 9, 0.1, False)}
    fig = figs.versions_figure(versions, [str(i) for i in range(10)])
    kinds = [t.type for t in fig.data]
    assert kinds.count("heatmap") == 3 and kinds.count("bar") == 3
    bars = [t for t in fig.data if t.type == "bar"]
    assert bars[1].marker.opacity[3] == 1.0 and bars[1].marker.opacity[4] < 1.0  # recovered class highlighted
    assert max(bars[0].marker.opacity) < 1.0 and max(bars[2].marker.opacity) < 1.0  # no attack: no recovery
    assert bars[0].y[3] == 0  # the label's NaN score is drawn as an empty bar
    titles = [a.text for a in fig.layout.annotations]
    assert "perturbed" in titles[1] and "attack failed" in titles[2] and "clean" in titles[0]
    # the crossed boundary from both sides: DeepFool's class (5) on the clean image, the original class (3)
    # after the successful attack, nothing on the failed one
    widths = [list(b.marker.line.width) for b in bars]
    assert widths[0] == [3 if i == 5 else 0 for i in range(10)]
    assert widths[1] == [3 if i == 3 else 0 for i in range(10)]
    assert widths[2] == [0] * 10
    notes = {a.text: (a.xref, a.x, a.y) for a in fig.layout.annotations if a.showarrow}
    assert set(notes) == {"DeepFool's class", "original"}
    assert notes["original"][1] == "3" and notes["original"][2] == pytest.approx(versions["deepfool"]["scores"][3])
    assert notes["DeepFool's class"][1] == "5" and notes["original"][0] != notes["DeepFool's class"][0]
    with pytest.raises(ValueError, match="no versions"):
        figs.versions_figure({}, ["a"])


def test_roc_figure_lists_auc_and_operating_points():
    roc = roc_curve(np.array([0.0, 1, 2, 3]), np.array([2.5, 3.5, 4, 5]))
    fig = figs.roc_figure({"deepfool": roc, "fgsm": roc}, {"deepfool": (0.25, 0.75)})
    names = [t.name for t in fig.data]
    assert "DeepFool (AUC 0.938)" in names and names[0] == "chance"
    markers = [t for t in fig.data if t.mode == "markers"]
    assert len(markers) == 1 and markers[0].x == (0.25,) and markers[0].y == (0.75,)


def test_histogram_figure_overlays_groups_and_threshold():
    fig = figs.histogram_figure(np.zeros(5), {"pgd-l2": np.ones(3)}, threshold=0.5)
    assert [t.name for t in fig.data] == ["clean (n=5)", "PGD-L2 (n=3)"]
    assert fig.layout.barmode == "overlay"
    assert any(s.x0 == 0.5 for s in fig.layout.shapes)
