"""Examples that show a phenomenon, picked from a sample set by a stated rule, with the share of the set where
the phenomenon holds (so a single example never misleads).

Connecting paths (paper section 1): the phenomenon is a straight line between two images of one class that
leaves the class's region (a path inside the region is then needed): scan_lines.
Home, Cross-sections, Curvature (sections 2–3): DeepFool's perturbation is small next to the distance between
images of different classes, and the boundary at z = x + r(x) is curved along a few directions and flat along
random ones: scan_boundaries.
Detection (section 4): an attacked image that Algorithm 2 flags at a given threshold: scan_attacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .attacks import attack
from .batching import make_generator
from .decision import DEFAULT_FD_STEP, HvpMethod
from .deepfool import deepfool
from .detection import STATISTICS, curvature_scores, random_directions
from .errors import AtlasError
from .lanczos import lanczos
from .model import Classifier
from .spectrum import curvature_operator


@dataclass(frozen=True)
class LineScan:
    """Straight lines between pairs of same-class images. CPU numpy.

    pairs (P, 2) sample indices; label (P,) their common predicted class; min_prob (P,) the lowest probability
    of that class along the line; leaves (P,) whether some point of the line gets another label.
    """

    pairs: np.ndarray
    label: np.ndarray
    min_prob: np.ndarray
    leaves: np.ndarray
    points: int

    @property
    def example(self) -> int:
        """The rule: the pair whose straight line dips lowest in its class's probability."""
        return int(np.argmin(self.min_prob))

    @property
    def share(self) -> float:
        return float(self.leaves.mean()) if len(self.leaves) else 0.0


