"""The batch subcommands' engine options (--engine, --workers, --address, --chunk-size, --threads, --resume)
and the run around geometry/engine.py: one tqdm bar, shards beside --out while the run lasts."""

from __future__ import annotations

import argparse
import contextlib
import shutil
from collections.abc import Iterator

import torch

from geometry.engine import DEFAULT_CHUNK_SIZE, ENGINES, Job, run, shard_folder
from geometry.errors import AtlasError
from geometry.model import Classifier


def add_engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine (same numbers on both engines for the same seed, chunk size and threads)")
    g.add_argument("--engine", default="local", choices=ENGINES,
                   help="local: this process (default); ray: Ray workers, started here or joined with --address")
    g.add_argument("--workers", type=int, default=None,
                   help="Ray workers, each loading the model once (default: one per CPU, or per GPU)")
    g.add_argument("--address", default=None, help="join a running Ray cluster (e.g. HEAD:6379 or 'auto')")
    g.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                   help="images per chunk: the unit of work, of seeding and of the shards written as they finish")
    g.add_argument("--threads", type=int, default=1, help="torch threads per chunk (results depend on it)")
    g.add_argument("--resume", action="store_true",
                   help="continue a killed run from the shards in OUT.parts/ (the arguments must match)")


@contextlib.contextmanager
def batch_run(args: argparse.Namespace, command: str, params: dict, model: Classifier, x: torch.Tensor
              ) -> Iterator[list[dict]]:
    """The run's shards, one per chunk in order; the shard folder is removed once the body (the merge and
    the final JSON) has finished without an error."""
    from app.cli import _progress
    if args.engine == "local" and (args.workers is not None or args.address is not None):
        raise AtlasError("--workers and --address are for --engine ray")
    job = Job(command, args.model, params, seed=args.seed, chunk_size=args.chunk_size, threads=args.threads,
              card=getattr(args, "card", None))
    folder = shard_folder(args.out)
    with _progress(f"{command} ({args.engine})") as progress:
        shards = run(job, x, shards=folder, engine=args.engine, model=model, resume=args.resume,
                     workers=args.workers, address=args.address, progress=progress)
    yield shards
    shutil.rmtree(folder, ignore_errors=True)
