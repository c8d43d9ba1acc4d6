"""Shared fixtures: analytic float64 classifiers with known geometry, and the embedded models."""

from __future__ import annotations

import pytest
import torch

import geometry as g
from geometry import analytic


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)


@pytest.fixture
def linear_model() -> g.Classifier:
    """Three classes in R^5 with random hyperplanes: every boundary is flat, every curvature 0."""
    gen = torch.Generator().manual_seed(1)
    return analytic.linear_classifier(torch.randn(3, 5, generator=gen), torch.randn(3, generator=gen))


@pytest.fixture
def quadratic_model() -> g.Classifier:
    """F = ½ xᵀAx + bᵀx + c in R^6 with a known symmetric A (eigenvalues spread in [-2, 3])."""
    gen = torch.Generator().manual_seed(2)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen, dtype=torch.float64))
    a = q @ torch.diag(torch.tensor([3.0, 1.5, 0.5, 0.0, -1.0, -2.0], dtype=torch.float64)) @ q.T
    return analytic.quadratic_classifier(a, torch.randn(6, generator=gen, dtype=torch.float64), -1.0)


@pytest.fixture
def sphere_model() -> g.Classifier:
    """Ball of radius 2 around the origin of R^4: every principal curvature of the boundary is 1/2."""
    return analytic.sphere_classifier(torch.zeros(4), 2.0)


@pytest.fixture(scope="session")
def relu_cnn() -> g.Classifier:
    return g.load_embedded("mnist-relu-cnn", device="cpu")


@pytest.fixture(scope="session")
def softplus_cnn() -> g.Classifier:
    return g.load_embedded("mnist-softplus-cnn", device="cpu")


@pytest.fixture(scope="session")
def digits() -> g.SampleSet:
    return g.load_digits()
