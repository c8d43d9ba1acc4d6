"""Classifiers with known geometry, for tests and teaching: their boundaries, normals and curvatures are
known in closed form, so every geometry function can be checked against the truth.
"""

from __future__ import annotations

import torch
from torch import nn

from .model import Classifier, ModelCard

UNBOUNDED = (-float("inf"), float("inf"))


class Linear(nn.Module):
    """f(x) = W x + b on flattened inputs. Boundary between i and j: the hyperplane (w_i - w_j)·x + ... = 0."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(bias.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight.T + self.bias


class Quadratic(nn.Module):
    """Two classes: f_0 = 0 and f_1 = ½ xᵀ A x + bᵀ x + c, so F = f_1 - f_0 has Hessian A everywhere."""

    a: torch.Tensor  # buffers, declared for the type checker
    b: torch.Tensor
    c: torch.Tensor

    def __init__(self, a: torch.Tensor, b: torch.Tensor, c: float):
        super().__init__()
        self.register_buffer("a", (a + a.T) / 2)
        self.register_buffer("b", b.clone())
        self.register_buffer("c", torch.tensor(float(c), dtype=a.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1)
        f1 = 0.5 * ((z @ self.a) * z).sum(1) + z @ self.b + self.c
        return torch.stack([torch.zeros_like(f1), f1], dim=1)


class Sphere(nn.Module):
    """Two classes: 'inside' (f_0 = R² - ‖x - center‖²) and 'outside' (f_1 = 0 ... negated).

    F_outside = ‖x - c‖² - R² when the label is inside: every principal curvature of the boundary is 1/R.
    """

    center: torch.Tensor  # a buffer, declared for the type checker

    def __init__(self, center: torch.Tensor, radius: float):
        super().__init__()
        self.register_buffer("center", center.flatten().clone())
        self.radius = float(radius)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inside = self.radius**2 - ((x.flatten(1) - self.center) ** 2).sum(1)
        return torch.stack([inside / 2, -inside / 2], dim=1)


class Annulus(nn.Module):
    """Two classes in the plane: 'ring' for r0 < ‖x‖ < r1, 'other' elsewhere (inside the hole and outside).

    The ring region is connected but not convex; the 'other' class has two disconnected parts.
    """

    def __init__(self, r0: float = 1.0, r1: float = 2.0, sharpness: float = 4.0):
        super().__init__()
        self.r0, self.r1, self.k = r0, r1, sharpness

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = x.flatten(1).norm(dim=1)
        ring = self.k * torch.minimum(r - self.r0, self.r1 - r)
        return torch.stack([ring, -ring], dim=1)


def classifier(net: nn.Module, input_shape: tuple[int, ...], class_names: tuple[str, ...], *,
               name: str, smooth: bool = True, bounds: tuple[float, float] = UNBOUNDED) -> Classifier:
    """Wrap an analytic module as a float64 CPU Classifier."""
    card = ModelCard(name=name, input_shape=input_shape, class_names=class_names, bounds=bounds, smooth=smooth)
    return Classifier(net.eval(), card, device="cpu", dtype=torch.float64)


def linear_classifier(weight: torch.Tensor, bias: torch.Tensor, input_shape: tuple[int, ...] | None = None
                      ) -> Classifier:
    shape = input_shape or (weight.shape[1],)
    names = tuple(f"class {i}" for i in range(weight.shape[0]))
    return classifier(Linear(weight.double(), bias.double()), shape, names, name="linear")


def quadratic_classifier(a: torch.Tensor, b: torch.Tensor, c: float) -> Classifier:
    return classifier(Quadratic(a.double(), b.double(), c), (a.shape[0],), ("zero", "quadratic"),
                      name="quadratic")


def sphere_classifier(center: torch.Tensor, radius: float) -> Classifier:
    return classifier(Sphere(center.double(), radius), (center.numel(),), ("inside", "outside"), name="sphere")


def annulus_classifier(r0: float = 1.0, r1: float = 2.0) -> Classifier:
    return classifier(Annulus(r0, r1), (2,), ("ring", "other"), name="annulus")
