"""Two models that take the same input, side by side: DeepFool distances, cross-sections on one shared plane,
curvature spectra at each model's boundary point, and their ratios in a computed sentence.

The typical pair is a standard network and its adversarially trained twin: robust training is known to push
the boundary away from the data and to flatten it, and these functions measure both on the same images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .deepfool import BoundaryPoint, deepfool
from .detection import DetectionEvaluation, evaluate_detection
from .errors import AtlasError
from .model import Classifier
from .planes import EXTENT_PER_DISTANCE, Plane, _random_direction, orthonormalize
from .profile import CurvatureProfile, curvature_profile
from .spectrum import CurvatureSpectrum, curvature_spectrum

_PARALLEL = 0.999  # |cos| between the two normals above which the shared plane takes a random second axis


def check_comparable(model_a: Classifier, model_b: Classifier) -> None:
    """Both models must read the same inputs (shape and pixel bounds) to be compared on one image."""
    if model_a.input_shape != model_b.input_shape:
        raise AtlasError(f"{model_a.name} takes inputs of shape {model_a.input_shape} but {model_b.name} takes "
                         f"{model_b.input_shape}: pick two models with the same input")
    if tuple(model_a.bounds) != tuple(model_b.bounds):
        raise AtlasError(f"{model_a.name} and {model_b.name} use different pixel bounds "
                         f"({model_a.bounds} vs {model_b.bounds})")


@dataclass(frozen=True)
class ModelAtImage:
    """One model's geometry at one image (CPU numpy)."""

    name: str
    label: int  # k̂(x)
    probability: float  # softmax probability of k̂(x)
    target: int  # DeepFool's class across the boundary
    distance: float  # ‖z − x‖, the distance to the boundary DeepFool found
    perturbation: np.ndarray  # (*S) r(x) (with DeepFool's overshoot)
    normal: np.ndarray  # (*S) unit normal of the boundary at z
    spectrum: CurvatureSpectrum  # principal curvatures at z

    @property
    def largest_curvature(self) -> float:
        """max |κ| over the principal curvatures at z."""
        return float(np.max(np.abs(self.spectrum.eigenvalues)))


@dataclass(frozen=True)
class ImageComparison:
    """Both models at the same image."""

    a: ModelAtImage
    b: ModelAtImage

    def summary(self) -> str:
        """A computed sentence: how much farther and flatter model b's boundary is than model a's."""
        return (f"On this image, {self.b.name}'s boundary is {_times(self.b.distance, self.a.distance)} "
                f"as far as {self.a.name}'s (‖r‖ {self.b.distance:.3g} vs {self.a.distance:.3g}) and its "
                f"largest |κ| is {_times(self.b.largest_curvature, self.a.largest_curvature)} "
                f"({self.b.largest_curvature:.3g} vs {self.a.largest_curvature:.3g}).")


def _times(num: float, den: float) -> str:
    if not (np.isfinite(num) and np.isfinite(den)) or den == 0:
        return "(not comparable)"
    return f"{num / den:.2g}×"


def model_at_image(model: Classifier, x: torch.Tensor | np.ndarray, *, boundary: BoundaryPoint | None = None,
                   **spectrum_kwargs) -> ModelAtImage:
    """Prediction, DeepFool and the curvature spectrum at the boundary point, for one image (*S)."""
    x1 = model.prepare(torch.as_tensor(np.asarray(x))[None] if np.ndim(x) == len(model.input_shape) else x)
    bp = boundary if boundary is not None else deepfool(model, x1)
    if not bool(bp.success[0]):
        raise AtlasError(f"{model.name}: DeepFool found no label change for this image, so there is no "
                         "boundary to compare; pick another image")
    prob = model.probabilities(x1)[0]
    spec = curvature_spectrum(model, x1, boundary=bp, **spectrum_kwargs)
    return ModelAtImage(name=model.name, label=int(bp.label[0]), probability=float(prob.max()),
                        target=int(bp.target[0]), distance=float(bp.distance[0]),
                        perturbation=bp.perturbation[0].detach().cpu().numpy(),
                        normal=bp.normal[0].detach().cpu().numpy(), spectrum=spec)


def compare_image(model_a: Classifier, model_b: Classifier, x: torch.Tensor | np.ndarray,
                  **spectrum_kwargs) -> ImageComparison:
    """Both models' predictions, DeepFool distances and curvature spectra at one image (*S)."""
    check_comparable(model_a, model_b)
    return ImageComparison(a=model_at_image(model_a, x, **spectrum_kwargs),
                           b=model_at_image(model_b, x, **spectrum_kwargs))


TYPICAL_RULE = ("a typical image: both models classify it correctly and model A's distance to its boundary is "
                "the closest to model A's median distance over the first {n} held-out images")


