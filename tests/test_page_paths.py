"""AppTest of the connecting-paths page: default run, adversarial pair, map-picked pair, batch table."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_util import chart, metrics, open_page

FIND = "FormSubmitter:paths_form-Find path"
BATCH = "FormSubmitter:paths_batch_form-Run batch"


@pytest.fixture
def page() -> AppTest:
    return open_page("paths", timeout=120)


@pytest.mark.slow
def test_default_pair_runs_on_load(page):
    m = metrics(page)
    assert m["connected"] in ("yes", "no", "not certified") and int(m["segments"]) >= 1
    captions = " ".join(c.value for c in page.caption)
    verdict = {"yes": "connected (certified at resolution", "no": "not connected",
               "not certified": "not certified"}[m["connected"]]
    assert verdict in captions and "min margin" in captions  # the certification is stated beside the metric
    probs = chart(page, "paths_probs")
    names = [t.get("name") for t in probs["data"]]
    assert "straight line" in names and "found path" in names


def test_adversarial_pair(page):
    # digit #0 and its first partner: on mnist-relu-cnn the straight line from its DeepFool image to that
    # partner leaves the region (checked with geometry.paths.connecting_path); not the page's own example pair
    page.number_input(key="sample_index").set_value(0).run()
    page.radio(key="paths_mode").set_value("Adversarial image ↔ natural image").run()
    page.selectbox(key="paths_partner").select_index(0).run()  # the first partner, as on a plain start
    assert any("press" in i.value for i in page.info)  # the old result is not shown for new ends
    page.button(key=FIND).click().run()
    assert not page.exception and not page.error
    m = metrics(page)
    # the adversarial image sits across a boundary from the straight line's other end: the path bends
    assert m["connected"] == "yes" and m["straight line inside"] == "no" and int(m["segments"]) >= 2
    plane = chart(page, "paths_plane")
    z = plane["data"][0]["z"]
    assert plane["data"][0]["type"] == "heatmap"
    assert (z["shape"] == "41, 41") if isinstance(z, dict) else len(z) == 41  # plotly may binary-encode


def test_map_picks_with_different_classes_warn(page):
    page.session_state["paths_picks"] = [0, 1]  # two held-out digits of different classes
    page.run()
    page.radio(key="paths_mode").set_value("Two points picked on the map").run()
    assert not page.exception
    assert page.warning and "different" in page.warning[0].value


@pytest.mark.slow
def test_batch_table(page):
    page.number_input(key="paths_n_same").set_value(2)
    page.number_input(key="paths_n_adv").set_value(1)
    page.button(key=BATCH).click().run()
    assert not page.exception and not page.error
    df = page.dataframe[0].value
    assert list(df["pairs"]) == ["same class", "adversarial ↔ natural"]
    assert not any("_" in c for c in df.columns), list(df.columns)  # readable names, not raw field names
    shares = df["connected"].str.rstrip("%").astype(float)
    assert "smallest label margin (median)" in df.columns and "not certified (no check outside)" in df.columns
    pairs = page.dataframe[1].value
    assert len(pairs) == 3
    for kind, share in zip(df["pairs"], shares, strict=True):  # each share is that of the listed pairs
        assert share == pytest.approx(100 * pairs["connected"][pairs["pairs"] == kind].mean(), abs=0.5)
    # a row opens: the pair's first image becomes the sidebar's, its second the partner, the path is found
    page.selectbox(key="paths_open_pair").set_value(2).run()  # the adversarial pair
    assert not page.exception and not page.error
    i, j = int(pairs["x1: sample #"][2]), int(pairs["x2: sample #"][2])
    assert page.session_state["sample_index"] == i and page.session_state["paths_partner"] == j
    assert page.session_state["paths_mode"] == "Adversarial image ↔ natural image"
    assert f"#{i} " in page.session_state["selection"].image_name + " "
    # the path for the opened pair is shown at once, with the table's verdict
    assert (metrics(page)["connected"] == "yes") == bool(pairs["connected"][2])
    # another model: the table computed for the first one is not shown as if it were the new model's
    page.selectbox(key="model_choice").set_value("mnist-softplus-cnn").run()
    assert not page.exception
    assert not any("pairs tried" in getattr(d.value, "columns", []) for d in page.dataframe)


def test_a_fresh_session_opens_on_the_stated_example(page):
    """The rule's pair (lowest dip of the straight line) is opened and said; the share is beside it."""
    import numpy as np
    import torch

    from app.examples import N_PAIRS

    text = " ".join(m.value for m in page.markdown)
    i, j = page.session_state["sample_index"], page.session_state["paths_partner"]
    assert f"**Example** (sample #{i} → #{j})" in text and f"of {N_PAIRS}** pairs" in text
    assert metrics(page)["connected"] in ("yes", "no")
    page.button(key="examples_paths_random").click().run()  # a random pair of the same scan
    assert not page.exception and page.session_state["user_picked"]
    pair = (page.session_state["sample_index"], page.session_state["paths_partner"])
    assert np.any(np.all(_scan(page).pairs == np.array(pair), axis=1))
    sel = page.session_state["selection"]  # only correctly classified samples pair up
    assert int(sel.model.predict(torch.from_numpy(sel.image)[None])[0]) == sel.true_label


def _scan(page):
    """The pairs the page's scan drew: the same rule, recomputed from the model and its sample set."""
    import numpy as np
    import torch

    import geometry as g
    from app.examples import N_PAIRS
    from geometry.examples import same_class_pairs
    model = page.session_state["selection"].model
    samples = g.samples_for(model.input_shape, model.card.dataset)
    pred = model.predict(torch.from_numpy(samples.images)).numpy()
    pred = np.where(pred == samples.labels, pred, -1 - np.arange(len(pred)))  # correctly classified only
    class Scan:
        pairs = same_class_pairs(pred, N_PAIRS, seed=0)
    return Scan
