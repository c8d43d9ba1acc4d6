"""Reliability: provenance hashes, cancellation mid-computation, reproducibility under a seed."""

import numpy as np
import pytest
import torch

import geometry as g
from geometry.provenance import array_fingerprint, model_fingerprint, provenance


class Cancelled(Exception):
    """What Streamlit's stop/rerun looks like to library code: an exception raised from a progress callback."""


def test_model_fingerprint_tracks_the_weights(relu_cnn, softplus_cnn):
    again = g.load_embedded("mnist-relu-cnn", device="cpu")
    assert model_fingerprint(relu_cnn) == model_fingerprint(again)
    assert model_fingerprint(relu_cnn) != model_fingerprint(softplus_cnn)


def test_provenance_records_model_image_device_and_versions(relu_cnn, digits):
    p = provenance(relu_cnn, image=digits.images[0])
    assert p["model"] == "mnist-relu-cnn" and p["device"] == "cpu"
    assert p["image_sha256"] == array_fingerprint(digits.images[0]) != array_fingerprint(digits.images[1])
    assert p["versions"]["torch"] == torch.__version__.split("+")[0] and p["versions"]["decision-atlas"] != "unknown"


def test_a_cancelled_computation_leaves_the_model_usable(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:64])
    expected = relu_cnn.logits(x)
    calls = []

    def cancel_midway(fraction: float) -> None:
        calls.append(fraction)
        if fraction > 0.4:
            raise Cancelled

    with pytest.raises(Cancelled):
        relu_cnn.logits(x, batch_size=8, progress=cancel_midway)
    assert 0.4 < calls[-1] < 1.0  # it really stopped in the middle
    torch.testing.assert_close(relu_cnn.logits(x, batch_size=8), expected)


def test_deepfool_is_deterministic(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:8])
    a, b = g.deepfool(relu_cnn, x), g.deepfool(relu_cnn, x)
    np.testing.assert_array_equal(a.to_numpy().boundary, b.to_numpy().boundary)


def test_rerunning_an_exported_cross_section_config_reproduces_it(relu_cnn, digits):
    x = torch.from_numpy(digits.images[5])
    first = g.cross_section(relu_cnn, g.normal_plane(relu_cnn, x, seed=4), resolution=24)
    cfg = first.config()
    again = g.cross_section(relu_cnn, g.normal_plane(relu_cnn, x, seed=cfg["plane"]["seeds"]["v"]),
                            resolution=cfg["resolution"], extent=cfg["extent"], method=cfg["method"])
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.F, again.F)


def test_rerunning_a_curvature_spectrum_reproduces_it(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[5])
    a = g.curvature_spectrum(softplus_cnn, x, solver="lanczos", k=3, seed=1)
    b = g.curvature_spectrum(softplus_cnn, x, solver="lanczos", k=3, seed=1)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