def same_class_pairs(predicted: np.ndarray, n_pairs: int, seed: int = 0) -> np.ndarray:
    """Up to n_pairs random pairs (i, j), i ≠ j, with the same predicted class, drawn reproducibly. (P, 2)"""
    predicted = np.asarray(predicted)
    gen = make_generator(seed)
    order = torch.randperm(len(predicted), generator=gen).numpy()
    pairs = []
    for i in order:
        mates = np.flatnonzero((predicted == predicted[i]) & (np.arange(len(predicted)) != i))
        if len(mates):
            pairs.append((int(i), int(mates[int(torch.randint(len(mates), (1,), generator=gen).item())])))
        if len(pairs) == n_pairs:
            break
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def scan_lines(model: Classifier, images: np.ndarray | torch.Tensor, pairs: np.ndarray, *,
               points: int = 33, batch_size: int | None = None) -> LineScan:
    """Classify `points` evenly spaced points of each straight segment x_i → x_j (ends included), batched."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if points < 2:
        raise AtlasError("a line needs at least 2 points")
    x = torch.as_tensor(np.asarray(images))
    t = torch.linspace(0, 1, points, dtype=x.dtype).view(1, points, *([1] * (x.dim() - 1)))
    ends = x[torch.from_numpy(pairs[:, 0])][:, None], x[torch.from_numpy(pairs[:, 1])][:, None]
    line = (ends[0] + t * (ends[1] - ends[0])).reshape(-1, *x.shape[1:])  # (P·points, *S)
    probs = model.probabilities(line, batch_size=batch_size).cpu().reshape(len(pairs), points, -1)
    label = probs[:, 0].argmax(1)  # the class of x_i (both ends share it by construction)
    p_label = probs.gather(2, label.view(-1, 1, 1).expand(-1, points, 1))[..., 0]
    leaves = (probs.argmax(2) != label[:, None]).any(1)
    return LineScan(pairs=pairs, label=label.numpy(), min_prob=p_label.min(1).values.numpy(),
                    leaves=leaves.numpy(), points=points)


# --- one image's boundary: distance and curvature (Home, Cross-sections, Curvature) -------------------------

SMALL_RATIO = 4.0  # ‖r(x)‖ below 1/SMALL_RATIO of the distance to the nearest image of another class: "small"
CURVED_RATIO = 10.0  # largest |κ| at least this many times the curvature along random directions: "curved"
HOME_RULE = ("a typical image: the median ratio of its DeepFool distance ‖r(x)‖ to the distance from x to the "
             "nearest sample of another class, among the first {n} correctly classified samples")
CURVED_RULE = ("the image whose boundary bends most within its own distance (largest |κ|·‖r(x)‖, κ the "
               "boundary's largest principal curvature at z = x + r(x)), among the first {n} correctly "
               "classified samples")


@dataclass(frozen=True)
class BoundaryScan:
    """DeepFool distance and boundary curvature at z = x + r(x) for some images of a sample set. CPU numpy.

    indices (N,) the sample indices scanned; distance (N,) ‖z − x‖; nearest_other (N,) the distance from x to
    the nearest sample whose predicted class differs; kappa (N,) the principal curvature of largest |κ| (a
    few Lanczos steps); kappa_random (N,) the root mean square of the curvature vᵀGv along random unit tangent
    directions v (what a random plane shows); converged (N,) Lanczos converged; found (N,) DeepFool crossed.
    """

    indices: np.ndarray
    distance: np.ndarray
    nearest_other: np.ndarray
    kappa: np.ndarray
    kappa_random: np.ndarray
    converged: np.ndarray
    found: np.ndarray
    n_hvp: int
    seconds: float

    @property
    def small(self) -> np.ndarray:
        """The perturbation is small: ‖r(x)‖ < nearest_other / SMALL_RATIO."""
        return self.found & (self.distance * SMALL_RATIO < self.nearest_other)

    @property
    def curved(self) -> np.ndarray:
        """Curved along a few directions, flat along random ones: |κ|max ≥ CURVED_RATIO · κ_random."""
        return self.found & (np.abs(self.kappa) >= CURVED_RATIO * self.kappa_random)

    def typical(self) -> int:
        """HOME_RULE: the sample index with the median ‖r(x)‖ / nearest_other among those DeepFool crossed."""
        ok = np.flatnonzero(self.found)
        ratio = self.distance[ok] / np.maximum(self.nearest_other[ok], 1e-12)
        return int(self.indices[ok[np.argsort(ratio)[len(ok) // 2]]])

    def most_bent(self) -> int:
        """CURVED_RULE: the sample index with the largest |κ|·‖r(x)‖ among those DeepFool crossed."""
        ok = np.flatnonzero(self.found)
        return int(self.indices[ok[np.argmax(np.abs(self.kappa[ok]) * self.distance[ok])]])


def _first_correct(model: Classifier, x: torch.Tensor, labels: np.ndarray | None, n: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(predicted labels of all images, indices of the first n the model reads right; all when unlabelled)."""
    predicted = model.predict(x).cpu().numpy()
    ok = np.ones(len(predicted), bool) if labels is None else predicted == np.asarray(labels)
    indices = np.flatnonzero(ok)[:n]
    if not len(indices):
        raise AtlasError("no correctly classified image in the sample set")
    return predicted, indices


