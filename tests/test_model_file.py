"""Your own model file: TorchScript, torch.export (.pt2) and checkpoints with a model card, through
geometry.load_model("file:PATH", card=...), and a clear message for each bad input."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import torch
import torchvision
from torch import nn

import geometry as g
import geometry.model_file as model_file
from geometry.model_card import read_card
from tests.user_models import (
    CIFAR_CLASSES,
    INPUT_SHAPE,
    card,
    save_exported,
    save_torchscript,
    tiny_cifar_net,
    write_card,
)

MEAN = torch.tensor(card()["mean"]).reshape(1, 3, 1, 1)
STD = torch.tensor(card()["std"]).reshape(1, 3, 1, 1)


def _x(n: int = 3) -> torch.Tensor:
    return torch.rand((n, *INPUT_SHAPE), generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{(format, activation): path} for both tiny nets, each with its card next to it."""
    d = tmp_path_factory.mktemp("user_models")
    out = {}
    for act in ("relu", "softplus"):
        net = tiny_cifar_net(act)
        out["ts", act] = save_torchscript(net, d / f"{act}.ts")
        out["pt2", act] = save_exported(net, d / f"{act}.pt2")
        write_card(d / f"{act}.json", card(act))
    return out


@pytest.mark.parametrize("fmt", ["ts", "pt2"])
@pytest.mark.parametrize("act", ["relu", "softplus"])
def test_model_file_computes_the_nets_logits_with_the_cards_normalisation(files, fmt, act):
    model = g.load_model(f"file:{files[fmt, act]}", card=card(act), device="cpu")
    x = _x()
    with torch.no_grad():
        expected = tiny_cifar_net(act)((x - MEAN) / STD)
    assert torch.allclose(model.logits(x), expected, atol=1e-5)
    assert model.class_names == CIFAR_CLASSES and model.card.smooth is (act == "softplus")
    assert model.card.extra["format"] == {"ts": "torchscript", "pt2": "torch.export"}[fmt]


def test_card_next_to_the_model_file_is_picked_up(files):
    model = g.load_model(f"file:{files['ts', 'softplus']}", device="cpu")
    assert model.name == "tiny-cifar-softplus" and model.card.smooth is True


def test_no_card_anywhere_says_how_to_give_one(tmp_path):
    path = save_torchscript(tiny_cifar_net(), tmp_path / "lonely.ts")
    with pytest.raises(g.ModelLoadError, match=r"no model card for .*lonely.ts.*lonely.json next to the model"):
        g.load_model(f"file:{path}")


def test_bgr_card_feeds_the_net_reversed_channels(files):
    bgr = card("relu", channel_order="BGR", mean=card()["mean"][::-1], std=card()["std"][::-1])
    model = g.load_model(f"file:{files['ts', 'relu']}", card=bgr, device="cpu")
    x = _x()
    with torch.no_grad():
        expected = tiny_cifar_net("relu")((x.flip(1) - MEAN.flip(1)) / STD.flip(1))
    assert torch.allclose(model.logits(x), expected, atol=1e-5)


def test_program_exported_for_a_fixed_batch_takes_any_batch(tmp_path):
    path = save_exported(tiny_cifar_net("softplus"), tmp_path / "fixed.pt2", dynamic_batch=False, batch=2)
    model = g.load_model(f"file:{path}", card=card("softplus"), device="cpu")
    x = _x(5)  # two full pieces and one padded piece of 1
    with torch.no_grad():
        expected = tiny_cifar_net("softplus")((x - MEAN) / STD)
    assert torch.allclose(model.logits(x), expected, atol=1e-5)


def test_class_names_from_a_file_and_as_a_count(tmp_path, files):
    (tmp_path / "classes.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n")
    named = write_card(tmp_path / "named.json", card(class_names=None, class_names_file="classes.txt"))
    assert g.load_model(f"file:{files['ts', 'relu']}", card=named).class_names[9] == "c9"
    counted = card(class_names=None, num_classes=10)
    assert g.load_model(f"file:{files['ts', 'relu']}", card=counted).class_names[3] == "class 3"


def test_torchvision_checkpoint_with_arch_in_the_card(tmp_path):
    net = torchvision.models.resnet18(num_classes=10).eval()
    path = tmp_path / "r18.pt"
    torch.save(net.state_dict(), path)
    model = g.load_model(f"file:{path}", card=card(arch="resnet18"), device="cpu")
    x = _x(2)
    with torch.no_grad():
        assert torch.allclose(model.logits(x), net((x - MEAN) / STD), atol=1e-4)


def test_card_round_trips_through_json():
    c = read_card(card("softplus"))
    assert read_card(c.to_json().encode()) == c


# --- bad inputs ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "message"), [
    ({"input_shape": [32, 32]}, r"input_shape must be \[channels, height, width\]"),
    ({"input_shape": [4, 32, 32]}, "input_shape has 4 channels; image models take 1 or 3"),
    ({"channel_order": "GBR"}, "channel_order must be one of RGB, BGR"),
    ({"mean": [0.5, 0.5]}, r"mean must be a number or a list of 3 numbers"),
    ({"std": [0.2, 0.0, 0.2]}, "std must be positive"),
    ({"class_names": None}, "give exactly one of class_names"),
    ({"num_classes": 10}, "give exactly one of class_names .* got class_names, num_classes"),
    ({"class_names": ["a", "b", "a"]}, r"class names repeat \(a\)"),
    ({"smooth": "yes"}, "smooth must be true"),
    ({"inputshape": [3, 32, 32]}, "unknown field.*inputshape"),
    ({"class_names": None, "class_names_file": "nope.txt"}, "class_names_file can only be read from a card on disk"),
])
def test_bad_card_fields_get_a_message(files, changes, message):
    with pytest.raises(g.ModelLoadError, match=f"model card: {message}"):
        g.load_model(f"file:{files['ts', 'relu']}", card=card(**changes))


