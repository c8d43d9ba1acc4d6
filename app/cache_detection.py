"""Cached detection computations (docs/paper_notes.md §7) for the Detection page: the chosen image's scores with its
attacked versions, and a batch evaluation. Keyed by (model key, image key / batch spec, parameters)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

from geometry import Classifier
from geometry.attacks import ATTACKS, attack
from geometry.detection import DetectionEvaluation, curvature_scores, evaluate_detection, random_directions


@st.cache_data(max_entries=32, show_spinner="Scoring the image and its attacked versions…")
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
                     "success": True if name == "clean" else bool(adv[name].success[0]),
                     "l2": 0.0 if name == "clean" else float(adv[name].l2[0])}
    out["clean"]["method"] = cs.method
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def batch_evaluation(model_key: str, sample_key: str, n: int, attacks: tuple[str, ...], _model: Classifier,
                     _images: np.ndarray, *, directions: int, h: float, seed: int, classes: int | None = None,
                     _progress: Callable[[float], None] | None = None) -> DetectionEvaluation:
    """evaluate_detection on the first n sample images (`sample_key` names the set)."""
    x = torch.from_numpy(np.ascontiguousarray(_images[:n]))
    return evaluate_detection(_model, x, attacks=attacks, directions=directions, h=h, seed=seed,
                              classes=classes, progress=_progress)
