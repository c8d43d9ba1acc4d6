"""The model wrapper every geometry function takes: a frozen classifier in pixel space.

Normalisation lives only here (as in foolbox), so DeepFool, curvature and planes all work on raw
inputs within `bounds` (images in [0, 1]) and never see the model's mean/std.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .batching import auto_batch_size, chunked
from .errors import ImageError, ModelError


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class _Normalised(nn.Module):
    """(x - mean) / std, then the wrapped network; the whole thing is one pure function of x."""

    mean: torch.Tensor | None  # buffers, declared for the type checker
    std: torch.Tensor | None

    def __init__(self, net: nn.Module, mean: Sequence[float] | None, std: Sequence[float] | None, ndim: int):
        super().__init__()
        self.net = net
        view = (1, -1) + (1,) * (ndim - 1)  # broadcast per channel over (N, C, H, W)
        self.register_buffer("mean", None if mean is None else torch.tensor(mean).reshape(view))
        self.register_buffer("std", None if std is None else torch.tensor(std).reshape(view))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is not None:
            x = x - self.mean
        if self.std is not None:
            x = x / self.std
        return self.net(x)


@dataclass(frozen=True)
class ModelCard:
    """What the tool knows about a model besides its weights."""

    name: str
    input_shape: tuple[int, ...]  # per sample, e.g. (1, 28, 28) or (2,)
    class_names: tuple[str, ...]
    bounds: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    smooth: bool | None = None  # True: activations are C^2, exact Hessians are meaningful
    description: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def dataset(self) -> str | None:
        """The data set the model was trained on, when its card says ("mnist", "fashion-mnist")."""
        return self.extra.get("dataset")


class Classifier:
    """A classifier f: R^d -> R^L in eval mode on a device, with its card.

    Args:
        net: the network; it receives normalised inputs of shape (N, *input_shape).
        card: input shape, bounds, normalisation and class names.
        device: where to compute; cuda when available, else cpu.
        dtype: parameter dtype (float64 for analytic tests).
    """

    def __init__(self, net: nn.Module, card: ModelCard, *, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None):
        if net.training:
            warnings.warn(f"{card.name}: model was in training mode; switching to eval", stacklevel=2)
        self.card = card
        self.device = torch.device(device) if device is not None else default_device()
        module = _Normalised(net, card.mean, card.std, len(card.input_shape))
        if dtype is not None:
            module = module.to(dtype)
        self.module = module.to(self.device).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        first = next(self.module.parameters(), None)
        self.dtype = dtype or (first.dtype if first is not None else torch.get_default_dtype())

    # --- description -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.card.name

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.card.input_shape

    @property
    def dim(self) -> int:
        return math.prod(self.card.input_shape)

    @property
    def num_classes(self) -> int:
        return len(self.card.class_names)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.card.class_names

    @property
    def bounds(self) -> tuple[float, float]:
        return self.card.bounds

    def default_batch_size(self, *, scale: float = 1.0) -> int:
        return auto_batch_size(self.dim, self.device, scale=scale)

    # --- evaluation ----------------------------------------------------------------------------
    def prepare(self, x: torch.Tensor | np.ndarray | Sequence) -> torch.Tensor:
        """Check the shape of a batch (N, *input_shape) and move it to the model's device and dtype."""
        x = torch.as_tensor(x)
        if tuple(x.shape[1:]) != self.input_shape:
            if tuple(x.shape) == self.input_shape:
                raise ImageError(f"expected a batch (N, {_fmt(self.input_shape)}), got a single sample "
                                 f"{tuple(x.shape)}: add a batch dimension")
            raise ImageError(f"expected inputs of shape (N, {_fmt(self.input_shape)}) for {self.name}, "
                             f"got {tuple(x.shape)}")
        return x.to(device=self.device, dtype=self.dtype)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits with autograd (no chunking): for gradients and torch.func transforms."""
        return self.module(x)

    def logits(self, x: torch.Tensor, *, batch_size: int | None = None,
               progress: Callable[[float], None] | None = None) -> torch.Tensor:
        """Logits of a batch without gradients, chunked; raises ModelError on NaN/inf. (N, L)"""
        x = self.prepare(x)
        with torch.no_grad():
            out = chunked(self.module, x, batch_size=batch_size or self.default_batch_size(),
                          progress=progress)
        check_finite(out, f"{self.name} logits")
        return out

    def predict(self, x: torch.Tensor, *, batch_size: int | None = None) -> torch.Tensor:
        """Predicted labels k̂(x). (N,)"""
        return self.logits(x, batch_size=batch_size).argmax(dim=1)

    def probabilities(self, x: torch.Tensor, *, batch_size: int | None = None) -> torch.Tensor:
        return self.logits(x, batch_size=batch_size).softmax(dim=1)

    def clip(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.bounds
        return x.clamp(lo, hi)

    def __repr__(self) -> str:
        return f"Classifier({self.name!r}, input={self.input_shape}, classes={self.num_classes}, {self.device})"


def check_finite(t: torch.Tensor, what: str) -> None:
    if not torch.isfinite(t).all():
        raise ModelError(f"{what} contain NaN or infinite values; the model or input is broken "
                         "(check the checkpoint and the input's value range)")


def _fmt(shape: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in shape)
