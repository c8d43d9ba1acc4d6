"""`decision-atlas detect` (app/cli.py): runs end to end on a few digits and writes a consistent JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main


def test_detect_writes_scores_and_summary(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = main(["detect", "--model", "mnist-softplus-cnn", "--images", "digits", "--attack", "fgsm",
                 "--limit", "6", "--directions", "3", "--out", str(out), "--seed", "2"])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["config"]["directions"] == 3 and data["config"]["method"] == "exact"
    assert len(data["clean"]["score"]) == 6 and np.shape(data["clean"]["class_scores"]) == (6, 10)
    fgsm = data["attacks"]["fgsm"]
    n_ok = int(np.sum(fgsm["success"]))
    assert n_ok == data["summary"]["fgsm"]["n_attacked"] and len(fgsm["score"]) == n_ok
    if n_ok:  # the AUC is the Mann–Whitney pair count of the written scores
        clean, attacked = np.asarray(data["clean"]["score"]), np.asarray(fgsm["score"])
        pairs = (attacked[:, None] > clean).mean() + 0.5 * (attacked[:, None] == clean).mean()
        assert data["summary"]["fgsm"]["auc"] == pytest.approx(pairs)
        assert np.array_equal(fgsm["flagged"], np.asarray(fgsm["score"]) >= fgsm["threshold"])
    assert "AUC" in capsys.readouterr().out


def test_detect_with_npz_and_threshold(tmp_path, digits):
    src = tmp_path / "few.npz"
    np.savez(src, images=digits.images[:4], labels=digits.labels[:4])
    out = tmp_path / "r.json"
    code = main(["detect", "--model", "mnist-relu-cnn", "--images", str(src), "--attack", "deepfool",
                 "--directions", "2", "--threshold", "0.0", "--statistic", "min", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["attacks"]["deepfool"]["threshold"] == 0.0 and data["config"]["statistic"] == "min"
    assert data["clean"]["true_label"] == digits.labels[:4].tolist()


def test_detect_bad_directions_is_a_clean_error(tmp_path, capsys):
    code = main(["detect", "--model", "mnist-softplus-cnn", "--limit", "2", "--directions", "0",
                 "--out", str(tmp_path / "x.json")])
    assert code == 2 and "directions" in capsys.readouterr().err


def test_detect_top_classes(tmp_path):
    out = tmp_path / "k.json"
    code = main(["detect", "--model", "mnist-softplus-cnn", "--limit", "3", "--directions", "2",
                 "--classes", "2", "--attack", "fgsm", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["config"]["classes"] == 2
    scored = ~np.isnan(np.asarray(data["clean"]["class_scores"], dtype=float))
    assert scored.sum(1).tolist() == [2, 2, 2]
