"""Model sources: the embedded models under assets/, torchvision architectures (pretrained or with a user
checkpoint) and TorchScript files. Checkpoints load only as safetensors or torch.load(weights_only=True).
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import torch
from torch import nn

from . import nets
from .errors import ModelLoadError
from .model import Classifier, ModelCard


def _assets_dir() -> Path:
    """The installed package `decision_atlas_assets` (a wheel, or `pip install -e`, maps assets/ onto it), else
    the assets/ folder next to this package in a source checkout that was never installed."""
    try:
        import decision_atlas_assets
    except ImportError:
        return Path(__file__).resolve().parent.parent / "assets"
    return Path(decision_atlas_assets.__file__).resolve().parent


ASSETS_DIR = _assets_dir()
MODELS_DIR = ASSETS_DIR / "models"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MAX_CHECKPOINT_BYTES = 1 << 30  # 1 GiB

# Common ImageNet classifiers offered in the app; any name torchvision knows works through the API.
TORCHVISION_ARCHS = ("resnet18", "resnet50", "vgg16", "googlenet", "alexnet", "mobilenet_v3_small",
                     "efficientnet_b0", "densenet121", "convnext_tiny")


# Card fields kept on ModelCard.extra: what the tool reports about a model besides its architecture.
CARD_EXTRAS = ("heldout_accuracy", "test_accuracy", "activation", "data", "dataset", "training", "seed",
               "adversarial_eps_l2", "pgd_l2", "deepfool_median_l2", "train_seconds")


# --- embedded ------------------------------------------------------------------------------------

def list_embedded() -> list[str]:
    """Names of the models shipped under assets/models (each a .safetensors with a .json card)."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.json") if p.with_suffix(".safetensors").exists())


def read_card(name: str) -> dict:
    path = MODELS_DIR / f"{name}.json"
    if not path.exists():
        raise ModelLoadError(f"no embedded model {name!r}; available: {', '.join(list_embedded()) or 'none'}")
    return json.loads(path.read_text())


def load_embedded(name: str, *, device: torch.device | str | None = None) -> Classifier:
    """An embedded model by name, e.g. "mnist-relu-cnn"."""
    meta = read_card(name)
    net = nets.build(meta["arch"], **meta.get("arch_kwargs", {}))
    state = _read_state_dict(MODELS_DIR / f"{name}.safetensors")
    _load_state(net, state, f"embedded model {name}")
    card = ModelCard(
        name=name, input_shape=tuple(meta["input_shape"]), class_names=tuple(meta["class_names"]),
        bounds=tuple(meta.get("bounds", (0.0, 1.0))), mean=_opt_tuple(meta.get("mean")),
        std=_opt_tuple(meta.get("std")), smooth=meta.get("smooth"), description=meta.get("description", ""),
        extra={k: meta[k] for k in CARD_EXTRAS if k in meta},
    )
    return Classifier(net.eval(), card, device=device)


def _opt_tuple(v):
    return None if v is None else tuple(v)


# --- checkpoints ---------------------------------------------------------------------------------

def _read_state_dict(source: str | Path | bytes) -> dict[str, torch.Tensor]:
    """A state dict from a safetensors or torch file, refusing pickled code."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise ModelLoadError(f"checkpoint is {len(data) / 2**20:.0f} MiB; "
                             f"the limit is {MAX_CHECKPOINT_BYTES >> 20} MiB")
    if _looks_like_safetensors(data):
        from safetensors.torch import load as load_safetensors
        try:
            return load_safetensors(data)
        except Exception as error:
            raise ModelLoadError(f"corrupt safetensors checkpoint: {error}") from None
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ModelLoadError("refused to load the checkpoint: it contains Python objects other than tensors "
                             f"(arbitrary code could run). Save a state_dict or safetensors instead. ({error})"
                             .split("\n")[0]) from None
    except Exception as error:
        raise ModelLoadError(f"not a readable checkpoint (expected safetensors or a torch state_dict): "
                             f"{type(error).__name__}: {str(error)[:200]}") from None
    return _unwrap_state_dict(obj)


def _looks_like_safetensors(data: bytes) -> bool:
    # safetensors: 8-byte little-endian header length, then a JSON header starting with '{'.
    if len(data) < 10:
        return False
    n = int.from_bytes(data[:8], "little")
    return 0 < n < len(data) and data[8:9] == b"{"


def _unwrap_state_dict(obj) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelLoadError("the checkpoint is not a state_dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _load_state(net: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """load_state_dict(strict=True), with a short readable summary of what does not match."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in own
             if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(items[:4])}{' …' if len(items) > 4 else ''}"
                 for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong))
                 if items]
        raise ModelLoadError(f"checkpoint does not match {what} ({'; '.join(parts)})")
    net.load_state_dict(state)


