"""The paper's path table (docs/paper_notes.md §3): connecting paths over random same-class and
adversarial-to-natural pairs of a sample set, summarised as fraction connected, segments and length ratio.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .batching import make_generator
from .errors import AtlasError
from .model import Classifier
from .path_check import Certification
from .paths import ConnectingPath, PathConfig, connecting_paths


@dataclass(frozen=True)
class PathTable:
    """The paper's table: per kind of pair, the fraction connected (certified), segments and length ratios."""

    kinds: tuple[str, ...]  # one entry per row: "same class", "adversarial ↔ natural"
    n_pairs: np.ndarray  # (R,)
    fraction_connected: np.ndarray  # (R,)
    mean_segments: np.ndarray  # (R,)
    max_segments: np.ndarray  # (R,)
    mean_length_ratio: np.ndarray  # (R,)
    fraction_straight_inside: np.ndarray  # (R,)
    fraction_not_certified: np.ndarray  # (R,) no check point outside, but the margin bound not positive everywhere
    median_min_margin: np.ndarray  # (R,) median over pairs of the path's smallest label margin (logits)
    pairs: dict[str, np.ndarray]  # kind -> (n, 2) sample indices (x1's source, x2) of each pair
    paths: dict[str, tuple[ConnectingPath, ...]] = field(repr=False)
    config: PathConfig = PathConfig()
    seed: int = 0
    seconds: float = 0.0

    def records(self) -> list[dict]:
        """One dict per row, for a table or a JSON export."""
        cols = ("n_pairs", "fraction_connected", "mean_segments", "max_segments", "mean_length_ratio",
                "fraction_straight_inside", "fraction_not_certified", "median_min_margin")
        return [{"pairs": kind, **{c: float(getattr(self, c)[r]) for c in cols}}
                for r, kind in enumerate(self.kinds)]


def path_table(model: Classifier, images: torch.Tensor, *, n_same: int = 10, n_adversarial: int = 5,
               config: PathConfig | None = None, seed: int = 0, batch_size: int | None = None,
               progress: Callable[[float], None] | None = None) -> PathTable:
    """Connecting paths over random pairs of a sample set, summarised like the paper's table.

    Same-class pairs: two distinct images with the same predicted label. Adversarial pairs: the DeepFool
    image x + r(x) of a random image (label k') and a random natural image labelled k'.
    Args:
        images: (N, *S) sample set. n_same, n_adversarial: pairs of each kind. seed: pair choice.
    Returns:
        PathTable with one row per kind that has at least one pair.
    """
    from .deepfool import deepfool

    start = time.perf_counter()
    x = model.prepare(images)
    pred = model.predict(x, batch_size=batch_size).cpu()
    gen = make_generator(seed)
    groups: dict[str, tuple[torch.Tensor, torch.Tensor, np.ndarray]] = {}
    i, j = _same_class_pairs(pred, n_same, gen)
    if len(i):
        groups["same class"] = (x[i], x[j], np.stack([i.numpy(), j.numpy()], 1))
    if n_adversarial > 0:
        src = torch.randperm(len(x), generator=gen)[:n_adversarial]
        adv = deepfool(model, x[src], batch_size=batch_size).adversarial
        adv_label = model.predict(adv, batch_size=batch_size).cpu()
        j = _partner(pred, adv_label, gen, exclude=src)
        keep = (j >= 0) & (adv_label != pred[src])
        if keep.any():
            groups["adversarial ↔ natural"] = (adv[keep], x[j[keep]], np.stack([src[keep].numpy(),
                                                                               j[keep].numpy()], 1))
    if not groups:
        raise AtlasError("no pairs could be formed: the sample set needs two images of one predicted class")
    paths = {}
    for g, (kind, (a, b, _)) in enumerate(groups.items()):
        sub = None if progress is None else (lambda f, g=g: progress((g + f) / len(groups)))
        paths[kind] = connecting_paths(model, a, b, config=config, batch_size=batch_size, progress=sub)
    return _table(groups, paths, config or PathConfig(), seed, time.perf_counter() - start)


def _same_class_pairs(pred: torch.Tensor, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` pairs (i, j), i != j, with pred[i] == pred[j]; empty when no class has two images."""
    counts = torch.bincount(pred, minlength=int(pred.max()) + 1)
    eligible = (counts[pred] >= 2).nonzero()[:, 0]
    if len(eligible) == 0 or n <= 0:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    i = eligible[torch.randint(len(eligible), (n,), generator=gen)]
    return i, _partner(pred, pred[i], gen, exclude=i)


def _partner(pred: torch.Tensor, want: torch.Tensor, gen: torch.Generator, *, exclude: torch.Tensor
             ) -> torch.Tensor:
    """For each wanted class, a random sample index of that class other than `exclude` (-1 when none)."""
    others = torch.arange(len(pred))[None, :] != exclude[:, None]
    match = (pred[None, :] == want[:, None]) & others  # (n, N)
    scores = torch.rand(match.shape, generator=gen).masked_fill(~match, -1.0)
    j = scores.argmax(dim=1)
    return torch.where(match.any(dim=1), j, torch.full_like(j, -1))


def _table(groups: dict, paths: dict[str, tuple[ConnectingPath, ...]], cfg: PathConfig, seed: int,
           seconds: float) -> PathTable:
    def stat(fn: Callable[[tuple[ConnectingPath, ...]], float | np.floating]) -> np.ndarray:
        return np.array([fn(ps) for ps in paths.values()], dtype=float)

    return PathTable(
        kinds=tuple(paths), n_pairs=stat(len),
        fraction_connected=stat(lambda ps: np.mean([p.connected for p in ps])),
        mean_segments=stat(lambda ps: np.mean([p.n_segments for p in ps])),
        max_segments=stat(lambda ps: max(p.n_segments for p in ps)),
        mean_length_ratio=stat(lambda ps: np.mean([p.length_ratio for p in ps])),
        fraction_straight_inside=stat(lambda ps: np.mean([p.straight_inside for p in ps])),
        fraction_not_certified=stat(lambda ps: np.mean([_uncertified(p) for p in ps])),
        median_min_margin=stat(lambda ps: np.median([_certification(p).min_margin for p in ps])),
        pairs={kind: g[2] for kind, g in groups.items()}, paths=paths, config=cfg, seed=seed, seconds=seconds)


def _uncertified(p: ConnectingPath) -> bool:
    """Every check point inside, yet not certified: the margin is too small to rule out a label change."""
    return not p.connected and _certification(p).n_outside == 0


def _certification(p: ConnectingPath) -> Certification:
    assert p.certification is not None  # connecting_paths certifies every path it returns
    return p.certification
