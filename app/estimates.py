"""Defaults for large inputs (ImageNet-size models on a CPU) and the time estimates shown before a heavy view
runs: one timed forward/backward pass of one image × the number of such passes the view's computation needs
(counted from its settings; a batched forward counts FORWARD of a pass, a batched gradient GRADIENT).
Rough by design: the point is "seconds or minutes?" before the user waits. bench/resnet_views.py compares
the estimates with measured times.
"""

from __future__ import annotations

import time

import torch

from geometry.model import Classifier
from geometry.spectrum import MAX_FULL_DIM

# --- defaults above MAX_FULL_DIM input numbers (e.g. 3×224×224), chosen so each view's default finishes
# within a minute with ResNet-18 on a 2-core CPU (bench/resnet_views.py) ----------------------------------
LARGE_CURVATURES = 3  # Lanczos: the 3 most positive and 3 most negative curvatures (not 10)
LARGE_GRID = 30  # cross-sections: a 30×30 adaptive grid (coarse 12×12, refined at the boundary)
LARGE_DETECTION_CLASSES = 2  # detection: the top-2 other classes by logit (DeepFool's practice)
LARGE_DETECTION_DIRECTIONS = 6  # detection: T random directions (3 classes × 8 took ~40 s of scoring)
LARGE_PATH_PLANE = 21  # paths: the plane of the path on a 21×21 grid (not 41×41)

# Passes (units of one forward+backward of one image), calibrated on ResNet-18 by bench/resnet_views.py, which
# prints each view's measured seconds ÷ one pass next to these estimates (02:10 UTC run, load about 3).
FORWARD = 0.7  # one image's forward pass inside a grid batch (F and G of every point)
GRADIENT = 1.1  # one image's gradient inside DeepFool's or an attack's batch
HVP = 5.4  # one of the 2 gradients of a detection-score HVP (batched over classes × directions, projection included)
DEEPFOOL_STEPS = 5  # typical DeepFool iterations on natural images (each: one gradient per candidate class)


def is_large(model: Classifier) -> bool:
    return model.dim > MAX_FULL_DIM


def lanczos_steps(k: int) -> int:
    """Lanczos steps for k curvatures at each end on a large input: 10 per curvature plus 10, instead of the
    solver's max(20 k, 100); the spectrum reports whether it converged within them."""
    return 10 * k + 10


def unit_seconds(model: Classifier) -> float:
    """Seconds of one forward+backward pass of one image (the faster of two: the first warms up)."""
    x = torch.rand((1, *model.input_shape), dtype=model.dtype, device=model.device, requires_grad=True)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        model(x).max().backward()
        best = min(best, time.perf_counter() - t0)
    return best


def deepfool_passes(candidates: int = 10, steps: int = DEEPFOOL_STEPS) -> float:
    return steps * candidates * GRADIENT


def lanczos_passes(steps: int) -> float:
    """Finite-difference HVPs, one vector per Lanczos step (the solver may stop earlier), plus the residuals."""
    return 0.55 * steps + 2


def detection_passes(classes: int, directions: int, versions: int = 4, attack_steps: int = 41) -> float:
    """Scoring `versions` images (clean + 3 attacked) over K classes × T directions, after the attacks
    (DeepFool, FGSM, two 20-step PGDs)."""
    return versions * classes * directions * 2 * HVP + attack_steps * GRADIENT + deepfool_passes()


def grid_passes(resolution: int, profile_points: int = 61) -> float:
    """An adaptive grid (on a fragmented map every point is refined, so counted as dense) and two profiles."""
    return FORWARD * (resolution**2 + 2 * profile_points)


def path_passes(n_check: int = 64, plane: int = LARGE_PATH_PLANE) -> float:
    """The straight-line check (a few points per n_check) and the path's plane (plane² forwards), plus a few
    pushed midpoints (a short DeepFool each) when the straight line leaves the region."""
    return FORWARD / 2 * (4 * n_check + plane**2) + 2 * deepfool_passes(candidates=2)


def estimate(view: str, model: Classifier, unit: float, *, resolution: int = LARGE_GRID,
             k: int = LARGE_CURVATURES, max_steps: int | None = None, classes: int | None = None,
             directions: int = LARGE_DETECTION_DIRECTIONS, n_check: int = 64) -> float:
    """Seconds for a view's computation with these settings, from `unit` = unit_seconds(model)."""
    candidates = min(10, model.num_classes)
    steps = min(model.dim - 1, max_steps or max(20 * k, 100))
    passes = {"home": deepfool_passes(candidates),
              "cross-sections": grid_passes(resolution),
              "curvature": lanczos_passes(steps) + deepfool_passes(candidates),
              "paths": path_passes(n_check),
              "detection": detection_passes(classes or model.num_classes - 1, directions)}[view]
    return unit * passes


def describe(seconds: float, unit: float) -> str:
    """'about 12 s (…)': the estimate and what it rests on."""
    amount = f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"
    return f"{amount} (estimated from one timed forward/backward pass: {unit * 1e3:.0f} ms)"
