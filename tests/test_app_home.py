"""AppTest: the shell and the home page on the embedded default model."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import state
from tests.plotly_util import chart_specs

ENTRY = str(Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    return at


def test_home_shows_prediction_and_deepfool_for_the_default_digit(app):
    assert not app.exception
    sel = app.session_state[state.SELECTION]
    assert sel.model.name == "mnist-relu-cnn" and sel.image.shape == (1, 28, 28)
    charts = chart_specs(app)
    assert len(charts) == 3  # image, top-5 bar, DeepFool triptych
    bar = charts[1]
    assert bar["data"][0]["type"] == "bar" and len(bar["data"][0]["x"]) == 5
    assert abs(sum(bar["data"][0]["x"]) - 1) < 0.1  # top-5 probabilities of a confident digit
    labels = [m.label for m in app.metric]
    assert labels == ["‖r(x)‖ (L2)", "‖r‖ / ‖x‖", "distance to boundary", "new label"]
    assert 0 < float(app.metric[1].value) < 0.5
    text = "".join(md.value for md in app.markdown)
    # a fresh session opens on Home's example (a typical digit, by the rule the banner states)
    example = int(re.search(r"\*\*Example\*\* \(sample #(\d+)\): a typical image", text).group(1))
    assert app.session_state[state.SAMPLE_INDEX] == example and sel.image_name.startswith(f"test digit #{example} ")
    assert re.search(r"On \*\*\d+ of \d+\*\* of them", text) and "Predicted **" in text


def test_changing_the_sample_changes_the_selection(app):
    first = app.session_state[state.SELECTION].image_key
    app.number_input(key=state.SAMPLE_INDEX).set_value(7).run()
    assert not app.exception
    assert app.session_state[state.SELECTION].image_key != first


def test_switching_to_the_smooth_model(app):
    app.selectbox(key=state.MODEL_CHOICE).set_value("mnist-softplus-cnn").run()
    assert not app.exception
    assert app.session_state[state.SELECTION].model.card.smooth is True


@pytest.mark.slow
def test_random_torchvision_model_runs_on_a_photo(app):
    app.selectbox(key=state.MODEL_CHOICE).set_value("torchvision (ImageNet)").run()
    app.selectbox(key=state.TV_ARCH).set_value("resnet18").run()
    app.radio(key=state.TV_WEIGHTS).set_value("random").run()
    assert not app.exception
    sel = app.session_state[state.SELECTION]
    assert sel.image.shape == (3, 224, 224) and sel.model.num_classes == 1000


def test_offline_pretrained_weights_show_a_message_not_a_traceback(app, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    app.selectbox(key=state.MODEL_CHOICE).set_value("torchvision (ImageNet)").run()
    app.selectbox(key=state.TV_ARCH).set_value("alexnet").run()
    assert not app.exception
    if app.session_state[state.SELECTION] is None:  # no cached weights and no network: the usual case here
        assert any("not available offline" in e.value for e in app.sidebar.error)


@pytest.mark.parametrize("page", ["cross_sections", "curvature", pytest.param("paths", marks=pytest.mark.slow),
                                  pytest.param("detection", marks=pytest.mark.slow), "toy"])
def test_every_page_renders_without_exception(app, page):
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception


@pytest.mark.parametrize("page", ["cross_sections", "curvature", "paths"])
def test_a_second_session_replays_cached_results_without_error(page):
    """Progress bars drawn inside st.cache_data functions must not break the replay on a cache hit."""
    for _ in range(2):  # the second session gets every result from the cache
        at = AppTest.from_file(ENTRY, default_timeout=120)
        at.run()
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception
        assert not at.error