def scan_boundaries(model: Classifier, images: np.ndarray | torch.Tensor, labels: np.ndarray | None = None, *,
                    n: int = 40, k: int = 2, random_directions: int = 8, method: HvpMethod = "auto",
                    h: float = DEFAULT_FD_STEP, seed: int = 0,
                    progress: Callable[[float], None] | None = None) -> BoundaryScan:
    """DeepFool and boundary curvature for the first n correctly classified images of a sample set.

    Curvature: the k largest and k smallest principal curvatures at z (Lanczos, as the Curvature view) and
    vᵀGv along `random_directions` random unit tangent vectors (seeded), with the same HVP method and h.
    labels: true labels (N,), to skip misclassified images; without them the first n images are scanned.
    """
    start = time.perf_counter()
    x_all = model.prepare(torch.as_tensor(np.asarray(images)))
    predicted, indices = _first_correct(model, x_all, labels, n)
    x = x_all[torch.from_numpy(indices).to(x_all.device)]
    bp = deepfool(model, x)
    found = bp.success.cpu().numpy()
    if not found.any():
        raise AtlasError(f"DeepFool found no boundary from any of the {len(indices)} images scanned")
    flat = x_all.flatten(1).double()
    dist = torch.cdist(flat[torch.from_numpy(indices).to(flat.device)], flat)  # (N, all)
    other = torch.from_numpy(predicted[None, :] != predicted[indices][:, None]).to(dist.device)
    nearest = torch.where(other, dist, torch.inf).min(1).values.cpu().numpy()
    kappa, rms, conv, hvps = (np.full(len(indices), np.nan), np.full(len(indices), np.nan),
                              np.zeros(len(indices), bool), 0)
    gen = make_generator(seed)
    for i in range(len(indices)):
        if found[i]:
            op = curvature_operator(model, bp.boundary[i], int(bp.target[i]), int(bp.label[i]), method=method,
                                    h=h)
            res = lanczos(op.apply, model.dim, k=k, tol=1e-3, constraint=op.normal[None],
                          generator=make_generator(seed + i), device=model.device)
            kappa[i] = float(res.eigenvalues[res.eigenvalues.abs().argmax()])
            conv[i] = res.converged
            v = torch.randn(random_directions, model.dim, generator=gen, dtype=torch.float64).to(model.device)
            v = v - (v @ op.normal)[:, None] * op.normal
            v = v / v.norm(dim=1, keepdim=True)
            rms[i] = float(((op.apply(v) * v).sum(1) ** 2).mean().sqrt())
            hvps += op.counter[0]
        if progress is not None:
            progress((i + 1) / len(indices))
    return BoundaryScan(indices=indices, distance=bp.distance.cpu().numpy(), nearest_other=nearest, kappa=kappa,
                        kappa_random=rms, converged=conv, found=found, n_hvp=hvps,
                        seconds=time.perf_counter() - start)


# --- attacked images the detector flags (Detection example) ------------------------------------------------

@dataclass(frozen=True)
class AttackScan:
    """DeepFool on some images of a sample set and Algorithm 2's scores of the attacked images. CPU numpy.

    indices (N,) sample indices; success (N,) the attack changed the label; original (N,) the clean label;
    recovered (N,) the label Algorithm 2 recovers; scores {statistic: (N,)} the detection scores.
    """

    indices: np.ndarray
    success: np.ndarray
    original: np.ndarray
    recovered: np.ndarray
    scores: dict[str, np.ndarray]

    def flagged(self, statistic: str, threshold: float) -> np.ndarray:
        """Successful attacks whose score reaches the threshold (flagged as perturbed)."""
        return self.success & (self.scores[statistic] >= threshold)

    def recovered_right(self, statistic: str, threshold: float) -> np.ndarray:
        return self.flagged(statistic, threshold) & (self.recovered == self.original)


def scan_attacks(model: Classifier, images: np.ndarray | torch.Tensor, labels: np.ndarray | None = None, *,
                 n: int = 40, directions: int, h: float, seed: int, classes: int | None = None) -> AttackScan:
    """DeepFool on the first n correctly classified images, scored as the Detection view scores one image's
    versions: the same attack call and the seed's T random directions for every image."""
    x = torch.as_tensor(np.ascontiguousarray(np.asarray(images)))
    predicted, idx = _first_correct(model, x, labels, n)
    adv = attack(model, x[idx], "deepfool", seed=seed)
    v = random_directions(model, 1, directions, seed)
    cs = curvature_scores(model, torch.from_numpy(adv.adversarial.astype(np.float32)), h=h, seed=seed,
                          classes=classes, v=v.expand(len(idx), *v.shape[1:]))
    return AttackScan(indices=idx, success=np.asarray(adv.success), original=predicted[idx],
                      recovered=np.asarray(cs.recovered), scores={s: cs.statistic(s) for s in STATISTICS})
