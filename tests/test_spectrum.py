"""Principal curvatures against analytic truths (sphere, quadratic, linear) and Lanczos vs full on a CNN."""

import numpy as np
import pytest
import torch

from geometry import AtlasError
from geometry.spectrum import curvature_spectra, curvature_spectrum, spectral_density, tangent_basis


def _quadratic_truth(model, point: np.ndarray) -> np.ndarray:
    a, b = model.module.net.a, model.module.net.b
    z = torch.from_numpy(point)
    g = a @ z + b
    q = tangent_basis(g / g.norm())
    return (torch.linalg.eigvalsh(q @ a @ q.T).flip(0) / g.norm()).numpy()


@pytest.mark.parametrize("solver", ["full", "lanczos"])
def test_sphere_curvature_is_one_over_radius_and_positive(sphere_model, solver):
    x = torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=torch.float64)
    s = curvature_spectrum(sphere_model, x, solver=solver, k=1)
    assert s.label == 0 and s.target == 1 and s.method == "exact" and s.h is None
    np.testing.assert_allclose(s.eigenvalues, 0.5, rtol=1e-8)  # all +1/R: positive = ball around x
    assert np.linalg.norm(s.point) == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("solver", ["full", "lanczos"])
def test_quadratic_principal_curvatures(quadratic_model, solver):
    x = torch.zeros(6, dtype=torch.float64)
    s = curvature_spectrum(quadratic_model, x, solver=solver, k=2)
    truth = _quadratic_truth(quadratic_model, s.point)
    expected = truth if solver == "full" else np.concatenate([truth[:2], truth[-2:]])
    np.testing.assert_allclose(s.eigenvalues, expected, rtol=1e-4)
    assert s.eigenvectors.shape == (len(expected), 6)
    assert np.abs(s.eigenvectors @ s.normal).max() < 1e-6  # tangent directions
    assert s.residuals.max() < 1e-6 and s.converged


def test_quadratic_at_input_with_explicit_target(quadratic_model):
    x = torch.zeros(6, dtype=torch.float64)
    s = curvature_spectrum(quadratic_model, x, target=1, at="input")
    np.testing.assert_allclose(s.eigenvalues, _quadratic_truth(quadratic_model, s.point), rtol=1e-4)
    assert s.perturbation is None and s.n_hvp == 5


def test_linear_boundary_is_flat(linear_model):
    s = curvature_spectrum(linear_model, torch.zeros(5, dtype=torch.float64))
    assert np.abs(s.eigenvalues).max() < 1e-10 and len(s.eigenvalues) == 4


@pytest.fixture(scope="module")
def softplus_pair(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[2])
    full = curvature_spectrum(softplus_cnn, x, solver="full")
    lz = curvature_spectrum(softplus_cnn, x, solver="lanczos", k=5)
    return full, lz


@pytest.mark.slow
def test_lanczos_matches_full_on_smooth_cnn(softplus_pair):
    full, lz = softplus_pair
    assert full.method == "exact" and len(full.eigenvalues) == 783 and full.n_hvp == 783
    expected = np.concatenate([full.eigenvalues[:5], full.eigenvalues[-5:]])
    scale = np.abs(full.eigenvalues).max()
    assert np.abs(lz.eigenvalues - expected).max() < 1e-3 * scale
    assert lz.n_hvp < 200 and lz.converged
    assert lz.residuals.max() < 5e-3 * scale
    cos = np.abs((lz.positive_directions(1) * full.positive_directions(1)).sum())
    assert cos > 0.99


@pytest.mark.slow
def test_curvature_profile_is_mostly_flat(softplus_pair):
    full, _ = softplus_pair
    ev = full.eigenvalues
    assert np.all(np.diff(ev) <= 1e-12)  # sorted descending
    assert np.median(np.abs(ev)) < 0.2 * np.abs(ev).max()  # paper: few large, most near zero
    assert full.negative_directions(2).shape == (2, 1, 28, 28)


def test_relu_net_uses_finite_differences(relu_cnn, digits):
    x = torch.from_numpy(digits.images[2])
    s1 = curvature_spectrum(relu_cnn, x, solver="lanczos", k=3, h=0.05)
    s2 = curvature_spectrum(relu_cnn, x, solver="lanczos", k=3, h=0.5)
    assert s1.method == "fd" and s1.h == 0.05 and s2.h == 0.5
    assert not np.allclose(s1.eigenvalues, s2.eigenvalues)  # the spectrum depends on the FD scale
    assert np.abs(s1.eigenvalues).max() > 0  # unlike the exact Hessian of a ReLU net


def test_spectral_density_weights_and_range(quadratic_model):
    x = torch.zeros(6, dtype=torch.float64)
    dens = spectral_density(quadratic_model, x, n_probes=4, steps=5)
    assert abs(dens["weights"].sum() - 1.0) < 1e-8
    assert dens["n_hvp"] == 20
    truth = _quadratic_truth(quadratic_model, curvature_spectrum(quadratic_model, x).point)
    assert truth.min() - 1e-8 <= dens["nodes"].min() and dens["nodes"].max() <= truth.max() + 1e-8
    assert dens["nodes"].max() - dens["nodes"].min() > 0.9 * (truth.max() - truth.min())  # both ends found


