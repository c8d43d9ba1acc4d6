"""Chunked, resumable batch runs, on this process (`local`) or on a Ray cluster (`ray`).

A run splits its N images into fixed chunks (`chunk_bounds`); chunk i is computed by a job's runner with the
seed `chunk_seed(run seed, i)` and a fixed number of torch threads, so a chunk's numbers do not depend on which
engine, worker or order computed it: both engines give the same results. Each finished chunk is written at
once as a shard (JSON) in a folder beside the output, with the run's full configuration; `resume=True` skips
the chunks already there after checking that the configuration matches, so a killed run loses at most the
chunks in flight. The Ray part imports ray lazily: the local engine needs no Ray process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import AtlasError
from .model import Classifier

ENGINES = ("local", "ray")
DEFAULT_CHUNK_SIZE = 16  # images per chunk: small enough that a kill loses little, large enough to batch
MODEL_INIT_SEED = 0  # torch's global seed before building a model, so random-weight models agree across workers
CONFIG_FILE = "config.json"

# A chunk runner: (model, images of the chunk, params, the chunk's seed, progress) -> JSON-able shard; params are
# the job's with "chunk" (index) and "n_chunks" added, for work shared out over chunks (pairs of `paths`).
Runner = Callable[[Classifier, torch.Tensor, dict, int, Callable[[float], None] | None], dict]


@dataclass(frozen=True)
class Job:
    """What a batch run computes: everything its numbers depend on (the run's configuration)."""

    command: str  # a key of geometry.batch_jobs.RUNNERS
    model: str  # model spec (geometry.model_spec.load_model), loaded once per worker
    params: dict  # the command's parameters, JSON-able
    seed: int = 0
    chunk_size: int = DEFAULT_CHUNK_SIZE
    threads: int = 1  # torch threads per chunk: results depend (in the last bits) on the thread count
    fingerprints: dict = field(default_factory=dict)  # model and image hashes, filled by `run`
    card: str | None = None  # model card file for a file: spec (geometry.model_card), when not beside the model

    def config(self, n_images: int) -> dict:
        """The configuration stored with the shards and compared on resume (JSON-normalised)."""
        return json.loads(json.dumps({**asdict(self), "n_images": n_images}))


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) of each chunk of `size` images (the last one shorter): fixed by n and size alone."""
    if size < 1:
        raise AtlasError(f"the chunk size must be >= 1, got {size}")
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def work_units(job: Job, n: int) -> list[tuple[int, int]]:
    """[start, stop) of the images of each unit of work: chunks of images, except for `reproduce`, whose claims
    are statistics over the whole set, so each claim is one unit over all n images."""
    if job.command == "reproduce":
        return [(0, n)] * len(job.params["claims"])
    return chunk_bounds(n, job.chunk_size)


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk `index` of a run seeded `seed`: independent streams, the same for every engine."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


def load_worker_model(spec: str, device: torch.device | str | None = None, card: str | None = None) -> Classifier:
    """The job's model, with torch's global seed fixed first so random-weight models are the same everywhere."""
    from .model_spec import load_model
    torch.manual_seed(MODEL_INIT_SEED)
    return load_model(spec, card=card, device=device)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_chunk(model: Classifier, job: Job, index: int, n_chunks: int, x: torch.Tensor,
              progress: Callable[[float], None] | None = None) -> dict:
    """Chunk `index` (of n_chunks) of `job` on images x: the same call on every engine."""
    from .batch_jobs import RUNNERS
    params = {**job.params, "chunk": index, "n_chunks": n_chunks}
    seed = chunk_seed(job.seed, index)
    with torch_threads(job.threads), _global_rngs(seed):
        return RUNNERS[job.command](model, x, params, seed, progress)


@contextlib.contextmanager
def _global_rngs(seed: int) -> Iterator[None]:
    """torch's and numpy's global generators seeded for the chunk and restored after it: anything drawing from
    them gets the same numbers in any process and after any earlier chunk."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        np.random.set_state(state)


class ShardStore:
    """A folder of finished chunks (`chunk-00012.json`) and the run's configuration (`config.json`)."""

    def __init__(self, folder: str | Path, config: dict, *, resume: bool = False):
        self.folder, self.config = Path(folder), config
        saved = self.folder / CONFIG_FILE
        if saved.exists():
            if not resume:
                raise AtlasError(f"{self.folder} holds the shards of an unfinished run: pass --resume to "
                                 f"continue it, or delete the folder to start again")
            _check_same(json.loads(saved.read_text())["config"], config, self.folder)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(saved, {"config": config})

    def _path(self, index: int) -> Path:
        return self.folder / f"chunk-{index:05d}.json"

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("chunk-*.json")}

    def write(self, index: int, shard: dict) -> None:
        _atomic_write(self._path(index), shard)

    def read(self, index: int) -> dict:
        return json.loads(self._path(index).read_text())


