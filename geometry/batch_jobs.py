"""What each batch subcommand computes on one chunk of images, and how the chunks' shards merge back.

A runner takes (model, x_chunk, params, seed, progress) and returns a JSON-able shard; shards round-trip
through JSON exactly (float64 and float32 values are written as shortest-repr floats), so a merged result is
the same whether its shards were just computed or read back after a resume. Used by geometry/engine.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .errors import AtlasError
from .model import Classifier

Progress = Callable[[float], None] | None


# --- detect (docs/paper_notes.md §7) ---------------------------------------------------------------------

def detect_chunk(model: Classifier, x: torch.Tensor, params: dict, seed: int, progress: Progress) -> dict:
    from .detection import evaluate_detection
    ev = evaluate_detection(model, x, attacks=tuple(params["attacks"]), directions=params["directions"],
                            h=params["h"], seed=seed, classes=params.get("classes"), progress=progress)
    attacks = {name: {"params": a.params, "success": a.success, "original": a.original, "l2": a.l2,
                      "scores": None if a.scores is None else _scores_shard(a.scores), "seconds": a.seconds}
               for name, a in ev.attacks.items()}
    return {"n": len(x), "clean": _scores_shard(ev.clean), "attacks": attacks, "config": ev.config,
            "seconds": ev.seconds}


_SCORE_ARRAYS = ("scores", "rho", "label", "recovered", "spread")
_SCORE_COUNTS = ("n_hvp", "n_forward", "seconds")


def _scores_shard(cs) -> dict:
    return {k: getattr(cs, k) for k in (*_SCORE_ARRAYS, *_SCORE_COUNTS, "directions", "h", "method")}


def _merge_scores(parts: list[dict], seed: int):
    from .detection import CurvatureScores
    if not parts:
        return None
    arrays: dict[str, Any] = {
        k: np.concatenate([np.asarray(p[k], dtype=float if k in ("scores", "rho", "spread") else int) for p in parts])
        for k in _SCORE_ARRAYS}
    counts: dict[str, Any] = {k: sum(p[k] for p in parts) for k in _SCORE_COUNTS}
    first = parts[0]
    return CurvatureScores(**arrays, **counts, directions=first["directions"], h=first["h"],
                           method=first["method"], seed=seed)


def merge_detect(shards: list[dict], seed: int):
    """One DetectionEvaluation over all chunks (seed: the run's seed, each chunk used its own)."""
    from .detection import AttackEvaluation, DetectionEvaluation
    attacks = {}
    for name in shards[0]["attacks"]:
        rows = [s["attacks"][name] for s in shards]
        scored = [r["scores"] for r in rows if r["scores"] is not None]
        attacks[name] = AttackEvaluation(
            attack=name, params=rows[0]["params"],
            success=np.concatenate([np.asarray(r["success"], dtype=bool) for r in rows]),
            original=np.concatenate([np.asarray(r["original"], dtype=int) for r in rows]),
            l2=np.concatenate([np.asarray(r["l2"], dtype=float) for r in rows]),
            scores=_merge_scores(scored, seed), seconds=sum(r["seconds"] for r in rows))
    config = {**shards[0]["config"], "seed": seed, "n_images": sum(s["n"] for s in shards)}
    return DetectionEvaluation(clean=_merge_scores([s["clean"] for s in shards], seed), attacks=attacks,
                               config=config, seconds=sum(s["seconds"] for s in shards))


# --- curvature (docs/paper_notes.md §5) -------------------------------------------------------------------

def curvature_chunk(model: Classifier, x: torch.Tensor, params: dict, seed: int, progress: Progress) -> dict:
    from .spectrum import curvature_spectrum
    rows = []
    for i in range(len(x)):
        s = curvature_spectrum(model, x[i], at=params["at"], h=params["h"], solver=params["solver"],
                               k=params["k"], seed=seed)
        rows.append({"label": s.label, "target": s.target, "method": s.method, "solver": s.solver,
                     "n_hvp": s.n_hvp, "converged": s.converged, "max_curvature": s.max_curvature,
                     "min_curvature": s.min_curvature, "eigenvalues": s.eigenvalues})
        if progress is not None:
            progress((i + 1) / len(x))
    return {"n": len(x), "rows": rows}


def merge_curvature(shards: list[dict]) -> list[dict]:
    return [row for s in shards for row in s["rows"]]


# --- paths (docs/paper_notes.md §3) -----------------------------------------------------------------------

PATH_KINDS = ("same class", "adversarial ↔ natural")


def split_count(total: int, n_chunks: int, index: int, *, reverse: bool = False) -> int:
    """Chunk `index`'s share of `total` pairs spread evenly over n_chunks (the first ones get the extra)."""
    i = n_chunks - 1 - index if reverse else index
    return total // n_chunks + (1 if i < total % n_chunks else 0)


def paths_chunk(model: Classifier, x: torch.Tensor, params: dict, seed: int, progress: Progress) -> dict:
    """Pairs drawn inside the chunk: its share of the run's same-class pairs (first chunks first) and of its
    adversarial pairs (last chunks first, so the two kinds land on different chunks and workers)."""
    from .path_table import path_table
    from .paths import PathConfig
    i, n = params["chunk"], params["n_chunks"]
    same, adversarial = split_count(params["pairs"], n, i), split_count(params["adversarial"], n, i, reverse=True)
    if same + adversarial == 0 or len(x) < 2:
        return {"n": len(x), "paths": []}
    try:
        table = path_table(model, x, n_same=same, n_adversarial=adversarial,
                           config=PathConfig(max_depth=params["max_depth"]), seed=seed, progress=progress)
    except AtlasError as error:  # no two images of one class in this chunk: it contributes no pair
        return {"n": len(x), "paths": [], "note": str(error)}
    paths = [{"kind": kind, "pair": table.pairs[kind][j], "connected": p.connected, "n_segments": p.n_segments,
              "length_ratio": p.length_ratio, "straight_inside": p.straight_inside}
             for kind, ps in table.paths.items() for j, p in enumerate(ps)]
    return {"n": len(x), "paths": paths}


def merge_paths(shards: list[dict]) -> tuple[list[dict], dict[str, list]]:
    """The paper's table rows and the pairs (image indices in the whole set) per kind."""
    offset, paths = 0, []
    for s in shards:
        paths += [{**p, "pair": [offset + int(i) for i in p["pair"]]} for p in s["paths"]]
        offset += s["n"]
    if not paths:
        raise AtlasError("no pairs could be formed: each chunk needs two images of one predicted class "
                         "(use more images or a larger --chunk-size)")
    rows, pairs = [], {}
    for kind in PATH_KINDS:
        ps = [p for p in paths if p["kind"] == kind]
        if not ps:
            continue
        pairs[kind] = [p["pair"] for p in ps]
        rows.append({"pairs": kind, "n_pairs": float(len(ps)),
                     "fraction_connected": float(np.mean([p["connected"] for p in ps])),
                     "mean_segments": float(np.mean([p["n_segments"] for p in ps])),
                     "max_segments": float(max(p["n_segments"] for p in ps)),
                     "mean_length_ratio": float(np.mean([p["length_ratio"] for p in ps])),
                     "fraction_straight_inside": float(np.mean([p["straight_inside"] for p in ps]))})
    return rows, pairs


# --- reproduce (docs/paper_notes.md §8): one unit per claim, each over all the images ----------------------

def reproduce_chunk(model: Classifier, x: torch.Tensor, params: dict, seed: int, progress: Progress) -> dict:
    """Claim number params["chunk"] of params["claims"], with the run's ReproduceConfig (its own seed: a claim
    is the same experiment whichever unit or engine runs it)."""
    from .reproduce import reproduce
    claim = params["claims"][params["chunk"]]
    rep = reproduce(model, x, images=params["images"], config=_reproduce_config(params["config"]),
                    claims=(claim,), progress=progress)
    return {"n": len(x), "claim": claim, "result": rep.claims[claim], "seconds": rep.timings.get(claim, 0.0)}


def _reproduce_config(config: dict):
    from .reproduce import ReproduceConfig
    return ReproduceConfig(**{**config, "attacks": tuple(config["attacks"])})


def merge_reproduce(shards: list[dict], model: Classifier, x: torch.Tensor, *, images: str, config: dict):
    """The Reproduction of all claims (those not run: "not requested"), as reproduce() would return it."""
    from .provenance import array_fingerprint, provenance
    from .reproduce import CLAIMS, Reproduction, _not_measured
    done = {s["claim"]: s for s in shards}
    claims = {c: done[c]["result"] if c in done else _not_measured(c, "not requested") for c in CLAIMS}
    return Reproduction(model=model.name, images=images, n_images=int(x.shape[0]),
                        config=_reproduce_config(config), claims=claims,
                        provenance=provenance(model) | {"images_sha256": array_fingerprint(x)},
                        seconds=sum(s["seconds"] for s in shards),
                        timings={c: s["seconds"] for c, s in done.items()})


RUNNERS = {"detect": detect_chunk, "curvature": curvature_chunk, "paths": paths_chunk,
           "reproduce": reproduce_chunk}
