"""Examples that show a phenomenon, picked from a sample set by a stated rule, with the share of the set where
the phenomenon holds (so a single example never misleads).

Connecting paths (paper section 1): the phenomenon is a straight line between two images of one class that
leaves the class's region (a path inside the region is then needed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .batching import make_generator
from .errors import AtlasError
from .model import Classifier


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
