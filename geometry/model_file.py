"""A user's model file with its card: a TorchScript file, a torch.export program (.pt2) or a torchvision
checkpoint, checked on load so that a model the tool cannot use fails here with a clear message.

The format is read from the file's contents, not its name. No file may run pickled Python code: checkpoints
load as safetensors or with weights_only=True, and a .pt2 archive with pickled payloads is refused before
torch.export.load sees it (that loader would unpickle them).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from .errors import ModelError, ModelLoadError
from .loading import MAX_CHECKPOINT_BYTES, _load_state, _looks_like_safetensors, _read_state_dict
from .model import Classifier, ModelCard
from .model_card import UserCard

FORMATS = ("torchscript", "torch.export", "checkpoint")


def load_model_file(source: str | Path | bytes, card: UserCard, *, name: str = "model",
                    device: torch.device | str | None = None) -> Classifier:
    """The classifier in a model file, described by `card`, validated (see `validate`)."""
    data = _read_bytes(source)
    fmt = sniff_format(data)
    if fmt == "torchscript":
        net = _load_torchscript(data)
    elif fmt == "torch.export":
        net = _load_exported(data, card.input_shape)
    else:
        net = _load_checkpoint(data, card)
    if card.channel_order == "BGR":
        net = _ReverseChannels(net)
    net.eval()
    mean, std = card.mean, card.std
    if card.channel_order == "BGR":  # the wrapper normalises before reversing: give it RGB-ordered stats
        mean, std = (None if v is None else v[::-1] for v in (mean, std))
    model_card = ModelCard(
        name=card.name or name, input_shape=card.input_shape, class_names=card.class_names, mean=mean,
        std=std, smooth=card.smooth, description=card.description or f"your model ({fmt})",
        extra={"format": fmt, "channel_order": card.channel_order,
               **({"dataset": card.dataset} if card.dataset else {})})
    model = Classifier(net, model_card, device=device)
    validate(model)
    return model


def _read_bytes(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"no such model file: {source}")
        if path.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise ModelLoadError(f"the model file is {path.stat().st_size / 2**20:.0f} MiB; "
                                 f"the limit is {MAX_CHECKPOINT_BYTES >> 20} MiB")
        data = path.read_bytes()
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise ModelLoadError(f"the model file is {len(data) / 2**20:.0f} MiB; "
                             f"the limit is {MAX_CHECKPOINT_BYTES >> 20} MiB")
    if not data:
        raise ModelLoadError("the model file is empty")
    return data


def sniff_format(data: bytes) -> str:
    """"torchscript", "torch.export" or "checkpoint", from the archive's members."""
    if _looks_like_safetensors(data):
        return "checkpoint"
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return "checkpoint"  # a legacy (non-zip) torch.save file; _read_state_dict decides
    if any(n.endswith("/archive_format") for n in names):
        return "torch.export"
    if any("/code/" in n for n in names) and any(n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    return "checkpoint"


# --- formats --------------------------------------------------------------------------------------

def _load_torchscript(data: bytes) -> nn.Module:
    try:
        with warnings.catch_warnings():  # torch.jit.load is deprecated but still the way to read these files
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(io.BytesIO(data), map_location="cpu").eval()
    except Exception as error:
        raise ModelLoadError(f"not a readable TorchScript file: {_first_line(error)}") from None


def _load_exported(data: bytes, input_shape: tuple[int, ...]) -> nn.Module:
    _refuse_pickles_in_pt2(data)
    try:
        program = torch.export.load(io.BytesIO(data))
    except Exception as error:
        raise ModelLoadError(f"not a readable torch.export program (.pt2): {_first_line(error)}") from None
    batch = _exported_input_shape(program, input_shape)
    module = _Exported(program.module())
    return module if batch is None else _FixedBatch(module, batch)


def _refuse_pickles_in_pt2(data: bytes) -> None:
    """Refuse a .pt2 archive whose loading would unpickle Python objects or load compiled code."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    for info in archive.infolist():
        name = info.filename
        if "aotinductor" in name or name.endswith((".so", ".dll", ".dylib")):
            raise ModelLoadError("refused the .pt2 file: it holds compiled native code (AOTInductor); "
                                 "save the program with torch.export.save instead")
        if name.endswith("_config.json") and "/data/" in name:
            _check_payload_config(archive.read(info))
        elif name.endswith(".pt"):  # sample inputs and legacy payloads: torch.save files
            try:
                torch.load(io.BytesIO(archive.read(info)), map_location="cpu", weights_only=True)
            except Exception:
                raise _pickled(name) from None


def _check_payload_config(raw: bytes) -> None:
    try:
        config = json.loads(raw).get("config", {})
    except (json.JSONDecodeError, AttributeError):
        raise ModelLoadError("not a readable torch.export program: corrupt payload configuration") from None
    for key, meta in config.items():
        if meta.get("use_pickle") or not str(meta.get("path_name", "")).startswith(("weight_", "tensor_")):
            raise _pickled(key)


def _pickled(what: str) -> ModelLoadError:
    return ModelLoadError(f"refused the .pt2 file: {what} is a pickled Python object (arbitrary code could "
                          "run). Export a program whose weights and constants are tensors only.")


def _exported_input_shape(program, input_shape: tuple[int, ...]) -> int | None:
    """The program's fixed batch size (None when the batch dimension is dynamic), after checking that it
    takes one input of the card's shape."""
    user = set(program.graph_signature.user_inputs)
    vals = [n.meta.get("val") for n in program.graph.nodes if n.op == "placeholder" and n.name in user]
    if len(vals) != 1 or not hasattr(vals[0], "shape"):
        raise ModelLoadError(f"the exported program takes {len(vals)} inputs; expected one image batch")
    shape = tuple(vals[0].shape)
    fixed = tuple(d if isinstance(d, int) else None for d in shape)
    if len(shape) != len(input_shape) + 1 or any(f not in (None, s) for f, s in zip(fixed[1:], input_shape,
                                                                                     strict=True)):
        shown = "(" + ", ".join("?" if f is None else str(f) for f in fixed) + ")"
        raise ModelLoadError(f"the card says inputs are {tuple(input_shape)}, but the program was exported for "
                             f"input batches of shape {shown}")
    return fixed[0]


def _load_checkpoint(data: bytes, card: UserCard) -> nn.Module:
    import torchvision.models as tvm
    state = _read_state_dict(data)  # first: pickled code is refused before anything else is said
    if card.arch is None:
        raise ModelLoadError("this file is a checkpoint (weights only, no program): add \"arch\" (a torchvision "
                             "architecture, e.g. \"resnet18\") to the card, or save the model with "
                             "torch.export.save or torch.jit.save")
    if card.arch not in tvm.list_models(module=tvm):
        raise ModelLoadError(f"model card: arch {card.arch!r} is not a torchvision classification model")
    kwargs = {"aux_logits": False, "init_weights": False} if card.arch in ("googlenet", "inception_v3") else {}
    net = tvm.get_model(card.arch, weights=None, num_classes=len(card.class_names), **kwargs)
    _load_state(net, {k: v for k, v in state.items() if not k.startswith("aux")}, f"torchvision {card.arch} "
                f"with {len(card.class_names)} classes (the card's)")
    return net.eval()


# --- wrappers -------------------------------------------------------------------------------------

class _Exported(nn.Module):
    """An exported program's module. Its mode was fixed at export time (eval() raises on it), so this
    wrapper's train()/eval() do not reach it."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.program = module
        self.training = False

    def train(self, mode: bool = True):
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x)


class _FixedBatch(nn.Module):
    """A program exported for batches of exactly `size`: any batch is cut into pieces of that size (the last
    piece padded with copies of its last row) and the outputs are joined again."""

    def __init__(self, module: nn.Module, size: int):
        super().__init__()
        self.inner, self.size = module, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for piece in x.split(self.size):
            pad = self.size - len(piece)
            full = torch.cat([piece, piece[-1:].expand(pad, *piece.shape[1:])]) if pad else piece
            outs.append(self.inner(full)[:len(piece)])
        return torch.cat(outs)


class _ReverseChannels(nn.Module):
    """RGB pixels in, BGR to the wrapped net (channel_order "BGR")."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flip(1))


# --- validation -----------------------------------------------------------------------------------

def validate(model: Classifier, *, batch: int = 2, seed: int = 0) -> None:
    """One forward and one backward pass on random inputs of the card's shape: the output must be finite
    (N, L) logits with L the card's number of classes, with a non-zero gradient with respect to the input.
    Raises ModelLoadError (the card does not match) or ModelError (the model misbehaves)."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = model.bounds
    x = (lo + (hi - lo) * torch.rand((batch, *model.input_shape), generator=gen)).to(model.device, model.dtype)
    x.requires_grad_(True)
    try:
        out = model(x)
    except Exception as error:
        raise ModelLoadError(f"the model rejects input batches of shape {tuple(x.shape)} (the card's input "
                             f"shape): {_first_line(error)}") from None
    _check_logits(out, batch, model.num_classes)
    weights = torch.randn(out.shape, generator=gen).to(out.device, out.dtype)  # no cancelling (softmax sums)
    if not out.requires_grad:
        raise _no_gradient("its output does not require a gradient")
    (grad,) = torch.autograd.grad((out * weights).sum(), x, allow_unused=True)
    if grad is None or not torch.any(grad != 0):
        raise _no_gradient("the gradient is " + ("missing" if grad is None else "zero everywhere"))
    if not torch.isfinite(grad).all():
        raise ModelError("the model's gradient with respect to the input contains NaN or infinite values")


def _check_logits(out, batch: int, n_classes: int) -> None:
    if not isinstance(out, torch.Tensor):
        raise ModelError(f"the model returns a {type(out).__name__}; expected a tensor of logits (N, L)")
    if out.dim() != 2 or out.shape[0] != batch:
        raise ModelError(f"the model returns shape {tuple(out.shape)} for a batch of {batch}; expected "
                         f"logits of shape ({batch}, L)")
    if out.shape[1] != n_classes:
        raise ModelLoadError(f"the model has {out.shape[1]} outputs but the card lists {n_classes} classes")
    if not torch.isfinite(out).all():
        raise ModelError("the model's outputs contain NaN or infinite values on random inputs in [0, 1]")


def _no_gradient(why: str) -> ModelError:
    return ModelError(f"the model has no gradient with respect to its input ({why}): every view needs it. "
                      "Remove .detach(), torch.no_grad() or numpy round trips from forward().")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:300]