def typical_image(model_a: Classifier, model_b: Classifier, x: torch.Tensor, labels: np.ndarray) -> int:
    """Index of the image TYPICAL_RULE picks among x (N, *S) with true labels (N,); the first image when no
    image is classified correctly by both models."""
    check_comparable(model_a, model_b)
    both = (model_a.predict(x).cpu().numpy() == labels) & (model_b.predict(x).cpu().numpy() == labels)
    bp = deepfool(model_a, x)
    dist = np.where(bp.success.cpu().numpy(), bp.distance.detach().cpu().numpy(), np.nan)
    ok = both & np.isfinite(dist)
    if not ok.any():
        return 0
    gap = np.where(ok, np.abs(dist - np.nanmedian(dist[ok])), np.inf)
    return int(np.argmin(gap))


def shared_plane(comparison: ImageComparison, x: np.ndarray, *, seed: int = 0) -> Plane:
    """The plane through x spanned by both models' DeepFool directions, where both boundaries can be drawn.

    u = r_a(x)/‖r_a‖; v = r_b(x) made orthogonal to u (a random direction when the two are parallel).
    The extent is 3× the larger of the two distances, so both boundaries are inside the square.
    """
    x0 = np.asarray(x, dtype=np.float64)
    ra, rb = (m.perturbation.astype(np.float64) for m in (comparison.a, comparison.b))
    cos = abs(float(ra.ravel() @ rb.ravel())) / (np.linalg.norm(ra) * np.linalg.norm(rb) + 1e-300)
    second = _random_direction(x0.shape, seed) if cos > _PARALLEL else rb
    u, v = orthonormalize(ra, second)
    marks = {"x": (0.0, 0.0)}
    for m, r in ((comparison.a, ra), (comparison.b, rb)):
        marks[f"x + r(x), {m.name}"] = (float(r.ravel() @ u.ravel()), float(r.ravel() @ v.ravel()))
    extent = EXTENT_PER_DISTANCE * max(comparison.a.distance, comparison.b.distance)
    return Plane(origin=x0, u=u, v=v, kind="r_a × r_b", marks=marks, default_extent=extent,
                 seeds={"v": seed} if cos > _PARALLEL else {},
                 note=f"u = {comparison.a.name}'s DeepFool direction, v = {comparison.b.name}'s made orthogonal "
                      f"to it (cos between them {cos:.2f})")


@dataclass(frozen=True)
class BatchComparison:
    """Both models over the same N images: curvature profiles (which carry the DeepFool distances) and,
    optionally, the curvature detector's evaluation against DeepFool."""

    names: tuple[str, str]
    n_images: int
    profiles: tuple[CurvatureProfile, CurvatureProfile]
    detection: tuple[DetectionEvaluation, DetectionEvaluation] | None

    def median_distance(self, i: int) -> float:
        return float(np.median(self.profiles[i].distance))

    def median_largest_curvature(self, i: int) -> float:
        """Median over images of max |κ| at each image's boundary point."""
        return float(np.median(np.abs(self.profiles[i].curvatures).max(axis=1)))

    def auc(self, i: int, attack: str = "deepfool") -> float:
        if self.detection is None or self.detection[i].attacks[attack].scores is None:
            return float("nan")
        return self.detection[i].attacks[attack].metrics(self.detection[i].clean).auc

    def summary(self) -> str:
        a, b = self.names
        da, db = self.median_distance(0), self.median_distance(1)
        ka, kb = self.median_largest_curvature(0), self.median_largest_curvature(1)
        text = (f"Over {self.n_images} images, {b}'s boundary is a median {_times(db, da)} as far as {a}'s "
                f"(median ‖r‖ {db:.3g} vs {da:.3g}) and its largest |κ| a median {_times(kb, ka)} "
                f"({kb:.3g} vs {ka:.3g}).")
        if self.detection is not None:
            text += (f" The curvature detector separates clean from DeepFool images with AUC "
                     f"{self.auc(1):.2f} on {b} vs {self.auc(0):.2f} on {a}.")
        return text


def compare_batch(model_a: Classifier, model_b: Classifier, x: torch.Tensor, *, detection: bool = True,
                  profile_kwargs: dict | None = None, detection_kwargs: dict | None = None,
                  progress: Callable[[float], None] | None = None) -> BatchComparison:
    """Dataset-level curvature profiles of both models on the same images (N, *S) and, with `detection`, the
    curvature detector's evaluation against DeepFool on each."""
    check_comparable(model_a, model_b)
    stages = 4 if detection else 2
    step = (lambda i: None) if progress is None else (lambda i: lambda f: progress((i + f) / stages))
    profiles = tuple(curvature_profile(m, x, progress=step(i), **(profile_kwargs or {}))
                     for i, m in enumerate((model_a, model_b)))
    det = None
    if detection:
        det = tuple(evaluate_detection(m, x, attacks=("deepfool",), progress=step(2 + i),
                                       **(detection_kwargs or {}))
                    for i, m in enumerate((model_a, model_b)))
    return BatchComparison(names=(model_a.name, model_b.name), n_images=int(x.shape[0]),
                           profiles=(profiles[0], profiles[1]), detection=None if det is None else (det[0], det[1]))
