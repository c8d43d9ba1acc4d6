"""DeepFool against analytic boundaries: the exact distance to a hyperplane and to a sphere."""

import pytest
import torch

import geometry as g


def _hyperplane_distance(model, x, label, target):
    w = model.module.net.weight.detach()
    b = model.module.net.bias.detach()
    dw, db = w[target] - w[label], b[target] - b[label]
    return ((x @ dw.T).diagonal() + db).abs() / dw.norm(dim=1)


def test_linear_boundary_point_is_the_orthogonal_projection(linear_model):
    x = torch.randn(16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    bp = g.deepfool(linear_model, x)
    assert bp.success.all()
    assert (bp.iterations == 1).all()  # a linear boundary is reached in one step
    w = linear_model.module.net.weight.detach()
    logits = linear_model.logits(x)
    # The minimal distance over all other classes' hyperplanes (the true minimal perturbation).
    dists = torch.stack([_hyperplane_distance(linear_model, x, bp.label, torch.full_like(bp.label, k))
                         for k in range(3)], 1)
    dists[torch.arange(16), bp.label] = float("inf")
    torch.testing.assert_close(bp.distance, dists.min(1).values, rtol=1e-7, atol=1e-9)
    normal = (w[bp.target] - w[bp.label])
    torch.testing.assert_close(bp.normal, normal / normal.norm(dim=1, keepdim=True))
    assert (linear_model.predict(bp.adversarial) == bp.target).all()
    assert (logits.argmax(1) == bp.label).all()
    # overshoot: the adversarial point lies 1.02 times the distance away
    torch.testing.assert_close(bp.perturbation.norm(dim=1), 1.02 * (bp.distance + 1e-4), rtol=1e-6, atol=1e-8)


def test_sphere_distance_is_radius_minus_norm(sphere_model):
    x = torch.tensor([[0.5, 0.0, 0.0, 0.0], [0.0, 1.2, 0.3, 0.0]], dtype=torch.float64)
    bp = g.deepfool(sphere_model, x)
    assert bp.success.all()
    torch.testing.assert_close(bp.distance, 2.0 - x.norm(dim=1), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(bp.normal, x / x.norm(dim=1, keepdim=True), rtol=1e-6, atol=1e-8)


def test_embedded_cnn_deepfool_crosses_with_small_perturbations(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:24])
    bp = g.deepfool(relu_cnn, x)
    assert bp.success.float().mean() == 1.0
    assert (relu_cnn.predict(bp.adversarial)[bp.success] != bp.label[bp.success]).all()
    assert (bp.adversarial >= 0).all() and (bp.adversarial <= 1).all()
    ratio = bp.perturbation.flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert ratio.median() < 0.3  # DeepFool perturbations are small relative to the image
    # the boundary point really separates the label from the target: tiny steps on each side
    z, n = bp.boundary, bp.normal
    assert (relu_cnn.predict(z - 1e-3 * n) == bp.label).float().mean() > 0.9
    assert (relu_cnn.predict(z + 1e-3 * n) == bp.target).float().mean() > 0.9


@pytest.mark.slow
def test_chunked_deepfool_equals_one_batch(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:6])
    whole, parts = g.deepfool(relu_cnn, x), g.deepfool(relu_cnn, x, batch_size=4)
    torch.testing.assert_close(whole.boundary, parts.boundary)
    assert torch.equal(whole.target, parts.target)


def test_failed_samples_are_marked_not_hidden(relu_cnn, digits):
    bp = g.deepfool(relu_cnn, torch.from_numpy(digits.images[:4]), max_iter=0)
    assert not bp.success.any()
    assert (bp.target != bp.label).all()


def test_fewer_candidates_than_classes_targets_only_the_top_logits(linear_model):
    """candidates=2 of 3 classes: DeepFool only sees the runner-up by logit, even where another class's
    hyperplane is nearer; its boundary point is then the exact projection onto the runner-up's hyperplane."""
    x = torch.randn(200, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    top = linear_model.logits(x).topk(3, dim=1).indices
    full, two = g.deepfool(linear_model, x), g.deepfool(linear_model, x, candidates=2)
    assert two.success.all() and torch.equal(two.label, top[:, 0])
    assert torch.equal(two.target, top[:, 1])
    torch.testing.assert_close(two.distance, _hyperplane_distance(linear_model, x, two.label, top[:, 1]),
                               rtol=1e-7, atol=1e-9)
    nearer_third = full.target == top[:, 2]  # the minimal perturbation goes to the third class
    assert nearer_third.sum() >= 5  # the case the restriction changes occurs in this sample
    assert (two.distance[nearer_third] > full.distance[nearer_third] + 1e-6).all()
    torch.testing.assert_close(two.distance[~nearer_third], full.distance[~nearer_third])
