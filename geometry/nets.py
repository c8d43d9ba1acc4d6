"""Architectures of the embedded models: a small MNIST CNN (ReLU or softplus) and a 2-D toy MLP."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "softplus": nn.Softplus, "elu": nn.ELU, "tanh": nn.Tanh}


def _activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}") from None


class SmallCNN(nn.Sequential):
    """Two strided 5x5 convolutions and two linear layers: (N, 1, 28, 28) -> (N, 10).

    Strided convolutions instead of max-pooling keep the softplus variant smooth everywhere (C^inf),
    so its exact input Hessian is meaningful.
    """

    def __init__(self, activation: str = "relu", channels: int = 1, num_classes: int = 10, width: int = 32):
        super().__init__(
            nn.Conv2d(channels, width, 5, stride=2, padding=2), _activation(activation),  # 14x14
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2), _activation(activation),  # 7x7
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, 128), _activation(activation),
            nn.Linear(128, num_classes),
        )


class ToyMLP(nn.Sequential):
    """A 2 -> hidden -> hidden -> classes MLP for planar teaching examples (two moons, spirals)."""

    def __init__(self, activation: str = "tanh", hidden: int = 64, num_classes: int = 2):
        super().__init__(
            nn.Linear(2, hidden), _activation(activation),
            nn.Linear(hidden, hidden), _activation(activation),
            nn.Linear(hidden, num_classes),
        )


def build(arch: str, **kwargs) -> nn.Module:
    """An embedded architecture by the name written in its model card."""
    table = {"SmallCNN": SmallCNN, "ToyMLP": ToyMLP}
    if arch not in table:
        raise ValueError(f"unknown embedded architecture {arch!r}; known: {sorted(table)}")
    return table[arch](**kwargs)
