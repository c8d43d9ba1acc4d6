"""The Classifier wrapper and batching: shapes, NaN and gradient checks, chunking and OOM retry."""

import pytest
import torch
from torch import nn

import geometry as g
from geometry.batching import chunked


def test_wrong_shapes_get_actionable_errors(relu_cnn):
    with pytest.raises(g.ImageError, match=r"expected inputs of shape \(N, 1, 28, 28\).*got \(2, 3, 28, 28\)"):
        relu_cnn.logits(torch.zeros(2, 3, 28, 28))
    with pytest.raises(g.ImageError, match="add a batch dimension"):
        relu_cnn.logits(torch.zeros(1, 28, 28))


def test_normalisation_lives_inside_the_wrapper(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:4])
    raw = relu_cnn.module.net((x - 0.1307) / 0.3081)
    torch.testing.assert_close(relu_cnn.logits(x), raw)


def test_chunked_logits_equal_one_batch(relu_cnn, digits):
    x = torch.from_numpy(digits.images[:20])
    whole = relu_cnn.logits(x)
    for bs in (1, 7):
        torch.testing.assert_close(relu_cnn.logits(x, batch_size=bs), whole)


def _card(shape=(3,), classes=2):  # modules built here start in training mode; that warning is tested below
    return g.ModelCard(name="t", input_shape=shape, class_names=tuple(str(i) for i in range(classes)))


@pytest.fixture(autouse=True)
def _quiet_training_mode_warning():
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*training mode")
        yield


class _NaNNet(nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 2), float("nan"))


class _Detached(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x).detach()


def test_nan_model_raises_model_error():
    model = g.Classifier(_NaNNet(), _card(), device="cpu")
    with pytest.raises(g.ModelError, match="NaN"):
        model.logits(torch.zeros(1, 3))


def test_model_without_gradient_raises_model_error():
    model = g.Classifier(_Detached(), _card(), device="cpu")
    with pytest.raises(g.ModelError, match="no gradient"):
        g.decision_grad(model, torch.zeros(2, 3), torch.tensor([1, 1]), torch.tensor([0, 0]))
    with pytest.raises(g.ModelError, match="no gradient"):
        g.deepfool(model, torch.zeros(2, 3))


def test_training_mode_is_switched_off_with_a_warning():
    net = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).train()
    with pytest.warns(UserWarning, match="training mode"):
        model = g.Classifier(net, _card(), device="cpu")
    assert not model.module.training


def test_out_of_memory_halves_the_batch_and_retries():
    sizes = []

    def fn(x):
        sizes.append(len(x))
        if len(x) > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return x * 2

    with pytest.warns(RuntimeWarning, match="retrying with batch size"):
        out = chunked(fn, torch.arange(10.0), batch_size=16)
    torch.testing.assert_close(out, torch.arange(10.0) * 2)
    assert sizes[:3] == [10, 5, 2]


def test_other_errors_are_not_swallowed_by_the_retry():
    def fn(x):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        chunked(fn, torch.zeros(4), batch_size=2)


def test_progress_reaches_one():
    seen = []
    chunked(lambda x: x, torch.zeros(10), batch_size=3, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_random_unit_vectors_are_seeded_and_unit():
    a = g.random_unit_vectors(5, (1, 4, 4), generator=g.make_generator(3))
    b = g.random_unit_vectors(5, (1, 4, 4), generator=g.make_generator(3))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(g.flat_norm(a), torch.ones(5))
