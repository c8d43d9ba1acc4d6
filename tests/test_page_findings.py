"""The Findings page in AppTest: the reproduce report for the sidebar's model, on a button press."""

from __future__ import annotations

import torch

import geometry as g
from geometry.reproduce import ReproduceConfig, reproduce
from tests.app_util import chart, open_page


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_findings_page_runs_on_the_button_and_offers_downloads():
    at = open_page("findings", timeout=900)
    assert not at.error, [e.value for e in at.error]
    assert any("Press the button" in c.value for c in at.caption)
    at.slider(key="findings_n").set_value(4)
    at.multiselect(key="findings_claims").set_value(["detection"])
    at.button(key="findings_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    md = _markdown(at)
    assert "| curvature | ➖ not measured |" in md and "| detection |" in md
    # the page's numbers are the library's: the same report computed directly on the same four digits
    direct = reproduce(g.load_embedded("mnist-relu-cnn", device="cpu"),
                       torch.from_numpy(g.load_digits().images[:4]), claims=("detection",),
                       config=ReproduceConfig()).claims["detection"]
    assert f"AUC {direct['ours']['deepfool']['auc']:.2f}" in md
    assert direct["verdict"] in md
    roc = chart(at, "findings_detection")
    assert any(str(t.get("name", "")).startswith("deepfool: AUC") for t in roc["data"])
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download the report (HTML, works offline)", "Download the report (JSON)"]
    # another model in the sidebar: nothing is computed for it until the button is pressed again
    at.selectbox(key="model_choice").set_value("mnist-softplus-cnn").run()
    assert not at.exception
    assert any("Press the button" in c.value for c in at.caption)
    assert not at.get("download_button")


def test_findings_page_rejects_a_bad_threshold():
    at = open_page("findings", timeout=300)
    at.text_input(key="findings_threshold").set_value("not a number")
    at.button(key="findings_run").click().run()
    assert not at.exception
    assert any("threshold must be a number" in e.value for e in at.error)
