"""Decision Atlas geometry backend: pure torch computation of the input-space geometry of classifiers.

Everything here takes a `Classifier` and tensors in pixel space and returns small result dataclasses.
No Streamlit or Plotly imports: the front end lives in `app/`.
"""

from . import analytic
from .attacks import ATTACKS, AttackResult, attack, fgsm, pgd
from .batching import chunked, flat_norm, make_generator, random_unit_vectors
from .cross_section import CrossSection, cross_section
from .datamap import DataMap, fit_datamap, project
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
from .deepfool import BoundaryPoint, deepfool
from .detection import CurvatureScores, DetectionEvaluation, curvature_scores, evaluate_detection, roc_curve
from .errors import AtlasError, ImageError, ModelError, ModelLoadError
from .images import FittedImage, SampleSet, fit_image, load_digits, load_photos, load_upload, samples_for
from .loading import TORCHVISION_ARCHS, list_embedded, load_embedded, load_torchscript, load_torchvision
from .model import Classifier, ModelCard, default_device
from .model_spec import load_model
from .path_table import PathTable, path_table
from .paths import ConnectingPath, PathConfig, connecting_path, connecting_paths
from .planes import Plane, curvature_plane, normal_plane, points_plane, random_plane, three_point_plane
from .profiles import Profile, line_profile
from .regions import RegionStats, region_stats
from .spectrum import CurvatureSpectrum, curvature_spectra, curvature_spectrum, spectral_density
from .vulnerability import SubspaceExperiment, subspace_experiment

__all__ = [
    "analytic", "AtlasError", "attack", "AttackResult", "ATTACKS", "BoundaryPoint", "chunked",
    "class_gradients", "Classifier", "connecting_path", "connecting_paths", "ConnectingPath",
    "cross_section", "CrossSection", "curvature_plane", "curvature_scores", "curvature_spectra",
    "curvature_spectrum", "CurvatureScores", "CurvatureSpectrum", "DataMap", "decision_grad",
    "decision_values", "deepfool", "default_device", "DEFAULT_FD_STEP", "DetectionEvaluation",
    "evaluate_detection", "exact_hessian_vanishes", "fgsm", "fit_datamap", "fit_image", "FittedImage",
    "flat_norm", "hvp", "hvp_operator", "ImageError", "line_profile", "list_embedded", "load_digits",
    "load_embedded", "load_model", "load_photos", "load_torchscript", "load_torchvision", "load_upload",
    "make_generator",
    "ModelCard", "ModelError", "ModelLoadError", "normal_plane", "path_table", "PathConfig", "PathTable",
    "pgd", "Plane", "points_plane", "Profile", "project", "random_plane", "random_unit_vectors",
    "region_stats", "RegionStats", "resolve_hvp_method", "roc_curve", "samples_for", "SampleSet",
    "spectral_density", "subspace_experiment", "SubspaceExperiment", "three_point_plane",
    "TORCHVISION_ARCHS",
]
