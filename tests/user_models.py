"""Tiny CIFAR-shaped (3×32×32, 10 classes) models saved the ways a user would save them, with their cards.

Random weights under a fixed seed: the tests check plumbing and messages, not accuracy.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
INPUT_SHAPE = (3, 32, 32)


def tiny_cifar_net(activation: str = "relu", seed: int = 0) -> nn.Module:
    """Two strided convolutions and a linear layer; softplus makes it smooth (C^inf), relu does not."""
    torch.manual_seed(seed)
    act = nn.Softplus if activation == "softplus" else nn.ReLU
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), act(), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                         act(), nn.Flatten(), nn.Linear(16 * 8 * 8, 10)).eval()


def card(activation: str = "relu", **changes) -> dict:
    out = {"name": f"tiny-cifar-{activation}", "input_shape": list(INPUT_SHAPE), "channel_order": "RGB",
           "mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261], "class_names": list(CIFAR_CLASSES),
           "smooth": activation == "softplus"}
    return {**out, **changes}


def save_torchscript(net: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(net), str(path))
    return path


def save_exported(net: nn.Module, path: Path, *, dynamic_batch: bool = True, batch: int = 2) -> Path:
    shapes = ({0: torch.export.Dim("batch", min=1)},) if dynamic_batch else None
    program = torch.export.export(net, (torch.zeros(batch, *INPUT_SHAPE),), dynamic_shapes=shapes)
    torch.export.save(program, str(path))
    return path


def write_card(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path
