"""The Ray side of geometry/engine.py: one actor per worker loads the model once and computes chunks.

Imported only for `engine="ray"`. Started locally (`ray.init(num_cpus=workers × threads)`) unless an address
of a running cluster is given (`ray start --head` on one node, `ray start --address HEAD:6379` on the others;
every node needs this package installed). Each actor reserves `job.threads` CPUs and, when the cluster has
GPUs, a share of one (`num_gpus`), so its model lands on a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import torch

from .engine import Job, load_worker_model, run_chunk
from .errors import AtlasError


class ChunkWorker:
    """Holds one loaded model; `compute` runs one chunk of the job (the same code as the local engine)."""

    def __init__(self, job: Job):
        self.job = job
        self.model = load_worker_model(job.model, card=job.card)
        from .provenance import model_fingerprint
        self.fingerprint = model_fingerprint(self.model)

    def compute(self, index: int, n_chunks: int, x: torch.Tensor) -> tuple[int, dict | None, str | None]:
        if self.fingerprint != self.job.fingerprints.get("model"):
            return index, None, (f"a Ray worker loaded {self.job.model!r} with other weights (hash "
                                 f"{self.fingerprint} vs {self.job.fingerprints.get('model')}): every node must "
                                 f"have the same model files")
        try:
            return index, run_chunk(self.model, self.job, index, n_chunks, x), None
        except AtlasError as error:  # a clear message travels back; anything else is a bug with its traceback
            return index, None, str(error)


def _connect(workers: int | None, threads: int, address: str | None) -> tuple[bool, int]:
    """Start or join Ray; returns (whether we started it, number of workers)."""
    import ray
    started = False
    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local instance needs no token
        # Ray starts its workers at nice 15: on a shared machine they would wait behind every other process.
        os.environ.setdefault("RAY_worker_niceness", "0")
        kw: dict[str, Any] = dict(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        if address:
            ray.init(address=address, **kw)
        else:
            n = workers or max(1, (os.cpu_count() or 1) // threads)
            ray.init(num_cpus=n * threads, **kw)
        started = True
    if workers is None:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        workers = gpus or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
    return started, workers


def run_ray(job: Job, x: torch.Tensor, bounds: list[tuple[int, int]], todo: list[int], *,
            workers: int | None = None, address: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (chunk index, shard) for the chunks in `todo` as the actors finish them (any order)."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as error:
        raise AtlasError("--engine ray needs the 'ray' package: pip install ray") from error
    if workers is not None and workers < 1:
        raise AtlasError(f"the number of workers must be >= 1, got {workers}")
    started, workers = _connect(workers, job.threads, address)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        num_gpus = min(1.0, gpus / workers) if gpus else 0
        actor = ray.remote(num_cpus=job.threads, num_gpus=num_gpus)(ChunkWorker)
        pool = ActorPool([actor.remote(job) for _ in range(min(workers, len(todo)))])
        items = [(i, len(bounds), x[bounds[i][0]:bounds[i][1]].clone()) for i in todo]
        for index, shard, failure in pool.map_unordered(lambda a, item: a.compute.remote(*item), items):
            if failure is not None:
                raise AtlasError(failure)
            yield index, shard
    finally:
        if started:
            ray.shutdown()
