"""`decision-atlas reproduce`: report.json with the four claim keys and an offline report.html."""

from __future__ import annotations

import json
import re

from app.cli import main


def test_reproduce_writes_json_and_self_contained_html(tmp_path, capsys):
    out = tmp_path / "rep"
    rc = main(["reproduce", "--model", "mnist-relu-cnn", "--images", "digits", "--limit", "4", "--out", str(out),
               "--claims", "detection", "--attacks", "deepfool", "--directions", "2", "--seed", "1"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    for claim in ("paths", "curvature", "subspace", "detection"):
        assert {"paper", "baseline", "verdict", "rule"} <= set(report[claim])
    assert report["paths"]["verdict"] == "not measured"
    assert report["config"]["seed"] == 1 and report["n_images"] == 4 and report["images"] == "digits[0:4]"
    assert set(report["detection"]["ours"]) >= {"deepfool"}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", page)  # nothing fetched: plotly.js is inlined
    assert "Plotly.newPlot" in page and len(page) > 1_000_000
    assert report["detection"]["verdict"] in page
    assert "detection" in capsys.readouterr().out


def test_reproduce_bad_range_is_a_clear_error(tmp_path, capsys):
    rc = main(["reproduce", "--model", "mnist-relu-cnn", "--images", "digits", "--start", "10000", "--out",
               str(tmp_path / "x")])
    assert rc == 2
    assert "past the end of the set" in capsys.readouterr().err
