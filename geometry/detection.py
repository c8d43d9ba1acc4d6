"""Detection of small adversarial perturbations by the boundary's curvature at x (docs/paper_notes.md §7, Algorithm 2).

For each class i ≠ k̂(x), with F_i = f_i − f_k̂, the score s_i(x) = (1/T) Σ_j v_jᵀ G_{F_i}(x) v_j averages the
curvature operator G_F = ‖∇F‖⁻¹ P H_F P (P = I − n nᵀ, n = ∇F/‖∇F‖) over T random unit directions v_j.
Since vᵀ P H P v = (Pv)ᵀ H (Pv), the directions are projected first and one HVP is taken per direction.
Algorithm 2's statistic is ρ = (1/(L·T)) Σ_i Σ_j (…) = (1/L) Σ_i s_i. Sign (measured on the embedded MNIST
and Fashion-MNIST nets, bench/detection_study.py, docs/findings.md): clean images have ρ > 0 in this
convention and perturbed ones a smaller, mostly still positive ρ; the original class's s_i is the lowest for
only 17–45 % of DeepFool images — the convention of the paper's Table 2 is the opposite one. So the detector
uses oriented scores c_i = PERTURBED_SIGN·s_i = −s_i: x is flagged when c̄ = −ρ ≥ t ("mean", Algorithm 2)
and the recovered label is argmax_{i≠k̂} c_i. A second statistic, "min" = min_i c_i = −max_i s_i (clean images
have at least one strongly positively curved boundary), is offered because it separates far better on the
ReLU net.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from .batching import make_generator, random_unit_vectors
from .decision import HvpMethod, decision_grad, hvp, resolve_hvp_method
from .errors import AtlasError
from .model import Classifier

DEFAULT_DIRECTIONS = 16  # T: random directions per image (shared by all classes of the image)
DEFAULT_DETECTION_STEP = 0.1  # FD-HVP step h on ReLU nets (L2, [0,1] pixels): best AUC of 0.02/0.1/0.3
# Measured on the standard nets (bench/detection_study.py, docs/findings.md): attacked images have smaller ρ
# than clean ones. Not on the adversarially trained *-robust-cnn nets, where clean images have the smaller ρ
# even at x: the orientation is a per-model measurement (pass sign=).
PERTURBED_SIGN = -1.0
# Measured on all six embedded MNIST / Fashion-MNIST nets: taken part of the way to the image's own DeepFool
# boundary point (toward_boundary > 0), the orientation is the opposite one: there clean images have the
# smaller ρ.
BOUNDARY_PERTURBED_SIGN = 1.0
STATISTICS = ("mean", "min")
SIGN_NOTE = ("Sign convention: c_i = −(curvature of F_i = f_i − f_k̂ along random directions at x), the "
             "convention of the paper's Table 2, so perturbed images score higher. Measured on the embedded "
             "MNIST and Fashion-MNIST nets (docs/findings.md): at a clean image c_i < 0 for most classes; just "
             "across a boundary all c_i move towards 0 but mostly stay negative, and the original class has "
             "the largest c_i (the recovered label) for only 17–45 % of DeepFool images. The paper's sign flip "
             "shows, partly, only when the curvature is taken at the boundary point itself.")
_ROWS_PER_CHUNK = 2048  # HVP rows (image × class × direction) held at once, for progress and memory
_ELEMENTS_PER_CHUNK = 2**26  # and at most this many numbers per held (rows, d) tensor (256 MB in float32)


@dataclass(frozen=True)
class CurvatureScores:
    """Algorithm 2's per-class curvature scores for N images (CPU numpy)."""

    scores: np.ndarray  # (N, L) s_i: mean curvature of F_i along T random tangent directions; NaN at k̂
    rho: np.ndarray  # (N,) ρ = (1/L) Σ_{i≠k̂} s_i
    label: np.ndarray  # (N,) k̂(x)
    recovered: np.ndarray  # (N,) argmax_{i≠k̂} c_i (oriented): the label Algorithm 2 recovers
    spread: np.ndarray  # (N, L) standard error of s_i over the T directions (the estimate's noise); NaN at k̂
    directions: int
    h: float
    method: str
    seed: int | None
    n_hvp: int
    n_forward: int
    seconds: float
    samples: np.ndarray | None = None  # (N, L, T) each direction's curvature (s_i is their mean); NaN at k̂
    sign: float = PERTURBED_SIGN  # orientation: c_i = sign·s_i is meant to be larger for perturbed images

    @property
    def oriented(self) -> np.ndarray:
        """(N, L) c_i = sign·s_i (PERTURBED_SIGN at x): larger for perturbed images; NaN at k̂."""
        return self.sign * self.scores

    def statistic(self, name: str = "mean") -> np.ndarray:
        """(N,) detection score: "mean" = sign·ρ (Algorithm 2) or "min" = min_i c_i."""
        if name == "mean":
            return self.sign * self.rho
        if name == "min":
            return np.nanmin(self.oriented, axis=1)
        raise AtlasError(f"unknown detection statistic {name!r}; choose one of {', '.join(STATISTICS)}")


