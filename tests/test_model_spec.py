"""geometry.load_model: the one parser of model specs that the CLI and the app share."""

from __future__ import annotations

import pytest
import torch
import torchvision

import geometry as g


def test_embedded_name_loads_the_embedded_model():
    model = g.load_model("mnist-softplus-cnn", device="cpu")
    assert model.name == "mnist-softplus-cnn" and model.input_shape == (1, 28, 28)


def test_torchvision_random_weights():
    model = g.load_model("tv:resnet18:random", device="cpu")
    assert model.input_shape == (3, 224, 224) and model.num_classes == 1000
    assert "random" in model.name


def test_torchvision_checkpoint_from_a_path_and_from_uploaded_bytes(tmp_path):
    net = torchvision.models.resnet18(num_classes=5).eval()
    path = tmp_path / "five.pt"
    torch.save(net.state_dict(), path)
    x = torch.rand(1, 3, 224, 224)
    from_path = g.load_model(f"tv:resnet18:{path}", device="cpu")
    from_bytes = g.load_model("tv:resnet18:upload.pt", data=path.read_bytes(), device="cpu")
    assert from_path.num_classes == from_bytes.num_classes == 5
    assert torch.allclose(from_path.logits(x), from_bytes.logits(x))


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty model spec"),
    ("nope", "no embedded model 'nope'"),
    ("tv:", "no architecture after 'tv:'"),
    ("tv:resnet9000", "not a torchvision classification model"),
    ("tv:resnet18:/no/such/file.pt", "no such file: /no/such/file.pt"),
])
def test_bad_specs_get_a_clear_message(spec, message):
    with pytest.raises(g.ModelLoadError, match=message):
        g.load_model(spec)
