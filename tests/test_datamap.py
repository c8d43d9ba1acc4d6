"""The data map: penultimate features by forward hook, UMAP fit and projection (kept small: 200 digits)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import AtlasError, analytic
from geometry.datamap import features, fit_datamap, project


def test_penultimate_features_are_the_last_linear_input(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:5])
    feats, note = features(relu_cnn, x, "penultimate")
    assert note == "" and feats.shape == (5, 128)
    last = relu_cnn.module.net[-1]
    logits = relu_cnn.logits(x).numpy()
    assert np.allclose(feats @ last.weight.numpy().T + last.bias.numpy(), logits, atol=1e-4)


def test_features_fall_back_to_inputs_without_linear_layer():
    model = analytic.annulus_classifier()
    feats, note = features(model, torch.zeros(3, 2, dtype=torch.float64), "penultimate")
    assert feats.shape == (3, 2) and "inputs" in note
    with pytest.raises(AtlasError, match="features"):
        features(model, torch.zeros(3, 2, dtype=torch.float64), "logits")  # type: ignore[arg-type]


def test_fit_and_project(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:200])
    seen = []
    dm = fit_datamap(relu_cnn, x, kind="penultimate", n_neighbors=10, seed=0, progress=seen.append)
    assert dm.embedding.shape == (200, 2) and np.isfinite(dm.embedding).all()
    assert dm.features == "penultimate" and seen[-1] == 1.0
    assert (dm.predicted == relu_cnn.predict(x).numpy()).all()
    xy = project(dm, relu_cnn, x[:3])
    assert xy.shape == (3, 2)
    # a training point projects near where it was embedded (relative to the map's extent)
    extent = np.ptp(dm.embedding, axis=0).max()
    assert np.linalg.norm(xy - dm.embedding[:3], axis=1).max() < 0.25 * extent


def test_too_few_samples_raise(relu_cnn, digits):
    with pytest.raises(AtlasError, match="n_neighbors"):
        fit_datamap(relu_cnn, torch.from_numpy(digits.images[:10]), n_neighbors=15)
