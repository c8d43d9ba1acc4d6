"""AppTest: "your model file" in the sidebar (a model upload with an uploaded card or the card form) through
every page that reads the selection, and "your data set" (.npz / .zip) as the sample set of every view."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

import geometry.user_data as user_data
from app import state
from tests.app_util import ENTRY
from tests.user_models import card, save_exported, save_torchscript, tiny_cifar_net

PAGES = ("home", "cross_sections", "curvature", "paths", "detection", "findings")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("page_user")
    return {"relu.ts": save_torchscript(tiny_cifar_net("relu"), d / "relu.ts").read_bytes(),
            "softplus.pt2": save_exported(tiny_cifar_net("softplus"), d / "softplus.pt2").read_bytes()}


def _zip_set(folders=("cat", "cat", "ship", "dog", "dog"), size=(32, 32)) -> bytes:
    rng, buf = np.random.default_rng(0), io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, folder in enumerate(folders):
            png = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)).save(png, format="PNG")
            z.writestr(f"{folder}/{i}.png", png.getvalue())
    return buf.getvalue()


def _app() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.run()
    return at


def _upload(at: AppTest, key: str, name: str, data: bytes) -> None:
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream"))


def _your_model(at: AppTest, name: str, data: bytes, card_dict: dict | None) -> AppTest:
    at.selectbox(key=state.MODEL_CHOICE).set_value("your model file").run()
    _upload(at, state.MODEL_FILE_UPLOAD, name, data)
    if card_dict is not None:
        _upload(at, state.CARD_UPLOAD, "card.json", json.dumps(card_dict).encode())
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.slow
@pytest.mark.parametrize(("file", "act"), [("relu.ts", "relu"), ("softplus.pt2", "softplus")])
def test_your_model_file_runs_on_every_page(model_files, file, act):
    at = _your_model(_app(), file, model_files[file], card(act))
    sel = at.session_state[state.SELECTION]
    assert not at.exception and not _errors(at)
    assert sel.model.name == f"tiny-cifar-{act}" and sel.image.shape == (3, 32, 32)
    assert sel.model.card.extra["format"] == ("torchscript" if file.endswith(".ts") else "torch.export")
    at.session_state["curv_solver"] = "lanczos"  # the full 3071-curvature spectrum would take minutes here
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert not _errors(at), (page, _errors(at))
        assert at.session_state[state.SELECTION].model.name == f"tiny-cifar-{act}", page
    at.switch_page("app_pages/home.py").run()
    assert any("tiny-cifar" in c.value for c in at.sidebar.caption)


@pytest.mark.slow
def test_uploaded_zip_is_the_sample_set_of_the_views(model_files):
    at = _your_model(_app(), "softplus.pt2", model_files["softplus.pt2"], card("softplus"))
    _upload(at, state.DATA_UPLOAD, "mine.zip", _zip_set())
    at.run()
    assert not at.exception and not _errors(at)
    picker = at.number_input(key=state.SAMPLE_INDEX)
    assert picker.max == 4 and "(0–4)" in picker.label
    assert any("mine.zip**, 5 images with labels" in c.value for c in at.sidebar.caption)
    picker.set_value(0).run()
    sel = at.session_state[state.SELECTION]
    assert sel.image_name == "cat/0.png" and sel.true_label == 3  # CIFAR-10's "cat"
    assert "|data:" in sel.model_key  # results that read the sample set are keyed by it
    at.number_input(key=state.SAMPLE_INDEX).set_value(2).run()
    assert at.session_state[state.SELECTION].image_name == "dog/3.png"  # sorted: cat/0, cat/1, dog/3, …
    at.switch_page("app_pages/cross_sections.py").run()
    at.selectbox(key="xs_kind").set_value("three images").run()
    assert not at.exception and any("(0–4)" in n.label for n in at.number_input)  # the three-images form
    at.file_uploader(key=state.DATA_UPLOAD).set_value(None).run()  # cleared: back to the shipped photos
    assert at.session_state[state.USER_DATA] is None
    assert not at.session_state[state.SELECTION].image_name.endswith(".png")  # a shipped photo's name


def test_uploaded_npz_with_the_embedded_model():
    images = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    at = _app()
    _upload(at, state.DATA_UPLOAD, "digits.npz", _npz(images=images, labels=np.arange(7)))
    at.run()
    sel = at.session_state[state.SELECTION]
    assert at.number_input(key=state.SAMPLE_INDEX).max == 6
    assert np.array_equal(sel.image[0], images[sel.true_label] / np.float32(255))


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_card_form_validates_and_offers_the_card_for_download(model_files):
    at = _your_model(_app(), "relu.ts", model_files["relu.ts"], None)
    assert any("give its card" in i.value for i in at.info) and at.session_state[state.SELECTION] is None
    at.text_input(key="card_std").set_value("0.2, 0, 0.2")
    at.button[0].click()  # the form's submit button: the only button before a card exists
    at.run()
    assert any("std must be positive" in e for e in _errors(at))
    at.text_input(key="card_std").set_value("0.25, 0.25, 0.25")
    at.text_area(key="card_classes").set_value("cat\ndog")
    at.button[0].click()
    at.run()
    assert any("the model has 10 outputs but the card lists 2 classes" in e for e in _errors(at))
    saved = json.loads(at.session_state[state.CARD_JSON])
    assert saved["class_names"] == ["cat", "dog"] and saved["std"] == [0.25, 0.25, 0.25]
    at.text_area(key="card_classes").set_value("10")
    at.button[0].click()
    at.run()
    assert not _errors(at) and at.session_state[state.SELECTION].model.num_classes == 10
    assert len(at.get("download_button")) >= 1  # "Download this card (.json)"


@pytest.mark.parametrize(("card_changes", "message"), [
    ({"input_shape": [3, 28, 28]}, r"the card says inputs are \(3, 28, 28\), but the program was exported"),
    ({"class_names": list("abcde")}, "the model has 10 outputs but the card lists 5 classes"),
    ({"mean": "grey"}, "model card: mean must be a number or a list of 3 numbers"),
])
def test_a_card_that_does_not_fit_gets_its_message(model_files, card_changes, message):
    at = _your_model(_app(), "softplus.pt2", model_files["softplus.pt2"], card("softplus", **card_changes))
    assert not at.exception and any(re.search(message, e) for e in _errors(at)), _errors(at)
    assert at.session_state[state.SELECTION] is None


def test_pickled_model_file_is_refused(tmp_path):
    torch.save(tiny_cifar_net(), tmp_path / "whole.pt")
    at = _your_model(_app(), "whole.pt", (tmp_path / "whole.pt").read_bytes(), card())
    assert not at.exception and any("contains Python objects other than tensors" in e for e in _errors(at))


@pytest.mark.parametrize(("data", "message"), [
    (_zip_set(("../up",)), "points outside the archive; refused"),
    (b"PK\x03\x04 not really a zip", "is not a readable zip archive"),
    ("bomb", "possible zip bomb"),
])
def test_bad_data_set_gets_its_message_and_the_shipped_samples_stay(monkeypatch, data, message):
    if data == "bomb":
        monkeypatch.setattr(user_data, "MAX_UNCOMPRESSED_BYTES", 2**20)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("a/x.png", bytes(4 * 2**20))
        data = buf.getvalue()
    at = _app()
    _upload(at, state.DATA_UPLOAD, "bad.zip", data)
    at.run()
    assert not at.exception
    assert any(message in e and "Using the shipped samples instead" in e for e in _errors(at)), _errors(at)
    sel = at.session_state[state.SELECTION]
    assert sel is not None and sel.model.name == "mnist-relu-cnn" and "|data:" not in sel.model_key
