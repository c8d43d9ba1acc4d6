"""Decision function, gradients and HVPs against closed forms and the dense torch.func Hessian."""

import copy

import pytest
import torch

import geometry as g
from geometry import decision
from geometry.decision import class_gradients, class_weights, decision_grad, decision_values, hvp


def test_linear_values_and_gradients_are_the_weight_differences(linear_model):
    x = torch.randn(4, 5, dtype=torch.float64)
    w = linear_model.module.net.weight.detach()
    b = linear_model.module.net.bias.detach()
    k, k_hat = torch.tensor([1, 2, 0, 1]), torch.tensor([0, 0, 2, 2])
    expected = (x @ w.T + b).gather(1, k[:, None])[:, 0] - (x @ w.T + b).gather(1, k_hat[:, None])[:, 0]
    torch.testing.assert_close(decision_values(linear_model, x, k, k_hat), expected)
    torch.testing.assert_close(decision_grad(linear_model, x, k, k_hat), w[k] - w[k_hat])


def test_class_gradients_batched_match_one_at_a_time(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[:3])
    classes = torch.tensor([[1, 2], [3, 4], [5, 0]])
    k_hat = torch.tensor([7, 7, 7])
    _, values, grads = class_gradients(softplus_cnn, x, classes, k_hat)
    assert grads.shape == (3, 2, 1, 28, 28)
    for j in range(2):
        torch.testing.assert_close(grads[:, j], decision_grad(softplus_cnn, x, classes[:, j], k_hat),
                                   rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(values[:, j], decision_values(softplus_cnn, x, classes[:, j], k_hat),
                                   rtol=1e-4, atol=1e-5)


def test_exact_hvp_equals_known_matrix_times_v(quadratic_model):
    a = quadratic_model.module.net.a
    x = torch.randn(3, 6, dtype=torch.float64)
    v = torch.randn(3, 4, 6, dtype=torch.float64)
    k, k_hat = torch.ones(3, dtype=torch.long), torch.zeros(3, dtype=torch.long)
    torch.testing.assert_close(hvp(quadratic_model, x, k, k_hat, v, method="exact"), v @ a.T)


@pytest.mark.parametrize("mode", ["_hvp_forward", "_hvp_reverse"])
def test_both_autodiff_modes_agree_with_the_known_hessian(quadratic_model, mode):
    a = quadratic_model.module.net.a
    x, v = torch.randn(3, 6, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64)
    w = class_weights(quadratic_model, torch.ones(3, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    torch.testing.assert_close(getattr(decision, mode)(quadratic_model, x, w, v), v @ a.T)


def test_autodiff_modes_agree_on_the_smooth_cnn(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[:2])
    v = torch.randn(2, 1, 28, 28)
    w = class_weights(softplus_cnn, torch.tensor([3, 1]), torch.tensor([5, 0]))
    torch.testing.assert_close(decision._hvp_forward(softplus_cnn, x, w, v),
                               decision._hvp_reverse(softplus_cnn, x, w, v), rtol=1e-4, atol=1e-5)


def test_fd_hvp_is_exact_for_a_quadratic(quadratic_model):
    a = quadratic_model.module.net.a
    x = torch.randn(2, 6, dtype=torch.float64)
    v = torch.randn(2, 3, 6, dtype=torch.float64)
    k, k_hat = torch.ones(2, dtype=torch.long), torch.zeros(2, dtype=torch.long)
    torch.testing.assert_close(hvp(quadratic_model, x, k, k_hat, v, method="fd", h=0.3), v @ a.T)


def test_exact_hvp_matches_dense_hessian_on_smooth_cnn(softplus_cnn, digits):
    model = g.Classifier(copy.deepcopy(softplus_cnn.module.net), softplus_cnn.card, device="cpu",
                         dtype=torch.float64)
    x = torch.from_numpy(digits.images[:1]).double()
    k, k_hat = torch.tensor([3]), torch.tensor([5])

    def f(z):
        out = model(z.reshape(1, 1, 28, 28))[0]
        return out[3] - out[5]

    dense = torch.func.hessian(f)(x.reshape(-1))  # (784, 784)
    v = torch.randn(1, 2, 1, 28, 28, dtype=torch.float64)
    expected = (v.reshape(2, -1) @ dense.T).reshape(v.shape)
    torch.testing.assert_close(hvp(model, x, k, k_hat, v), expected, rtol=1e-8, atol=1e-10)
    fd = hvp(model, x, k, k_hat, v, method="fd", h=1e-4)
    torch.testing.assert_close(fd, expected, rtol=1e-4, atol=1e-6)


def test_relu_net_exact_hvp_is_zero_and_fd_is_not(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:2])
    k, k_hat = torch.tensor([1, 2]), torch.tensor([0, 0])
    v = torch.randn(2, 3, 1, 28, 28)
    assert hvp(relu_cnn, x, k, k_hat, v, method="exact").abs().max() == 0
    assert hvp(relu_cnn, x, k, k_hat, v, method="fd", h=0.1).abs().max() > 1e-3
    assert g.exact_hessian_vanishes(relu_cnn, x, k, k_hat)
    assert g.resolve_hvp_method(relu_cnn, x, k, k_hat) == "fd"


def test_smooth_net_hessian_does_not_vanish(softplus_cnn, digits):
    x = torch.from_numpy(digits.images[:1])
    k, k_hat = torch.tensor([1]), torch.tensor([0])
    assert not g.exact_hessian_vanishes(softplus_cnn, x, k, k_hat)
    assert g.resolve_hvp_method(softplus_cnn, x, k, k_hat) == "exact"


class _SoftplusMlp(torch.nn.Module):
    """f(x) = V softplus(W x + b): each F_k has an input Hessian Wᵀ diag(σ'(Wx + b) ∘ (v_k − v_k̂)) W that
    changes with x, so an HVP paired with another sample's point or classes gives a different answer."""

    def __init__(self, gen: torch.Generator):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(7, 5, generator=gen, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.randn(7, generator=gen, dtype=torch.float64))
        self.v = torch.nn.Parameter(torch.randn(4, 7, generator=gen, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(x.flatten(1) @ self.w.T + self.b) @ self.v.T


@pytest.mark.parametrize("method", ["exact", "fd"])
@pytest.mark.parametrize("batch_size", [1, 5, 7, None])
def test_chunked_hvps_match_each_samples_own_hessian(method, batch_size):
    gen = torch.Generator().manual_seed(6)
    from geometry.analytic import classifier

    model = classifier(_SoftplusMlp(gen), (5,), tuple("abcd"), name="softplus-mlp")
    x = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    v = torch.randn(4, 3, 5, generator=gen, dtype=torch.float64)  # 12 rows: chunks of 5 and 7 straddle points
    k, k_hat = torch.tensor([1, 2, 3, 0]), torch.tensor([0, 3, 1, 2])
    expected = torch.stack([
        v[i] @ torch.func.hessian(lambda z, i=i: (model(z[None])[0, k[i]] - model(z[None])[0, k_hat[i]]))(x[i])
        for i in range(4)])  # the Hessians are symmetric: (H vᵀ)ᵀ = v H
    hessians_differ = (expected[0] - v[0] @ torch.func.hessian(
        lambda z: model(z[None])[0, k[1]] - model(z[None])[0, k_hat[1]])(x[1])).abs().max()
    assert hessians_differ > 0.1  # a misaligned chunk would show
    got = hvp(model, x, k, k_hat, v, method=method, h=1e-4, batch_size=batch_size)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)


def test_hvp_operator_for_one_point(quadratic_model):
    op = g.hvp_operator(quadratic_model, torch.randn(6, dtype=torch.float64), 1, 0)
    v = torch.eye(6, dtype=torch.float64)
    torch.testing.assert_close(op(v), quadratic_model.module.net.a)


def test_hvp_rejects_misshaped_vectors(quadratic_model):
    with pytest.raises(ValueError, match="vectors must have shape"):
        hvp(quadratic_model, torch.zeros(2, 6), torch.ones(2, dtype=torch.long), torch.zeros(2, dtype=torch.long),
            torch.zeros(2, 3, 5))
