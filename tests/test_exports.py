"""app.exports: every written file carries the provenance it is given, where the format keeps metadata."""

import io
import json

import numpy as np
import plotly.graph_objects as go

from app import exports

PROV = {"model": "m", "model_sha256": "ab" * 32, "image_sha256": "cd" * 32}


def test_json_text_puts_provenance_at_the_top_or_under_a_key():
    top = json.loads(exports.json_text({"a": 1}, PROV))
    assert top == {"a": 1, "provenance": PROV}
    nested = json.loads(exports.json_text({"config": {"k": 2}, "grid": [1]}, PROV, under="config"))
    assert nested == {"config": {"k": 2, "provenance": PROV}, "grid": [1]}


def test_npz_keeps_the_arrays_and_records_provenance_in_its_metadata():
    data = exports.npz_bytes({"x": np.arange(3.0)}, {"k": 1}, PROV, meta_key="config")
    with np.load(io.BytesIO(data)) as z:
        np.testing.assert_array_equal(z["x"], np.arange(3.0))
        assert json.loads(str(z["config"])) == {"k": 1, "provenance": PROV}


def test_figure_html_embeds_the_provenance_as_a_json_block():
    page = exports.figure_html(go.Figure(go.Scatter(x=[0, 1], y=[1, 0])), {**PROV, "note": "<b>&"})
    start = page.index('<script type="application/json" id="provenance">')
    block = page[start:page.index("</script>", start)].split(">", 1)[1]
    assert page.index("</body>") > start
    assert "<" not in block  # so no value can close the script tag
    assert json.loads(block) == {**PROV, "note": "<b>&"}


def test_report_json_keeps_the_reports_own_provenance():
    report = {"config": {}, "provenance": {"images_sha256": "ef"}, "seconds": 1.0}
    assert json.loads(exports.report_json(report, PROV))["provenance"] == {"images_sha256": "ef"}
    assert json.loads(exports.report_json({"config": {}}, PROV))["provenance"] == PROV
