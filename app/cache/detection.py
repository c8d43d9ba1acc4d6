"""Cached detection computations (docs/paper_notes.md §7) for the Detection page: the chosen image's scores with its
attacked versions, and a batch evaluation. Keyed by (model key, image key / batch spec, parameters)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from app import ui
from geometry import Classifier
from geometry.attacks import ATTACKS, attack
from geometry.detection import (
    STATISTICS,
    DetectionEvaluation,
    curvature_scores,
    evaluate_detection,
    random_directions,
    threshold_at_fpr,
)
from geometry.images import load_digits, load_fashion

N_CALIBRATION = 100  # clean validation images the default threshold is calibrated on
TARGET_FPR = 0.05


@ui.cached_with_progress(max_entries=32, show_spinner="Scoring the image and its attacked versions…")
def image_versions(model_key: str, image_key: str, _model: Classifier, _image: np.ndarray, *,
                   directions: int, h: float, seed: int, classes: int | None = None,
                   _progress: Callable[[float], None] | None = None) -> dict[str, dict]:
    """For the clean image and each attack's version: image, label, success, oriented scores c_i (L,),
    the two detection statistics and the recovered label. One batched scoring call for all versions,
    all along the clean image's T directions (so the versions differ only by the perturbation)."""
    x = torch.from_numpy(_image)[None]
    adv = {name: attack(_model, x, name, seed=seed) for name in ATTACKS}
    stack = np.concatenate([_image[None]] + [a.adversarial.astype(np.float32) for a in adv.values()])
    v = random_directions(_model, 1, directions, seed).expand(len(stack), *([-1] * (1 + _image.ndim)))
    cs = curvature_scores(_model, torch.from_numpy(stack), h=h, seed=seed, classes=classes, v=v,
                          progress=_progress)
    out = {}
    for i, name in enumerate(["clean", *ATTACKS]):
        out[name] = {"image": stack[i], "label": int(cs.label[i]), "recovered": int(cs.recovered[i]),
                     "scores": cs.oriented[i], "mean": float(cs.statistic("mean")[i]),
                     "min": float(cs.statistic("min")[i]),
                     "success": None if name == "clean" else bool(adv[name].success[0]),  # no attack
                     "l2": 0.0 if name == "clean" else float(adv[name].l2[0])}
    out["clean"]["method"] = cs.method
    return out


@ui.cached_with_progress(max_entries=8, show_spinner=False)
def batch_evaluation(model_key: str, sample_key: str, n: int, attacks: tuple[str, ...], _model: Classifier,
                     _images: np.ndarray, *, directions: int, h: float, seed: int, classes: int | None = None,
                     _progress: Callable[[float], None] | None = None) -> DetectionEvaluation:
    """evaluate_detection on the first n sample images (`sample_key` names the set)."""
    x = torch.from_numpy(np.ascontiguousarray(_images[:n]))
    return evaluate_detection(_model, x, attacks=attacks, directions=directions, h=h, seed=seed,
                              classes=classes, progress=_progress)


def validation_images(model: Classifier) -> tuple[np.ndarray, str] | None:
    """Clean images of the model's data set kept for choosing parameters, and where they come from; None
    when there are none (ImageNet models: only five photos). MNIST: held-out digits 250.. (the validation
    half of bench/detection_study.py; the sidebar's first digits belong to its report half)."""
    if tuple(model.input_shape) != (1, 28, 28):
        return None
    if model.card.dataset == "fashion-mnist":
        return load_fashion("val").images[:N_CALIBRATION], (
            f"the first {N_CALIBRATION} Fashion-MNIST validation images (training set, never trained on)")
    return load_digits().images[250:250 + N_CALIBRATION], (
        f"held-out digits 250–{249 + N_CALIBRATION} (the validation half)")


@ui.cached_with_progress(max_entries=16, show_spinner=False)
def calibration(model_key: str, _model: Classifier, *, directions: int, h: float, seed: int,
                classes: int | None = None, _progress: Callable[[float], None] | None = None) -> dict | None:
    """Each statistic's threshold at TARGET_FPR on the model's clean validation images (validation_images),
    with their scores and a description of the images; None when the model has no validation images."""
    found = validation_images(_model)
    if found is None:
        return None
    images, source = found
    cs = curvature_scores(_model, torch.from_numpy(np.ascontiguousarray(images)), directions=directions, h=h,
                          seed=seed, classes=classes, progress=_progress)
    scores = {s: cs.statistic(s) for s in STATISTICS}
    return {"scores": scores, "threshold": {s: threshold_at_fpr(v, TARGET_FPR) for s, v in scores.items()},
            "source": source, "n": len(images), "fpr": TARGET_FPR}