def test_batch_of_images(sphere_model):
    x = torch.tensor([[0.3, -0.2, 0.5, 0.1], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    out = curvature_spectra(sphere_model, x)
    assert len(out) == 2 and all(np.allclose(s.eigenvalues, 0.5) for s in out)


def test_bad_inputs(quadratic_model, sphere_model):
    x = torch.zeros(6, dtype=torch.float64)
    with pytest.raises(AtlasError, match="other than the label"):
        curvature_spectrum(quadratic_model, x, target=0, at="input")
    with pytest.raises(AtlasError, match="solver must be"):
        curvature_spectrum(quadratic_model, x, solver="dense")
    with pytest.raises(AtlasError, match="one image"):
        curvature_spectrum(quadratic_model, torch.zeros(2, 6, dtype=torch.float64))
    with pytest.raises(AtlasError, match="no normal"):
        curvature_spectrum(sphere_model, torch.zeros(4, dtype=torch.float64), target=1, at="input")


class _BallAndSlab(torch.nn.Module):
    """f_0 = 0; f_1 = (‖x‖² − 4)/2 (a ball of radius 2, DeepFool's nearest boundary from (0.5, 0, 0, 0));
    f_2 = x_1²/4 + x_1/2 − 3, whose boundary with class 0 is the flat hyperplane x_1 = −1 + √13."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1)
        f1 = ((z**2).sum(1) - 4) / 2
        f2 = z[:, 1] ** 2 / 4 + z[:, 1] / 2 - 3
        return torch.stack([torch.zeros_like(f1), f1, f2], dim=1)


@pytest.fixture
def three_class_model():
    from geometry.analytic import classifier
    return classifier(_BallAndSlab().double(), (4,), ("zero", "ball", "slab"), name="ball-and-slab")


X_BALL = torch.tensor([0.5, 0.0, 0.0, 0.0], dtype=torch.float64)


def test_explicit_target_reaches_its_own_boundary(three_class_model):
    s = curvature_spectrum(three_class_model, X_BALL, target=2)
    assert s.label == 0 and s.target == 2 and s.at == "boundary"
    np.testing.assert_allclose(s.point, [0.5, np.sqrt(13) - 1, 0.0, 0.0], rtol=0, atol=1e-6)  # F_2 = 0 there
    assert np.abs(s.eigenvalues).max() < 1e-8  # the slab's boundary is flat (the Hessian is along n)
    np.testing.assert_allclose(np.abs(s.normal), [0, 1, 0, 0], atol=1e-12)
    ball = curvature_spectrum(three_class_model, X_BALL)  # DeepFool's target: the ball, κ = +1/2
    assert ball.target == 1
    np.testing.assert_allclose(ball.eigenvalues, 0.5, rtol=1e-6)


def test_targeted_boundary_uses_one_forward_pass_per_newton_step(three_class_model, monkeypatch):
    from geometry import spectrum

    forwards, steps = [], []
    three_class_model.module.register_forward_hook(lambda *_: forwards.append(1))
    real = spectrum.class_gradients
    monkeypatch.setattr(spectrum, "class_gradients", lambda *a: steps.append(1) or real(*a))
    z = spectrum._targeted_boundary(three_class_model, X_BALL[None], 0, 2)
    assert float(z[1]) == pytest.approx(np.sqrt(13) - 1, abs=1e-6)  # the stopping rule: |F|/‖∇F‖ < 1e-5
    assert len(steps) > 2 and len(forwards) == len(steps)  # the curved F needs several Newton steps


def test_targeted_boundary_that_is_not_reached_is_an_error(three_class_model, linear_model):
    from geometry import spectrum
    from geometry.analytic import linear_classifier

    with pytest.raises(AtlasError, match="within 1 Newton steps"):
        spectrum._targeted_boundary(three_class_model, X_BALL[None], 0, 2, iters=1)
    e0 = torch.eye(3)[0]
    # f_2 = f_0 − 1 everywhere: class 2 never borders class 0's region
    offset = linear_classifier(torch.stack([e0, -e0, e0]), torch.tensor([0.0, 0.0, -1.0]))
    x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    with pytest.raises(AtlasError, match="no point of the boundary between class 0 and class 2"):
        curvature_spectrum(offset, x, target=2)


def test_given_deepfool_result_is_used_not_recomputed(sphere_model, monkeypatch):
    from geometry import spectrum
    from geometry.deepfool import deepfool

    x = torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=torch.float64)
    bp = deepfool(sphere_model, x[None])
    monkeypatch.setattr(spectrum, "deepfool", lambda *a, **k: pytest.fail("DeepFool ran again"))
    s = curvature_spectrum(sphere_model, x, boundary=bp)
    np.testing.assert_allclose(s.point, bp.boundary[0].numpy())
    np.testing.assert_allclose(s.eigenvalues, 0.5, rtol=1e-8)
    with pytest.raises(AtlasError, match="another input"):
        curvature_spectrum(sphere_model, x + 0.1, boundary=bp)


def test_deepfool_iters_is_passed_on(sphere_model, monkeypatch):
    from geometry import spectrum

    seen = []
    real = spectrum.deepfool
    monkeypatch.setattr(spectrum, "deepfool", lambda *a, **k: seen.append(k["max_iter"]) or real(*a, **k))
    curvature_spectrum(sphere_model, torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=torch.float64),
                       deepfool_iters=7)
    assert seen == [7]
    with pytest.raises(AtlasError, match="deepfool_iters"):
        curvature_spectrum(sphere_model, torch.zeros(4, dtype=torch.float64), deepfool_iters=0)