def _check_same(saved: dict, config: dict, folder: Path) -> None:
    if saved == config:
        return
    keys = sorted(k for k in saved.keys() | config.keys() if saved.get(k) != config.get(k))
    diff = "; ".join(f"{k}: saved {saved.get(k)!r}, now {config.get(k)!r}" for k in keys)
    raise AtlasError(f"--resume: the run in {folder} had another configuration ({diff}); use the same "
                     f"arguments, or delete the folder to start again")


def _atomic_write(path: Path, payload: dict) -> None:
    """Write then rename, so a kill mid-write never leaves a truncated shard that looks finished."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, default=_json_default))
    os.replace(tmp, path)


def _json_default(obj):
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to a shard")


def shard_folder(out: str | Path) -> Path:
    """Where the shards of a run writing `out` live: `<out>.parts/` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def run(job: Job, x: torch.Tensor, *, shards: str | Path, engine: str = "local", model: Classifier | None = None,
        resume: bool = False, workers: int | None = None, address: str | None = None,
        progress: Callable[[float], None] | None = None) -> list[dict]:
    """All chunk shards of `job` on images x (N, *S), in chunk order, computing those not already in `shards`.

    Args:
        job: the command, model spec, params, seed, chunk size and threads.
        shards: the shard folder (see shard_folder); kept until the caller has written the merged result.
        engine: "local" (this process; `model` reused if given) or "ray".
        resume: continue the run whose shards are in the folder (its configuration must match).
        workers, address: Ray workers (default: one per `job.threads` CPUs) and an existing cluster's address.
        progress: fraction of images done (finished shards included).
    """
    if engine not in ENGINES:
        raise AtlasError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if job.threads < 1:
        raise AtlasError(f"the number of threads per chunk must be >= 1, got {job.threads}")
    bounds = work_units(job, len(x))
    if model is None:
        model = load_worker_model(job.model, card=job.card)
    from .provenance import array_fingerprint, model_fingerprint
    job = Job(**{**asdict(job), "fingerprints": {"model": model_fingerprint(model), "images": array_fingerprint(x)}})
    store = ShardStore(shards, job.config(len(x)), resume=resume)
    done = store.done()
    todo = [i for i in range(len(bounds)) if i not in done]
    tracker = _Tracker(sum(b - a for a, b in bounds), sum(b - a for i, (a, b) in enumerate(bounds) if i in done),
                       progress)
    try:
        _compute(job, x, model, bounds, todo, store, tracker, engine, workers, address)
    except BaseException:
        if not store.done():  # nothing finished (e.g. bad parameters): leave no folder that asks for --resume
            shutil.rmtree(store.folder, ignore_errors=True)
        raise
    return [store.read(i) for i in range(len(bounds))]


def _compute(job: Job, x: torch.Tensor, model: Classifier, bounds: list[tuple[int, int]], todo: list[int],
             store: ShardStore, tracker: _Tracker, engine: str, workers: int | None, address: str | None) -> None:
    if engine == "local":
        for i in todo:
            a, b = bounds[i]
            store.write(i, run_chunk(model, job, i, len(bounds), x[a:b], tracker.partial(b - a)))
            tracker.finish(b - a)
    elif todo:
        from .ray_engine import run_ray
        for i, shard in run_ray(job, x, bounds, todo, workers=workers, address=address):
            store.write(i, shard)
            tracker.finish(bounds[i][1] - bounds[i][0])


class _Tracker:
    """Images done so far as a fraction, with a running chunk's own progress counted in."""

    def __init__(self, n: int, done: int, progress: Callable[[float], None] | None):
        self.n, self.done, self.progress = max(1, n), done, progress
        self._report(0.0)

    def _report(self, extra: float) -> None:
        if self.progress is not None:
            self.progress(min(1.0, (self.done + extra) / self.n))

    def partial(self, size: int) -> Callable[[float], None]:
        return lambda f: self._report(f * size)

    def finish(self, size: int) -> None:
        self.done += size
        self._report(0.0)