def _others(label: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The L−1 classes i ≠ k̂ of each sample, in increasing order. (N, L−1)"""
    all_k = torch.arange(num_classes, device=label.device).expand(len(label), -1)
    return all_k[all_k != label[:, None]].reshape(len(label), num_classes - 1)


def _candidates(logits: torch.Tensor, classes: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """k̂ and the classes i ≠ k̂ scored: all L−1 (increasing order) or the top `classes` by logit. (N,), (N, K)"""
    label = logits.argmax(1)
    num_classes = logits.shape[1]
    if classes is None or classes >= num_classes - 1:
        return label, _others(label, num_classes)
    masked = logits.scatter(1, label[:, None], float("-inf"))  # never pick k̂ itself
    return label, masked.topk(classes, dim=1).indices.sort(1).values


def _rows_per_chunk(model: Classifier) -> int:
    """HVP rows materialised at once: _ROWS_PER_CHUNK, fewer for large inputs (each row is one (d,) vector)."""
    return max(1, min(_ROWS_PER_CHUNK, _ELEMENTS_PER_CHUNK // model.dim))


def _block_curvatures(model: Classifier, x: torch.Tensor, v: torch.Tensor, label: torch.Tensor,
                      classes: torch.Tensor, method: Literal["exact", "fd"], h: float) -> torch.Tensor:
    """(Pv)ᵀH(Pv)/‖∇F_i‖ for images x (n, *S), directions v (n, T, *S) and a block of classes (n, b). (n, b, T)"""
    (n, b), t, s = classes.shape, v.shape[1], x.shape[1:]
    xs = x.repeat_interleave(b, dim=0)  # (n*b, *S): only the image, not the T directions, is repeated
    ks, kh = classes.reshape(-1), label.repeat_interleave(b)
    g = decision_grad(model, xs, ks, kh).reshape(n, b, -1)
    gnorm = g.norm(dim=2).clamp_min(1e-30)  # (n, b)
    normal = g / gnorm[..., None]
    along = torch.einsum("nbd,ntd->nbt", normal, v.flatten(2))  # vᵀn without repeating v per class
    pv = (v.flatten(2)[:, None] - along[..., None] * normal[:, :, None]).reshape((n * b, t, *s))
    hpv = hvp(model, xs, ks, kh, pv, method=method, h=h)  # (n*b, T, *S)
    curv = (pv.flatten(2) * hpv.flatten(2)).sum(2).reshape(n, b, t)
    return curv / gnorm[..., None]


def _chunk_curvatures(model: Classifier, x: torch.Tensor, v: torch.Tensor, classes: int | None,
                      method: Literal["exact", "fd"],
                      h: float, at: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """k̂, the scored classes and the curvatures (n, K, T), in blocks of classes so that at most about
    _rows_per_chunk rows (image × class × direction) of d numbers are held at once, whatever L is.
    k̂ and the classes come from x; the curvatures are taken at `at` (default: x itself)."""
    with torch.no_grad():
        label, cand = _candidates(model.logits(x), classes)
    at = x if at is None else at
    rows = _rows_per_chunk(model)
    block = max(1, rows // (len(x) * v.shape[1]))
    curv = [_block_curvatures(model, at, v, label, cand[:, j:j + block], method, h)
            for j in range(0, cand.shape[1], block)]
    return label, cand, torch.cat(curv, dim=1)


def random_directions(model: Classifier, n: int, directions: int = DEFAULT_DIRECTIONS,
                      seed: int | None = 0) -> torch.Tensor:
    """The T random unit directions of each of n images that curvature_scores draws for a seed. (n, T, *S)"""
    v = random_unit_vectors(n * directions, model.input_shape, generator=make_generator(seed, "cpu"),
                            dtype=model.dtype)
    return v.reshape((n, directions, *model.input_shape)).to(model.device)


def curvature_scores(model: Classifier, x: torch.Tensor, *, directions: int = DEFAULT_DIRECTIONS,
                     h: float = DEFAULT_DETECTION_STEP, method: HvpMethod = "auto", seed: int | None = 0,
                     classes: int | None = None, v: torch.Tensor | None = None,
                     at: torch.Tensor | None = None, sign: float | None = None,
                     progress: Callable[[float], None] | None = None) -> CurvatureScores:
    """Algorithm 2's scores s_i(x) for every image and class i ≠ k̂, batched over images, classes, directions.

    Memory is bounded (about _ROWS_PER_CHUNK rows of d numbers at once) whatever the number of classes L:
    classes are processed in blocks.

    Args:
        model: the classifier. x: (N, *S) images.
        directions: T random unit directions per image (default 16), shared by the classes of one image.
        h: finite-difference step for ReLU nets (default 0.1, L2 pixel units); unused for exact HVPs.
        method: "auto" (exact for smooth nets, FD for ReLU nets), "exact" or "fd".
        seed: seeds the directions (image j always gets the same directions for a given seed).
        classes: score only the top-`classes` other classes by logit (like DeepFool's candidates), for
            models with many classes; the others get NaN. ρ is then averaged over those K classes with the
            paper's normalisation, ρ = (1/(K+1)) Σ_{scored i} s_i (so classes = L−1 is the same as None).
            None (default): all L−1 classes, the paper's definition.
        v: (N, T, *S) unit directions to use instead of drawing them from the seed (e.g. a subset's rows of
            random_directions, so that an image keeps its directions); T is then v.shape[1].
        at: (N, *S) points where the curvatures are taken instead of x itself (e.g. evaluation_points: a
            fraction of the way to the boundary); k̂, the scored classes and the orientation still come
            from x. None (default): at x, as Algorithm 2 is written.
        sign: the orientation c_i = sign·s_i of the scores and of the recovered label (argmax c_i). None:
            PERTURBED_SIGN at x, BOUNDARY_PERTURBED_SIGN when `at` is given (both measured, docs/findings.md).
        progress: receives the fraction of images done.
    Returns:
        CurvatureScores with scores (N, L), ρ (N,), k̂ and the recovered labels.
    Example:
        >>> cs = curvature_scores(model, images[:8]); cs.rho  # (8,)
    """
    directions = directions if v is None else int(v.shape[1])
    _check_config(model, directions, h, classes)
    start = time.perf_counter()
    x = model.prepare(x)
    n = x.shape[0]
    probe = torch.zeros(1, dtype=torch.long, device=model.device)
    method = resolve_hvp_method(model, x[:1], probe + 1, probe, method)
    v = random_directions(model, n, directions, seed) if v is None else _check_directions(model, x, v)
    at = None if at is None else _check_points(model, x, at)
    kk = model.num_classes - 1 if classes is None else min(classes, model.num_classes - 1)
    step = max(1, _rows_per_chunk(model) // (kk * directions))
    parts = []
    for i in range(0, n, step):
        parts.append(_chunk_curvatures(model, x[i:i + step], v[i:i + step], classes, method, h,
                                       None if at is None else at[i:i + step]))
        if progress is not None:
            progress(min(1.0, (i + step) / n))
    label, cand, curv = (torch.cat(p) for p in zip(*parts, strict=True))
    per_hvp = 2 if method == "fd" else 1
    sign = (PERTURBED_SIGN if at is None else BOUNDARY_PERTURBED_SIGN) if sign is None else float(sign)
    return _assemble(model, label, cand, curv, directions=directions, h=h, method=method, seed=seed,
                     n_forward=n * (2 + kk) + per_hvp * n * kk * directions, start=start, sign=sign)


def _assemble(model: Classifier, label: torch.Tensor, classes: torch.Tensor, curv: torch.Tensor, *,
              directions: int, h: float, method: str, seed: int | None, n_forward: int, start: float,
              sign: float = PERTURBED_SIGN) -> CurvatureScores:
    n = len(label)
    mean = curv.mean(2).double().cpu().numpy()  # (N, K)
    sem = (curv.std(2) / directions**0.5).double().cpu().numpy() if directions > 1 else np.zeros_like(mean)
    cls, lab = classes.cpu().numpy(), label.cpu().numpy()
    scores = np.full((n, model.num_classes), np.nan)
    spread = np.full((n, model.num_classes), np.nan)
    samples = np.full((n, model.num_classes, directions), np.nan)
    rows = np.arange(n)[:, None]
    scores[rows, cls], spread[rows, cls] = mean, sem
    samples[rows, cls] = curv.double().cpu().numpy()
    rho = mean.sum(1) / (classes.shape[1] + 1)  # (1/L) Σ over all L−1 classes, or over the K scored
    recovered = cls[np.arange(n), (sign * mean).argmax(1)]
    return CurvatureScores(scores=scores, rho=rho, label=lab, recovered=recovered, spread=spread,
                           directions=directions, h=h, method=method, seed=seed,
                           n_hvp=n * classes.shape[1] * directions, n_forward=n_forward,
                           seconds=time.perf_counter() - start, samples=samples, sign=sign)


def _check_config(model: Classifier, directions: int, h: float, classes: int | None = None) -> None:
    if classes is not None and classes < 1:
        raise AtlasError(f"the number of classes to score must be >= 1 (or None for all), got {classes}")
    if model.num_classes < 2:
        raise AtlasError("detection needs a classifier with at least two classes")
    if directions < 1:
        raise AtlasError(f"the number of random directions must be >= 1, got {directions}")
    if not h > 0:
        raise AtlasError(f"the finite-difference step h must be positive, got {h}")


def _check_directions(model: Classifier, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    v = torch.as_tensor(v)
    if v.ndim < 2 or v.shape[0] != len(x) or tuple(v.shape[2:]) != model.input_shape:
        raise AtlasError(f"directions must have shape (N, T, *S) = ({len(x)}, T, "
                         f"{', '.join(map(str, model.input_shape))}), got {tuple(v.shape)}")
    return v.to(model.device, model.dtype)


def _check_points(model: Classifier, x: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    at = model.prepare(torch.as_tensor(at))
    if at.shape != x.shape:
        raise AtlasError(f"evaluation points must have the images' shape {tuple(x.shape)}, got {tuple(at.shape)}")
    return at


def evaluation_points(model: Classifier, x: torch.Tensor, toward_boundary: float = 0.0) -> torch.Tensor:
    """x + α (z − x): the points a fraction α = toward_boundary of the way from each image to its DeepFool
    boundary point z (α = 0: x itself, Algorithm 2; α = 1: the boundary point, where the paper's Table 2
    measures the curvature). Uses only the image, so it is a valid detector input. (N, *S)"""
    if not 0.0 <= toward_boundary <= 1.0:
        raise AtlasError(f"toward_boundary must lie in [0, 1], got {toward_boundary}")
    x = model.prepare(x)
    if toward_boundary == 0.0:
        return x
    from .deepfool import deepfool
    z = deepfool(model, x).boundary
    return x + toward_boundary * (z - x)


def decide(score: np.ndarray | float, threshold: float) -> np.ndarray:
    """Algorithm 2's verdict on a detection score (CurvatureScores.statistic): True (perturbed) where ≥ t."""
    return np.asarray(score) >= threshold


# --- evaluation: ROC, detection rate at a fixed false-positive rate, label recovery -------------------

@dataclass(frozen=True)
class Roc:
    """ROC of the rule score ≥ threshold: attacked images are the positives, clean ones the negatives."""

    fpr: np.ndarray  # (M,) increasing, from 0 to 1
    tpr: np.ndarray  # (M,)
    thresholds: np.ndarray  # (M,) decreasing; +inf first (nothing flagged)
    auc: float


def roc_curve(clean: np.ndarray, attacked: np.ndarray) -> Roc:
    """ROC and its area (trapezoids; equals P(attacked > clean) + ½ P(tie)) from the two score samples."""
    clean, attacked = np.asarray(clean, float), np.asarray(attacked, float)
    if clean.size == 0 or attacked.size == 0:
        raise AtlasError("the ROC needs at least one clean and one attacked score")
    from sklearn import metrics  # lazily: importing it costs about a second, and most callers never need a ROC

    truth = np.concatenate([np.zeros(clean.size), np.ones(attacked.size)])
    score = np.concatenate([clean, attacked])
    # Every distinct score is a threshold (no dropped points), so a threshold slider lands on the curve.
    fpr, tpr, thresholds = metrics.roc_curve(truth, score, drop_intermediate=False)
    return Roc(fpr=fpr, tpr=tpr, thresholds=thresholds, auc=float(metrics.roc_auc_score(truth, score)))


def rates(clean: np.ndarray, attacked: np.ndarray, threshold: float) -> tuple[float, float]:
    """(false-positive rate, true-positive rate) of the rule score ≥ threshold."""
    return float(decide(clean, threshold).mean()), float(decide(attacked, threshold).mean())


def threshold_at_fpr(clean: np.ndarray, target_fpr: float = 0.05) -> float:
    """The smallest threshold whose false-positive rate on `clean` is at most target_fpr."""
    c = np.sort(np.asarray(clean, float))[::-1]
    allowed = int(np.floor(target_fpr * c.size + 1e-9))  # clean images that may be flagged
    return float(np.nextafter(c[allowed], np.inf)) if allowed < c.size else float(c[-1])


@dataclass(frozen=True)
class AttackMetrics:
    """One attack's detection metrics for one statistic and threshold."""

    attack: str
    auc: float
    roc: Roc
    threshold: float
    fpr: float
    tpr: float  # detection rate of successfully attacked images
    recovery: float  # detected attacked images whose recovered label is the clean label (NaN: none detected)
    recovery_all: float  # the same over all successfully attacked images
    n_clean: int
    n_attacked: int


@dataclass(frozen=True)
class AttackEvaluation:
    """Scores of the successfully attacked images of one attack."""

    attack: str
    params: dict
    success: np.ndarray  # (N,) bool over the evaluated images
    original: np.ndarray  # (n_success,) clean label k̂(x) of each attacked image
    l2: np.ndarray  # (n_success,) perturbation norms
    scores: CurvatureScores | None  # of the successful adversarial images (None when none succeeded)
    seconds: float

    def metrics(self, clean: CurvatureScores, statistic: str = "mean", *, target_fpr: float = 0.05,
                threshold: float | None = None) -> AttackMetrics:
        """AUC, and TPR / recovery at `threshold` (default: the one giving target_fpr on the clean images)."""
        if self.scores is None:
            raise AtlasError(f"{self.attack}: no image was successfully attacked; raise its budget")
        c, a = clean.statistic(statistic), self.scores.statistic(statistic)
        t = threshold_at_fpr(c, target_fpr) if threshold is None else float(threshold)
        fpr, tpr = rates(c, a, t)
        hit = self.scores.recovered == self.original
        flagged = decide(a, t)
        recovery = float(hit[flagged].mean()) if flagged.any() else float("nan")
        roc = roc_curve(c, a)
        return AttackMetrics(attack=self.attack, auc=roc.auc, roc=roc, threshold=t,
                             fpr=fpr, tpr=tpr, recovery=recovery, recovery_all=float(hit.mean()),
                             n_clean=len(c), n_attacked=len(a))


@dataclass(frozen=True)
class DetectionEvaluation:
    """Clean and attacked scores of a set of images, for every attack (docs/paper_notes.md §7)."""

    clean: CurvatureScores
    attacks: dict[str, AttackEvaluation]
    config: dict
    seconds: float

    def summary(self, statistic: str = "mean", *, target_fpr: float = 0.05) -> dict[str, dict]:
        """Per attack: AUC, TPR and threshold at target_fpr, recovery accuracy, attack success rate."""
        out = {}
        for name, ev in self.attacks.items():
            row = {"success_rate": float(ev.success.mean()), "n_attacked": int(ev.success.sum()),
                   "median_l2": float(np.median(ev.l2)) if ev.l2.size else float("nan")}
            if ev.scores is not None:
                m = ev.metrics(self.clean, statistic, target_fpr=target_fpr)
                row |= {"auc": m.auc, f"tpr_at_{target_fpr:g}_fpr": m.tpr, "threshold": m.threshold,
                        "fpr": m.fpr, "recovery_on_detected": m.recovery, "recovery_all": m.recovery_all}
            out[name] = row
        return out


def evaluate_detection(model: Classifier, x: torch.Tensor, *, attacks: tuple[str, ...] = ("deepfool",),
                       attack_params: dict[str, dict] | None = None, directions: int = DEFAULT_DIRECTIONS,
                       h: float = DEFAULT_DETECTION_STEP, method: HvpMethod = "auto", seed: int | None = 0,
                       classes: int | None = None, toward_boundary: float = 0.0, sign: float | None = None,
                       progress: Callable[[float], None] | None = None) -> DetectionEvaluation:
    """Scores of clean images and of their successfully attacked versions, for each attack.

    Args:
        model: the classifier. x: (N, *S) clean images. attacks: names from geometry.attacks.ATTACKS.
        attack_params: per-attack overrides of attacks.DEFAULT_PARAMS. directions, h, method, seed, classes:
            as in curvature_scores. The directions are drawn once for the N images, so image j gets the
            same directions clean and attacked, whichever attacks fail.
        toward_boundary: take the curvatures a fraction α of the way from each (clean or attacked) image
            to its own DeepFool boundary point (evaluation_points); 0 (default): at the image itself.
        sign: the scores' orientation (curvature_scores); None: PERTURBED_SIGN at the image,
            BOUNDARY_PERTURBED_SIGN for toward_boundary > 0.
        progress: fraction done over the 1 + len(attacks) scoring stages.
    Returns:
        DetectionEvaluation; call .summary(statistic) for AUC, TPR at 5% FPR and recovery accuracy.
    """
    from .attacks import attack as run_attack
    start = time.perf_counter()
    _check_config(model, directions, h, classes)
    stages = 1 + len(attacks)
    x = model.prepare(x)
    v = random_directions(model, len(x), directions, seed)
    kw: dict[str, Any] = dict(h=h, method=method, seed=seed, classes=classes, sign=sign)
    clean = curvature_scores(model, x, **kw, v=v, at=_points(model, x, toward_boundary),
                             progress=_stage(progress, 0, stages))
    results = {}
    for s, name in enumerate(attacks, start=1):
        t0 = time.perf_counter()
        res = run_attack(model, x, name, seed=seed, **(attack_params or {}).get(name, {}))
        ok = res.success
        scores = None
        if ok.any():
            adv = torch.from_numpy(res.adversarial[ok])
            scores = curvature_scores(model, adv, **kw, at=_points(model, adv, toward_boundary),
                                      v=v[torch.from_numpy(np.flatnonzero(ok)).to(v.device)],
                                      progress=_stage(progress, s, stages))
        results[name] = AttackEvaluation(attack=name, params=res.params, success=ok, original=res.label[ok],
                                         l2=res.l2[ok], scores=scores, seconds=time.perf_counter() - t0)
    config = {"directions": directions, "h": h, "method": clean.method, "seed": seed, "n_images": len(x),
              "model": model.name, "attacks": list(attacks), "classes": classes,
              "toward_boundary": toward_boundary, "sign": clean.sign}
    seconds = time.perf_counter() - start
    return DetectionEvaluation(clean=clean, attacks=results, config=config, seconds=seconds)


def _points(model: Classifier, x: torch.Tensor, toward_boundary: float) -> torch.Tensor | None:
    return None if toward_boundary == 0.0 else evaluation_points(model, x, toward_boundary)


def _stage(progress: Callable[[float], None] | None, i: int, n: int) -> Callable[[float], None] | None:
    if progress is None:
        return None
    return lambda f: progress((i + f) / n)
