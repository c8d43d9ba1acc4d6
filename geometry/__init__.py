"""Decision Atlas geometry backend: pure torch computation of the input-space geometry of classifiers.

Everything here takes a `Classifier` and tensors in pixel space and returns small result dataclasses.
No Streamlit or Plotly imports (see shared/style.md).
"""

from . import analytic
from .batching import chunked, flat_norm, make_generator, random_unit_vectors
from .deepfool import BoundaryPoint, deepfool
from .decision import (
    DEFAULT_FD_STEP,
    class_gradients,
    decision_grad,
    decision_values,
    exact_hessian_vanishes,
    hvp,
    hvp_operator,
    resolve_hvp_method,
)
from .errors import AtlasError, ImageError, ModelError, ModelLoadError
from .images import FittedImage, SampleSet, fit_image, load_digits, load_photos, load_upload, samples_for
from .loading import TORCHVISION_ARCHS, list_embedded, load_embedded, load_torchscript, load_torchvision
from .model import Classifier, ModelCard, default_device

__all__ = [
    "analytic", "AtlasError", "BoundaryPoint", "Classifier", "DEFAULT_FD_STEP", "FittedImage", "ImageError", "ModelCard",
    "ModelError", "ModelLoadError", "SampleSet", "TORCHVISION_ARCHS", "chunked", "class_gradients",
    "decision_grad", "decision_values", "deepfool", "default_device", "exact_hessian_vanishes", "fit_image",
    "flat_norm", "hvp", "hvp_operator", "list_embedded", "load_digits", "load_embedded", "load_photos",
    "load_torchscript", "load_torchvision", "load_upload", "make_generator", "random_unit_vectors",
    "resolve_hvp_method", "samples_for",
]
