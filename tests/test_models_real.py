"""Issue 10's models and data: the IDX parser, the Fashion-MNIST samples, the cards' numbers, and the robust
models' robustness measured again here on a small batch."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import torch

import geometry as g
from geometry.attacks import pgd
from geometry.datasets import FASHION_CLASSES, DatasetError, read_idx
from geometry.loading import MODELS_DIR

NEW_MODELS = ("fmnist-relu-cnn", "fmnist-softplus-cnn", "fmnist-robust-cnn", "mnist-robust-cnn")
IMAGE_MODELS = ("mnist-relu-cnn", "mnist-softplus-cnn", *NEW_MODELS)


def _idx(dtype_code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    head = bytes([0, 0, dtype_code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)
    return head + payload


def test_idx_parser_reads_a_hand_made_file(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(_idx(0x08, (2, 3, 4), images.tobytes()))
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), images)
    ints = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "b.idx.gz").write_bytes(gzip.compress(_idx(0x0C, (3,), ints.tobytes())))
    assert read_idx(tmp_path / "b.idx.gz").tolist() == [1, -2, 70000]  # big-endian int32, gzipped


def test_idx_parser_refuses_bad_files(tmp_path):
    (tmp_path / "magic.idx").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(tmp_path / "magic.idx")
    (tmp_path / "short.idx").write_bytes(_idx(0x08, (10,), b"\x00" * 9))
    with pytest.raises(DatasetError, match="holds 9"):
        read_idx(tmp_path / "short.idx")


def test_fashion_heldout_ships_with_class_names():
    s = g.samples_for((1, 28, 28), "fashion-mnist")
    assert len(s.images) >= 1000 and s.images.shape[1:] == (1, 28, 28)
    assert set(np.unique(s.labels)) == set(range(10))
    assert "true Trouser" in " ".join(s.names) and FASHION_CLASSES[1] == "Trouser"
    assert g.samples_for((1, 28, 28), "mnist").names[0].startswith("test digit")


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_cards_carry_data_recipe_and_robustness(name):
    card = json.loads((MODELS_DIR / f"{name}.json").read_text())
    for key in ("dataset", "training", "seed", "test_accuracy", "pgd_l2", "deepfool_median_l2", "train_seconds"):
        assert key in card, f"{name}: card lacks {key}"
    assert card["pgd_l2"]["eps"] > 0 and card["pgd_l2"]["images"] >= 500
    if name.startswith("fmnist"):
        assert card["test_images"] == 10_000
    if "robust" in name:
        assert card["adversarial_eps_l2"] == card["pgd_l2"]["eps"]
        assert "adversarial training" in card["training"]


def test_fashion_relu_cnn_meets_the_accuracy_bar():
    assert json.loads((MODELS_DIR / "fmnist-relu-cnn.json").read_text())["test_accuracy"] >= 0.90


@pytest.mark.parametrize("standard, robust", [("mnist-relu-cnn", "mnist-robust-cnn"),
                                              ("fmnist-relu-cnn", "fmnist-robust-cnn")])
def test_robust_model_resists_pgd_better_than_its_twin(standard, robust):
    accuracies = {}
    for name in (standard, robust):
        model = g.load_embedded(name, device="cpu")
        s = g.samples_for(model.input_shape, model.card.dataset)
        x, y = torch.from_numpy(s.images[:64]), s.labels[:64]
        res = pgd(model, x, eps=1.0, norm="l2", steps=10)
        accuracies[name] = float((res.adv_label == y).mean())
    assert accuracies[robust] > accuracies[standard] + 0.1, accuracies
