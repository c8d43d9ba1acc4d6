"""The `decision-atlas` command: batch subcommands write JSON with their config, bad arguments fail clearly."""

import json

import pytest
import torch

from app.cli import main


def test_models_lists_the_embedded_models(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "mnist-relu-cnn" in out and "mnist-softplus-cnn" in out


def test_curvature_command_writes_spectra(tmp_path, capsys):
    out = tmp_path / "spectra.json"
    assert main(["curvature", "--model", "mnist-softplus-cnn", "--limit", "2", "--solver", "lanczos",
                 "--k", "3", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["config"]["solver"] == "lanczos" and len(data["spectra"]) == 2
    for row in data["spectra"]:
        assert row["max_curvature"] >= row["min_curvature"]
        assert row["eigenvalues"] == sorted(row["eigenvalues"], reverse=True)
        assert row["true_label"] in range(10) and row["target"] != row["label"]
    assert "2 spectra" in capsys.readouterr().out


def test_paths_command_writes_the_table(tmp_path, relu_cnn, digits):
    out = tmp_path / "paths.json"
    assert main(["paths", "--model", "mnist-relu-cnn", "--limit", "60", "--pairs", "2", "--adversarial", "1",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    kinds = {row["pairs"]: row for row in data["rows"]}
    assert set(kinds) >= {"same class"} and kinds["same class"]["n_pairs"] == 2
    pred = relu_cnn.predict(torch.from_numpy(digits.images[:60]))
    same = data["pairs"]["same class"]  # indices into the 60 images: two distinct images of one class
    assert len(same) == 2 and all(i != j and pred[i] == pred[j] for i, j in same)
    assert kinds["same class"]["fraction_connected"] in (0.0, 0.5, 1.0)  # a share of exactly these 2 pairs


def test_unknown_model_is_an_error_message_not_a_traceback(tmp_path, capsys):
    assert main(["curvature", "--model", "nope", "--out", str(tmp_path / "x.json")]) == 2
    assert "no embedded model 'nope'" in capsys.readouterr().err


def test_bad_images_argument(tmp_path):
    with pytest.raises(SystemExit, match="is not 'samples', 'digits', 'photos', an .npz or .zip file or a folder"):
        main(["paths", "--model", "mnist-relu-cnn", "--images", "nowhere", "--out", str(tmp_path / "x.json")])
