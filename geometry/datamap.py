"""The data map: a 2-D UMAP embedding of a sample set (inputs or penultimate features), coloured by the
predicted class, onto which images, adversarial examples and path points are projected (docs/paper_notes.md §3,
as a picture of where connecting paths run). umap-learn is imported lazily: its import compiles with numba.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .errors import AtlasError
from .model import Classifier

FeatureKind = Literal["input", "penultimate"]


@dataclass(frozen=True)
class DataMap:
    """A fitted 2-D embedding of N samples. CPU numpy; `reducer` is the fitted umap.UMAP (for project)."""

    embedding: np.ndarray  # (N, 2)
    predicted: np.ndarray  # (N,) predicted class of each sample
    labels: np.ndarray | None  # (N,) true labels when known
    features: str  # "input" or "penultimate": what was embedded
    note: str  # e.g. why penultimate features fell back to inputs
    n_neighbors: int
    seed: int
    seconds: float
    reducer: Any = field(repr=False, compare=False)


def _last_linear(model: Classifier) -> nn.Linear | None:
    linears = [m for m in model.module.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else None


def features(model: Classifier, x: torch.Tensor, kind: FeatureKind = "input", *,
             batch_size: int | None = None) -> tuple[np.ndarray, str]:
    """Flattened inputs, or the penultimate features (the input of the last nn.Linear, via a forward hook).

    Returns:
        (N, F) float32 features and a note ("" or why inputs were used instead).
    """
    x = model.prepare(x)
    if kind == "input":
        return x.flatten(1).float().cpu().numpy(), ""
    if kind != "penultimate":
        raise AtlasError(f"features must be 'input' or 'penultimate', got {kind!r}")
    layer = _last_linear(model)
    if layer is None:
        return x.flatten(1).float().cpu().numpy(), "no nn.Linear layer found: embedded the inputs instead"
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, inp, _out: captured.append(inp[0].detach().flatten(1)))
    try:
        model.logits(x, batch_size=batch_size)
    finally:
        handle.remove()
    return torch.cat(captured).float().cpu().numpy(), ""


def fit_datamap(model: Classifier, images: torch.Tensor, *, kind: FeatureKind = "input",
                labels: np.ndarray | None = None, n_neighbors: int = 15, seed: int = 0,
                batch_size: int | None = None, progress: Callable[[float], None] | None = None) -> DataMap:
    """Fit UMAP (n_neighbors, random_state=seed) to the features of a sample set.

    Args:
        images: (N, *S) samples, N > n_neighbors. kind: "input" or "penultimate".
        labels: optional true labels, kept for display.
    Returns:
        DataMap. Example: `dm = fit_datamap(model, x, kind="penultimate"); project(dm, model, x[:3])`.
    """
    start = time.perf_counter()
    if len(images) <= n_neighbors:
        raise AtlasError(f"the data map needs more than n_neighbors={n_neighbors} samples, got {len(images)}")
    report = progress or (lambda _f: None)
    report(0.02)
    import umap  # slow: numba compiles on first import

    report(0.3)
    feats, note = features(model, images, kind, batch_size=batch_size)
    predicted = model.predict(model.prepare(images), batch_size=batch_size).cpu().numpy()
    report(0.4)
    reducer = umap.UMAP(n_neighbors=n_neighbors, random_state=seed, n_jobs=1)
    embedding = reducer.fit_transform(feats)
    report(1.0)
    return DataMap(embedding=np.asarray(embedding, dtype=np.float32), predicted=predicted, labels=labels,
                   features="input" if note else kind, note=note, n_neighbors=n_neighbors, seed=seed,
                   seconds=time.perf_counter() - start, reducer=reducer)


def project(datamap: DataMap, model: Classifier, x: torch.Tensor, *, batch_size: int | None = None
            ) -> np.ndarray:
    """Map new inputs (M, *S) onto the fitted embedding with UMAP's transform. (M, 2)"""
    feats, _ = features(model, x, datamap.features, batch_size=batch_size)  # type: ignore[arg-type]
    return np.asarray(datamap.reducer.transform(feats), dtype=np.float32)
