"""AppTest of the defects a new user met in the shared sidebar (issue 12, item 8): the chosen image survives
model switches, upload detours and page changes; model names fit; the upload boxes state their own limits."""

from __future__ import annotations

import pytest

from app import state
from tests.app_util import open_page


@pytest.fixture
def app():
    return open_page(timeout=180)


def _random_resnet(at) -> None:
    """Switch to a random-weight resnet18 without ever asking for pretrained weights (no network here)."""
    at.session_state[state.TV_ARCH] = "resnet18"
    at.session_state[state.TV_WEIGHTS] = "random"
    at.selectbox(key=state.MODEL_CHOICE).set_value("torchvision (ImageNet)").run()


def _image(at) -> str:
    """The chosen image's name with a trailing space, so "#7 " cannot match "#70"."""
    return at.session_state[state.SELECTION].image_name + " "


def test_sample_survives_a_model_switch_an_upload_detour_and_pages(app):
    app.number_input(key=state.SAMPLE_INDEX).set_value(7).run()
    assert _image(app).count("#7 ")
    app.switch_page("app_pages/tour.py").run()  # a page that computes nothing: the sidebar alone is tested
    app.selectbox(key=state.MODEL_CHOICE).set_value("fmnist-relu-cnn").run()  # another sample set
    assert not app.exception and app.session_state[state.SELECTION].model.card.dataset == "fashion-mnist"
    app.number_input(key=state.SAMPLE_INDEX).set_value(11).run()
    app.selectbox(key=state.MODEL_CHOICE).set_value(state.EMBEDDED_DEFAULT).run()
    assert _image(app).count("#7 ")  # back on the digits: the digit chosen before, not sample 0
    assert any("another sample set" in c.value for c in app.sidebar.caption)  # said, not silent
    app.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()  # the sample widget is not drawn here
    app.radio(key=state.IMAGE_SOURCE).set_value("Sample").run()
    assert _image(app).count("#7 ")
    app.switch_page("app_pages/toy.py").run()  # a page that needs no image
    app.switch_page("app_pages/home.py").run()
    assert not app.exception and _image(app).count("#7 ")
    app.switch_page("app_pages/tour.py").run()
    app.selectbox(key=state.MODEL_CHOICE).set_value("fmnist-relu-cnn").run()
    assert _image(app).count("#11 ")  # the fashion set kept its own choice too


def test_model_names_fit_the_sidebar(app):
    box = app.selectbox(key=state.MODEL_CHOICE)
    labels = [box.format_func(o) if callable(getattr(box, "format_func", None)) else o for o in box.options]
    assert labels and all(len(label) <= 30 for label in labels), labels
    assert any("mnist-relu-cnn** (embedded" in c.value for c in app.sidebar.caption)  # details: the caption


def test_upload_boxes_state_their_own_limits(app):
    app.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    up = next(u.proto for u in app.get("file_uploader") if u.proto.id.endswith(f"-{state.UPLOAD}"))
    assert up.max_upload_size_mb == 20 and "≤" not in up.label  # not "≤ 20 MB" beside "1GB per file"


def test_draw_source_only_for_one_channel_models_and_never_a_traceback(app):
    """The canvas itself needs a browser (tests/test_browser.py draws on it); here: the source is offered for
    the 1-channel digits and taken away, back to samples, for a colour model."""
    assert "Draw" in app.radio(key=state.IMAGE_SOURCE).options
    app.switch_page("app_pages/tour.py").run()  # a page that computes nothing: the sidebar alone is tested
    app.radio(key=state.IMAGE_SOURCE).set_value("Draw").run()
    assert not app.exception and app.session_state[state.SELECTION] is None  # nothing drawn yet
    _random_resnet(app)
    assert not app.exception
    assert "Draw" not in app.radio(key=state.IMAGE_SOURCE).options
    assert app.radio(key=state.IMAGE_SOURCE).value == "Sample"
