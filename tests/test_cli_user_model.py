"""`decision-atlas curvature / detect / paths --model file:PATH [--card CARD.json]` on tiny CIFAR-shaped
TorchScript and torch.export models, with a .zip data set of class folders."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from tests.user_models import card, save_exported, save_torchscript, tiny_cifar_net, write_card


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """relu/softplus nets as .ts and .pt2; cards beside the .ts files and in cards/ for the .pt2 files;
    a .zip of six 32x32 noise images in the class folders cat/, ship/ and 2/ (bird)."""
    d = tmp_path_factory.mktemp("cli_user")
    (d / "cards").mkdir()
    for act in ("relu", "softplus"):
        net = tiny_cifar_net(act)
        save_torchscript(net, d / f"{act}.ts")
        write_card(d / f"{act}.json", card(act))
        save_exported(net, d / f"{act}.pt2")
        write_card(d / "cards" / f"{act}.json", card(act))
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(d / "images.zip", "w") as z:
        for i, folder in enumerate(["cat", "cat", "ship", "ship", "2", "2"]):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, format="PNG")
            z.writestr(f"set/{folder}/{i}.png", buf.getvalue())
    return d


def _model_args(d, fmt: str, act: str) -> list[str]:
    if fmt == "ts":  # the card beside the model is found on its own
        return ["--model", f"file:{d / f'{act}.ts'}"]
    return ["--model", f"file:{d / f'{act}.pt2'}", "--card", str(d / "cards" / f"{act}.json")]


@pytest.mark.parametrize("fmt", ["ts", "pt2"])
@pytest.mark.parametrize("act", ["relu", "softplus"])
def test_curvature_on_your_model(workdir, fmt, act, capsys):
    out = workdir / f"curv-{fmt}-{act}.json"
    assert main(["curvature", *_model_args(workdir, fmt, act), "--images", str(workdir / "images.zip"),
                 "--limit", "2", "--solver", "lanczos", "--k", "2", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    rows = data["spectra"]
    assert [r["name"] for r in rows] == ["set/2/4.png", "set/2/5.png"]  # sorted members, first two
    assert [r["true_label"] for r in rows] == [2, 2]  # folder "2" is class number 2
    assert {r["method"] for r in rows} == {"exact" if act == "softplus" else "fd"}  # the card's smooth flag
    assert all(r["max_curvature"] >= r["min_curvature"] and len(r["eigenvalues"]) == 4 for r in rows)
    assert data["config"]["card"] == (None if fmt == "ts" else str(workdir / "cards" / f"{act}.json"))
    assert "2 spectra" in capsys.readouterr().out


@pytest.mark.parametrize(("fmt", "act"), [("ts", "relu"), ("pt2", "softplus")])
def test_detect_on_your_model(workdir, fmt, act):
    out = workdir / f"det-{fmt}-{act}.json"
    assert main(["detect", *_model_args(workdir, fmt, act), "--images", str(workdir / "images.zip"),
                 "--attack", "fgsm", "--directions", "2", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert np.shape(data["clean"]["class_scores"]) == (6, 10)
    assert data["clean"]["true_label"] == [2, 2, 3, 3, 8, 8]  # 2/, cat/, ship/ in CIFAR-10's class order
    assert data["config"]["method"] == ("exact" if act == "softplus" else "fd")


@pytest.mark.parametrize(("fmt", "act"), [("pt2", "relu"), ("ts", "softplus")])
def test_paths_on_your_model(workdir, fmt, act):
    out = workdir / f"paths-{fmt}-{act}.json"
    assert main(["paths", *_model_args(workdir, fmt, act), "--images", str(workdir / "images.zip"),
                 "--pairs", "1", "--adversarial", "1", "--max-depth", "3", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    kinds = {row["pairs"]: row for row in data["rows"]}
    assert sum(row["n_pairs"] for row in kinds.values()) >= 1
    assert data["config"]["model"].startswith("file:")


def test_bad_card_is_an_error_message_not_a_traceback(workdir, capsys):
    bad = write_card(workdir / "bad.json", card(class_names=list("abc")))
    code = main(["curvature", "--model", f"file:{workdir / 'relu.pt2'}", "--card", str(bad),
                 "--out", str(workdir / "x.json")])
    assert code == 2
    assert "the model has 10 outputs but the card lists 3 classes" in capsys.readouterr().err


def test_bad_data_set_is_an_error_message(workdir, tmp_path, capsys):
    escape = tmp_path / "escape.zip"
    with zipfile.ZipFile(escape, "w") as z:
        z.writestr("../up.png", b"x")
    code = main(["curvature", "--model", f"file:{workdir / 'relu.ts'}", "--images", str(escape),
                 "--out", str(tmp_path / "x.json")])
    assert code == 2 and "points outside the archive; refused" in capsys.readouterr().err
