"""BoundaryPoint.to_numpy: a frozen, read-only numpy result that survives pickling (st.cache_data) and
turns back into the same BoundaryPoint."""

import pickle

import numpy as np
import pytest
import torch

import geometry as g


def test_to_numpy_is_read_only_also_after_pickling_and_round_trips(linear_model):
    x = torch.zeros(2, *linear_model.input_shape, dtype=linear_model.dtype)
    bp = g.deepfool(linear_model, x)
    arrays = bp.to_numpy()
    np.testing.assert_allclose(arrays.distance, bp.distance.numpy())
    np.testing.assert_allclose(arrays.perturbation, (bp.adversarial - bp.x).numpy())
    for copy in (arrays, pickle.loads(pickle.dumps(arrays))):
        with pytest.raises(ValueError, match="read-only"):
            copy.boundary[0] = 1.0
    back = arrays.to_tensors()
    assert back.n_forward == bp.n_forward
    for name in ("x", "label", "target", "adversarial", "boundary", "normal", "grad_norm", "success"):
        torch.testing.assert_close(getattr(back, name), getattr(bp, name))
