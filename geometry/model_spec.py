"""One parser for model specs, shared by the command line and the app.

A spec is a string:
  NAME                  an embedded model (assets/models/NAME.safetensors with its .json card)
  tv:ARCH               a torchvision architecture with pretrained weights
  tv:ARCH:random        the same architecture with random weights (for trying the tool and timing)
  tv:ARCH:CHECKPOINT    the architecture with a checkpoint file (safetensors or a weights_only state_dict)
  file:PATH             your model file (TorchScript, a torch.export .pt2 program, or a checkpoint whose card
                        names a torchvision `arch`), described by a model card (geometry.model_card): `card`,
                        or PATH's own card next to it (same stem, .json)

`data` stands in for the file's bytes when the file was uploaded rather than read from disk (the app);
the spec still names the file, for messages.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import ModelLoadError
from .loading import load_embedded, load_torchvision
from .model import Classifier
from .model_card import UserCard, read_card
from .model_file import load_model_file

TORCHVISION_PREFIX = "tv:"
FILE_PREFIX = "file:"
RANDOM_WEIGHTS = "random"


def load_model(spec: str, card: str | Path | bytes | dict | UserCard | None = None, *, data: bytes | None = None,
               device: torch.device | str | None = None) -> Classifier:
    """The classifier a spec names (see the module docstring). `card` (a card file, its bytes, a dict or a
    UserCard) is for file: specs only."""
    spec = spec.strip()
    if not spec:
        raise ModelLoadError("empty model spec: give an embedded name, tv:ARCH, tv:ARCH:CHECKPOINT or file:PATH")
    if spec.startswith(FILE_PREFIX):
        return _load_file_spec(spec.removeprefix(FILE_PREFIX), card, data, device)
    if card is not None:
        raise ModelLoadError(f"a model card is for file: models only; {spec!r} has its own")
    if spec.startswith(TORCHVISION_PREFIX):
        return _load_torchvision_spec(spec, data, device)
    if data is not None:
        raise ModelLoadError(f"file contents were given for {spec!r}, which names an embedded model")
    return load_embedded(spec, device=device)


def _load_torchvision_spec(spec: str, data: bytes | None, device) -> Classifier:
    _, arch, *rest = spec.split(":", 2)
    if not arch:
        raise ModelLoadError(f"{spec!r}: no architecture after 'tv:' (e.g. tv:resnet18)")
    if not rest:
        return load_torchvision(arch, device=device)
    if rest[0] == RANDOM_WEIGHTS and data is None:
        return load_torchvision(arch, pretrained=False, device=device)
    checkpoint = data if data is not None else _existing_file(rest[0])
    return load_torchvision(arch, checkpoint=checkpoint, device=device)


def _load_file_spec(path: str, card, data: bytes | None, device) -> Classifier:
    if not path:
        raise ModelLoadError("file: needs a path, e.g. file:model.pt2")
    source = data if data is not None else _existing_file(path)
    if card is None:
        sibling = Path(path).expanduser().with_suffix(".json")
        if data is not None or not sibling.is_file():
            raise ModelLoadError(f"no model card for {path}: give one (--card CARD.json in the CLI) or put "
                                 f"{sibling.name} next to the model file; it declares input_shape and "
                                 "class_names (see README, 'Bring your own model')")
        card = sibling
    return load_model_file(source, read_card(card), name=Path(path).stem, device=device)


def _existing_file(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelLoadError(f"no such file: {path}")
    return p
