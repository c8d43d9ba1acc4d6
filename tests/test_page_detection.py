"""The Detection page (app/app_pages/detection.py) driven by Streamlit's AppTest."""

from __future__ import annotations

import json

import pytest
import torch
from streamlit.testing.v1 import AppTest

from geometry.detection import DEFAULT_DETECTION_STEP, curvature_scores, threshold_at_fpr
from geometry.images import load_digits
from geometry.loading import load_embedded


def _page() -> AppTest:
    at = AppTest.from_file("../app/streamlit_app.py", default_timeout=240)
    at.run()
    at.session_state["det_directions"] = 2  # keep the on-load scoring and calibration cheap
    at.switch_page("app_pages/detection.py")
    at.run()
    assert not at.exception
    return at


@pytest.mark.slow
def test_default_threshold_is_calibrated_on_validation_digits_and_verdicts_need_a_successful_attack():
    at = _page()
    assert at.session_state["det_directions"] == 2
    # the default t gives 5 % false positives on held-out digits 250..349, scored directly here
    model = load_embedded("mnist-relu-cnn")
    clean = curvature_scores(model, torch.from_numpy(load_digits().images[250:350]), directions=2,
                             h=DEFAULT_DETECTION_STEP, seed=0).statistic("mean")
    expected = threshold_at_fpr(clean, 0.05)
    slider = next(s for s in at.slider if s.key.startswith("det_threshold"))
    assert slider.value == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert (clean >= slider.value).mean() <= 0.05
    captions = " ".join(c.value for c in at.caption)
    assert "calibrated at 5% false positives on 100 clean validation images" in captions
    assert "held-out digits 250–349" in captions
    table = at.table[0].value
    rows = {r["version"]: r for r in table.to_dict("records")}
    assert rows["clean"]["attack succeeded"] == "—" and rows["clean"]["recovered label"] == "—"
    assert rows["clean"]["verdict"] in ("clean", "perturbed (false positive)")
    for name, r in rows.items():
        if name == "clean":
            continue
        if r["attack succeeded"] == "no":
            assert r["verdict"] == "— (attack failed)" and r["recovered label"] == "—"
        else:
            assert r["attack succeeded"] == "yes"
            flagged = r["score"] >= slider.value
            assert r["verdict"] == ("perturbed (detected)" if flagged else "clean (missed)")
    assert rows["DeepFool"]["attack succeeded"] == "yes"
    assert "The crossed boundary (outlined bars)" in captions
    bars = [t for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"] if t["type"] == "bar"]
    assert sum(max(b["marker"]["line"]["width"]) == 3 for b in bars) >= 2  # clean and DeepFool at least


def test_page_scores_the_image_and_evaluates_a_batch():
    at = _page()
    charts = at.get("plotly_chart")
    assert len(charts) == 1  # the image's versions; no batch yet
    versions = json.loads(charts[0].proto.spec)
    assert sum(t["type"] == "bar" for t in versions["data"]) == 5
    assert len(at.table) == 1 and len(at.table[0].value) == 5 and not at.dataframe
    at.slider(key="det_n").set_value(5)
    at.multiselect(key="det_attacks").set_value(["deepfool"])
    next(b for b in at.button if b.label == "Evaluate batch").click()
    at.run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 3  # versions, ROC, histogram
    roc_names = [t.get("name", "") for t in specs[1]["data"]]
    table = at.dataframe[0].value
    assert list(table["attack"]) == ["DeepFool"]
    assert f"DeepFool (AUC {float(table['AUC'][0]):.3f})" in roc_names  # the table and the curve agree
    # the threshold slider moves the operating point without recomputing
    slider = next(s for s in at.slider if s.key.startswith("det_threshold"))
    slider.set_value(slider.max)
    at.run()
    assert not at.exception
    assert float(at.dataframe[0].value["TPR @ t"][0]) == 0.0


@pytest.mark.slow
def test_page_with_an_imagenet_model_waits_for_the_button():
    """resnet18 (random weights, 1000 classes, 5 photos): renders without computing the heavy scores, with
    a valid image-count slider for the 5-image set, the top-2 classes and T = 6 by default, and a time estimate."""
    at = AppTest.from_file("../app/streamlit_app.py", default_timeout=240)
    at.run()
    at.selectbox(key="model_choice").set_value("torchvision (ImageNet)")
    at.run()
    at.selectbox(key="tv_arch").set_value("resnet18")
    at.radio(key="tv_weights").set_value("random")
    at.run()
    at.switch_page("app_pages/detection.py")
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert not at.get("plotly_chart")  # nothing heavy computed on load
    assert "det_versions_result" not in at.session_state
    assert any(b.key == "det_score_image" for b in at.button)
    assert at.number_input(key="det_classes_1000").value == 2 and at.number_input(key="det_directions").value == 6
    assert any("estimated from one timed forward/backward pass" in i.value for i in at.info)
    count = at.slider(key="det_n")  # the 5-photo set: a valid 1..5 range (min == max used to raise)
    assert (count.min, count.max, count.value) == (1, 5, 5)
    assert any("Large input" in i.value for i in at.info)
    assert any("no validation images" in c.value for c in at.caption)  # t defaults to 0, and says why

    # asked for (cheaply: T = 1, the top 2 classes), the scores appear and survive display-only changes
    at.number_input(key="det_directions").set_value(1)
    at.number_input(key="det_classes_1000").set_value(2)
    at.run()
    assert not at.get("plotly_chart")
    at.button(key="det_score_image").click()
    at.run()
    assert not at.exception and not at.error
    bars = [t for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"] if t["type"] == "bar"]
    assert len(bars) == 5 and all(len(b["x"]) == 2 for b in bars)  # only the 2 scored classes drawn
    at.segmented_control(key="det_statistic").set_value("min")
    at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