def test_card_that_is_not_json(files):
    with pytest.raises(g.ModelLoadError, match="model card: not valid JSON"):
        g.load_model(f"file:{files['ts', 'relu']}", card=b"{input_shape: [3, 32, 32]")


@pytest.mark.parametrize("fmt", ["ts", "pt2"])
def test_card_with_another_input_shape(files, fmt):
    message = {"ts": r"rejects input batches of shape \(2, 3, 28, 28\)",
               "pt2": r"card says inputs are \(3, 28, 28\), but the program was exported for .*\(\?, 3, 32, 32\)"}
    with pytest.raises(g.ModelLoadError, match=message[fmt]):
        g.load_model(f"file:{files[fmt, 'relu']}", card=card(input_shape=[3, 28, 28]))


@pytest.mark.parametrize("fmt", ["ts", "pt2"])
def test_card_with_another_number_of_classes(files, fmt):
    with pytest.raises(g.ModelLoadError, match="the model has 10 outputs but the card lists 5 classes"):
        g.load_model(f"file:{files[fmt, 'relu']}", card=card(class_names=list("abcde")))


class _Unsqueezed(nn.Module):
    def forward(self, x):
        return tiny_cifar_net()(x)[:, :, None]


class _Nan(nn.Module):
    def forward(self, x):
        return tiny_cifar_net()(x) * float("nan")


class _Detached(nn.Module):
    def forward(self, x):
        return tiny_cifar_net()(x.detach())


class _Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.arange(10.0))

    def forward(self, x):
        return self.bias.expand(x.shape[0], 10) + 0 * x.sum()


@pytest.mark.parametrize(("net", "error", "message"), [
    (_Unsqueezed(), g.ModelError, r"returns shape \(2, 10, 1\) for a batch of 2; expected logits of shape"),
    (_Nan(), g.ModelError, "outputs contain NaN or infinite values"),
    (_Detached(), g.ModelError, "no gradient with respect to its input .*does not require a gradient"),
    (_Constant(), g.ModelError, "no gradient with respect to its input .*zero everywhere"),
])
def test_misbehaving_models_get_a_message(tmp_path, net, error, message):
    path = save_exported(net.eval(), tmp_path / "bad.pt2")
    with pytest.raises(error, match=message):
        g.load_model(f"file:{path}", card=card())


def test_pickled_module_is_refused_and_not_run(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(tiny_cifar_net(), path)  # pickles the module's class: loading it would run code
    with pytest.raises(g.ModelLoadError, match="refused to load the checkpoint: it contains Python objects"):
        g.load_model(f"file:{path}", card=card())


class _Payload:
    """Any Python class: unpickling it means importing and running code of the file's choosing."""


def _rewrite_pt2(src, dst, edit):
    """Copy a .pt2 archive, passing each member's (name, bytes) through edit."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info)))
    return dst


def test_pt2_with_pickled_weights_is_refused_before_loading(files, tmp_path):
    def mark_pickled(name, data):
        if not name.endswith("model_weights_config.json"):
            return data
        config = json.loads(data)
        next(iter(config["config"].values()))["use_pickle"] = True
        return json.dumps(config).encode()

    path = _rewrite_pt2(files["pt2", "relu"], tmp_path / "pickled.pt2", mark_pickled)
    with pytest.raises(g.ModelLoadError, match=r"refused the .pt2 file: 0.weight is a pickled Python object"):
        g.load_model(f"file:{path}", card=card())


def test_pt2_with_pickled_sample_inputs_is_refused(files, tmp_path):
    payload = io.BytesIO()
    torch.save({"inputs": _Payload()}, payload)  # a Python object: not loadable with weights_only=True

    def swap(name, data):
        return payload.getvalue() if name.endswith("sample_inputs/model.pt") else data

    path = _rewrite_pt2(files["pt2", "relu"], tmp_path / "pickled_inputs.pt2", swap)
    with pytest.raises(g.ModelLoadError, match="refused the .pt2 file: .*sample_inputs/model.pt is a pickled"):
        g.load_model(f"file:{path}", card=card())


def test_checkpoint_without_arch_says_what_to_add(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(tiny_cifar_net().state_dict(), path)
    with pytest.raises(g.ModelLoadError, match=r"checkpoint \(weights only, no program\): add \"arch\""):
        g.load_model(f"file:{path}", card=card())


def test_files_over_the_limit_are_refused(files, monkeypatch):
    monkeypatch.setattr(model_file, "MAX_CHECKPOINT_BYTES", 1000)
    with pytest.raises(g.ModelLoadError, match="the model file is .* MiB; the limit is 0 MiB"):
        g.load_model(f"file:{files['ts', 'relu']}", card=card())


def test_garbage_file_and_missing_file(tmp_path):
    bad = tmp_path / "garbage.pt2"
    bad.write_bytes(b"this is not a model at all")
    with pytest.raises(g.ModelLoadError, match="not a readable checkpoint"):
        g.load_model(f"file:{bad}", card=card(arch="resnet18"))
    with pytest.raises(g.ModelLoadError, match="no such file"):
        g.load_model(f"file:{tmp_path / 'missing.pt2'}", card=card())
