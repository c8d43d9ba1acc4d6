"""Batch-engine scaling (geometry/engine.py): images per second of one batch job with the local engine and with
Ray on 1 and 2 workers (one torch thread each), the 2 ÷ 1 worker ratio, and a check that all three runs gave
the same numbers. Prints RESULT lines; `--write` also records its section in bench/results.md.

    .venv/bin/python -m bench.scale --n 128 --write

Times include creating the Ray actors (each loads torch and the model) but not starting Ray itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time

import torch

from bench.common import result
from bench.sections import write_section
from geometry.engine import Job, load_worker_model, run
from geometry.images import load_digits


def timed(job: Job, x: torch.Tensor, engine: str, workers: int | None) -> tuple[float, list[dict]]:
    folder = tempfile.mkdtemp(prefix="scale-")
    try:
        t0 = time.perf_counter()
        shards = run(job, x, shards=folder, engine=engine, workers=workers)
        return time.perf_counter() - t0, shards
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def untimed(obj):
    """Shards without their timings, to compare the numbers."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [untimed(v) for v in obj]
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist-relu-cnn")
    parser.add_argument("--n", type=int, default=128, help="images (held-out digits)")
    parser.add_argument("--chunk-size", type=int, default=8)
    parser.add_argument("--directions", type=int, default=16)
    parser.add_argument("--write", action="store_true", help="record the section in bench/results.md")
    args = parser.parse_args()
    import ray
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    job = Job("detect", args.model, {"attacks": ["deepfool"], "directions": args.directions, "h": 0.1,
                                     "classes": None}, seed=0, chunk_size=args.chunk_size, threads=1)
    x = torch.from_numpy(load_digits().images[:args.n])
    load_worker_model(args.model)  # warm the local imports so the local run is not charged for them
    runs = {"local engine (1 thread)": timed(job, x, "local", None),
            "ray, 1 worker": timed(job, x, "ray", 1), "ray, 2 workers": timed(job, x, "ray", 2)}
    ray.shutdown()
    same = all(untimed(shards) == untimed(runs["local engine (1 thread)"][1]) for _, shards in runs.values())
    what = f"{args.model} detect (DeepFool + T={args.directions}), {args.n} images, chunks of {args.chunk_size}"
    lines = [f"### Batch engine scaling (`python -m bench.scale --n {args.n}`)", "",
             f"{what}; {os.cpu_count()} cores ({platform.processor() or platform.machine()}), load average "
             f"{os.getloadavg()[0]:.1f} at the end (the machine is shared).", "",
             "| run | seconds | images/s |", "|---|---|---|"]
    for name, (sec, _) in runs.items():
        lines.append(f"| {name} | {sec:.1f} | {args.n / sec:.2f} |")
        result("scale", f"{what}: {name} images/s", f"{args.n / sec:.2f}")
    ratio = runs["ray, 1 worker"][0] / runs["ray, 2 workers"][0]
    result("scale", f"{what}: 2 ÷ 1 Ray workers images/s", f"{ratio:.2f}", "≈ 2 on 2 idle cores")
    result("scale", f"{what}: identical shards on all three runs", str(same), "True")
    lines += ["", f"2 ÷ 1 workers: **{ratio:.2f}×**; identical results on all three runs: {same}."]
    print("\n".join(lines))
    if args.write:
        write_section("scale", "\n".join(lines))


if __name__ == "__main__":
    main()