# --- torchvision -----------------------------------------------------------------------------------

def _imagenet_categories(arch: str) -> tuple[str, ...] | None:
    import torchvision.models as tvm
    try:
        return tuple(tvm.get_model_weights(arch).DEFAULT.meta["categories"])
    except Exception:
        return None


def _last_linear(net: nn.Module) -> str:
    name = [n for n, m in net.named_modules() if isinstance(m, nn.Linear | nn.Conv2d)][-1]
    return f"{name}.weight"


def load_torchvision(arch: str, *, pretrained: bool = True, checkpoint: str | Path | bytes | None = None,
                     class_names: tuple[str, ...] | None = None,
                     device: torch.device | str | None = None) -> Classifier:
    """A torchvision classification architecture with pretrained weights or a user checkpoint.

    Pretrained weights come from the torch hub cache or the network; offline without a cached file this
    raises ModelLoadError naming the file to place in the cache.
    """
    import torchvision.models as tvm

    if arch not in tvm.list_models(module=tvm):
        raise ModelLoadError(f"{arch!r} is not a torchvision classification model")
    size = 299 if arch.startswith("inception") else 224
    if checkpoint is not None:
        net, n_classes = _torchvision_from_checkpoint(arch, checkpoint)
    elif pretrained:
        net, n_classes = _torchvision_pretrained(arch), 1000
    else:
        net, n_classes = tvm.get_model(arch, weights=None), 1000
    names = class_names or (_imagenet_categories(arch) if n_classes == 1000 else None)
    names = names or tuple(f"class {i}" for i in range(n_classes))
    if len(names) != n_classes:
        raise ModelLoadError(f"{len(names)} class names given for a model with {n_classes} outputs")
    source = "pretrained" if checkpoint is None and pretrained else ("checkpoint" if checkpoint else "random")
    card = ModelCard(name=f"{arch} ({source})", input_shape=(3, size, size), class_names=tuple(names),
                     mean=IMAGENET_MEAN, std=IMAGENET_STD, smooth=False,
                     description=f"torchvision {arch}, {source} weights")
    return Classifier(net.eval(), card, device=device)


def _torchvision_pretrained(arch: str) -> nn.Module:
    import torchvision.models as tvm
    weights = tvm.get_model_weights(arch).DEFAULT
    try:
        return tvm.get_model(arch, weights=weights)
    except Exception as error:  # URLError, OSError, RuntimeError from the hub download
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise ModelLoadError(
            f"pretrained weights for {arch} are not available offline: place {Path(weights.url).name} in "
            f"{cache.parent} (or upload a checkpoint). ({type(error).__name__})") from None


def _torchvision_from_checkpoint(arch: str, checkpoint: str | Path | bytes) -> tuple[nn.Module, int]:
    import torchvision.models as tvm
    state = _read_state_dict(checkpoint)
    with torch.device("meta"):  # only the layer names are needed: build without allocating weights
        head = _last_linear(tvm.get_model(arch, weights=None))
    n_classes = state[head].shape[0] if head in state else 1000
    kwargs = {"aux_logits": False, "init_weights": False} if arch in ("googlenet", "inception_v3") else {}
    net = tvm.get_model(arch, weights=None, num_classes=n_classes, **kwargs)
    state = {k: v for k, v in state.items() if not k.startswith("aux")}
    _load_state(net, state, f"torchvision {arch}")
    return net, n_classes


def load_torchscript(source: str | Path | bytes, *, input_shape: tuple[int, ...],
                     class_names: tuple[str, ...] | None = None, mean: tuple[float, ...] | None = None,
                     std: tuple[float, ...] | None = None, name: str = "torchscript",
                     device: torch.device | str | None = None) -> Classifier:
    """A TorchScript classifier; its number of outputs is read from one forward pass."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        net = torch.jit.load(io.BytesIO(data), map_location="cpu").eval()
    except Exception as error:
        raise ModelLoadError(f"not a TorchScript file: {str(error).splitlines()[0][:200]}") from None
    try:
        with torch.no_grad():
            out = net(torch.zeros((1, *input_shape)))
    except Exception as error:
        raise ModelLoadError(f"the TorchScript model rejects inputs of shape (1, {input_shape}): "
                             f"{str(error).splitlines()[0][:200]}") from None
    if out.dim() != 2:
        raise ModelLoadError(f"the TorchScript model returns shape {tuple(out.shape)}; expected (N, classes)")
    names = class_names or tuple(f"class {i}" for i in range(out.shape[1]))
    card = ModelCard(name=name, input_shape=tuple(input_shape), class_names=names, mean=mean, std=std)
    return Classifier(net, card, device=device)
