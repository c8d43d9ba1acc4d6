"""Model sources and checkpoint safety: embedded cards, torchvision checkpoints, refusals with clear errors."""

import io
import pickle
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save as save_safetensors

import geometry as g
from geometry.nets import SmallCNN


def test_embedded_models_meet_the_accuracy_bar(digits):
    for name in ("mnist-relu-cnn", "mnist-softplus-cnn"):
        model = g.load_embedded(name, device="cpu")
        acc = (model.predict(torch.from_numpy(digits.images)).numpy() == digits.labels).mean()
        assert acc >= 0.95, name
        assert abs(acc - model.card.extra["test_accuracy"]) < 1e-3  # the card tells the truth
    assert g.load_embedded("mnist-softplus-cnn").card.smooth is True
    assert g.load_embedded("mnist-relu-cnn").card.smooth is False


def test_toy_model_is_a_plane_classifier():
    toy = g.load_embedded("toy-moons-mlp", device="cpu")
    assert toy.input_shape == (2,) and toy.num_classes == 2
    # the two moons' centres of mass fall in different classes
    assert toy.predict(torch.tensor([[0.0, 0.8], [1.0, -0.3]])).tolist() == [0, 1]


def test_unknown_embedded_model_lists_the_available_ones():
    with pytest.raises(g.ModelLoadError, match="mnist-relu-cnn"):
        g.load_embedded("nope")


def _resnet_bytes(num_classes: int, fmt: str) -> tuple[bytes, torch.nn.Module]:
    net = torchvision.models.resnet18(num_classes=num_classes).eval()
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    if fmt == "safetensors":
        return save_safetensors(state), net
    buf = io.BytesIO()
    torch.save({"state_dict": state}, buf)
    return buf.getvalue(), net


@pytest.mark.parametrize("fmt", ["safetensors", "torch"])
def test_torchvision_checkpoint_round_trip(fmt):
    data, net = _resnet_bytes(7, fmt)
    model = g.load_torchvision("resnet18", checkpoint=data, device="cpu")
    assert model.num_classes == 7 and model.input_shape == (3, 224, 224)
    x = torch.rand(2, 3, 224, 224)
    mean = torch.tensor(g.loading.IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.tensor(g.loading.IMAGENET_STD).reshape(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(model.logits(x), net((x - mean) / std), rtol=1e-4, atol=1e-5)


def test_checkpoint_for_the_wrong_architecture_is_refused_clearly():
    data, _ = _resnet_bytes(10, "safetensors")
    with pytest.raises(g.ModelLoadError, match="does not match torchvision vgg16"):
        g.load_torchvision("vgg16", checkpoint=data, device="cpu")


def test_pickled_code_in_a_checkpoint_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    buf = io.BytesIO()
    torch.save({"weight": torch.zeros(2), "payload": Evil()}, buf, pickle_protocol=2)
    with pytest.raises(g.ModelLoadError, match="refused"):
        g.load_torchvision("resnet18", checkpoint=buf.getvalue())
    assert not marker.exists()


def test_garbage_checkpoint_gives_a_readable_error():
    with pytest.raises(g.ModelLoadError, match="not a readable checkpoint"):
        g.load_torchvision("resnet18", checkpoint=b"this is not a checkpoint at all")
    with pytest.raises(g.ModelLoadError, match="not a state_dict"):
        buf = io.BytesIO()
        torch.save([1, 2, 3], buf)
        g.load_torchvision("resnet18", checkpoint=buf.getvalue())


def test_pretrained_weights_offline_name_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(g.ModelLoadError, match=r"resnet18-.*\.pth in .*checkpoints"):
        g.load_torchvision("resnet18", pretrained=True)


def test_unknown_torchvision_architecture():
    with pytest.raises(g.ModelLoadError, match="not a torchvision classification model"):
        g.load_torchvision("resnet9000")


def test_torchscript_model_loads_and_counts_classes(tmp_path):
    net = SmallCNN("relu").eval()
    path = tmp_path / "m.pt"
    torch.jit.script(net).save(str(path))
    model = g.load_torchscript(path, input_shape=(1, 28, 28), device="cpu")
    assert model.num_classes == 10
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(model.logits(x), net(x))
    with pytest.raises(g.ModelLoadError, match="rejects inputs"):
        g.load_torchscript(path, input_shape=(3, 5, 5))
    with pytest.raises(g.ModelLoadError, match="not a TorchScript file"):
        g.load_torchscript(b"garbage", input_shape=(1, 28, 28))


def test_pickle_module_is_not_imported_for_safetensors():
    # safetensors bytes are recognised by their header, never passed to the unpickler
    data, _ = _resnet_bytes(3, "safetensors")
    assert g.loading._looks_like_safetensors(data)
    assert not g.loading._looks_like_safetensors(pickle.dumps({"a": 1}))
