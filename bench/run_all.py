"""Run every benchmark and write one table of their ratios to bench/results.md (plus each script's log).

    .venv/bin/python -m bench.run_all            # or: make bench
    .venv/bin/python -m bench.run_all --quick    # smaller sizes, for a smoke run

On a GPU machine the same command writes the GPU figures (the device is recorded in the table's header).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from bench.common import parse

ROOT = Path(__file__).resolve().parent.parent


def plan(quick: bool, gpu: bool) -> list[tuple[str, list[str]]]:
    """(module, arguments) of each benchmark; CPU runs keep ResNet-18 small enough to finish in minutes."""
    xs = ["--n", "100" if quick else "200", "--resnet-n", "200" if gpu else "24"]
    curv = ["--resnet"] + ([] if gpu else ["--resnet-steps", "60"])
    det = ["--n", "30" if quick else "100", "--hs", "0.1", "--directions", "16"]
    return [("bench.cross_section", xs), ("bench.curvature", curv), ("bench.detection", det),
            ("bench.datamap", []),
            ("bench.scale", ["--n", "32" if quick else "128"]),  # batch engine: local, 1 and 2 Ray workers
            ("bench.resnet_views", []),  # each view's default on ResNet-18
            ("bench.reproduce", ["--n", "20" if quick else "100", "--no-write"])]  # its rows land in this table


def machine() -> str:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU (CPU)"
    return (f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
            f"{device} · torch {torch.__version__} · Python {platform.python_version()}")


def run(module: str, args: list[str]) -> tuple[str, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True)
    log = proc.stdout + (f"\n[exit {proc.returncode}]\n{proc.stderr[-3000:]}" if proc.returncode else "")
    return log, time.perf_counter() - start


def write(path: Path, logs: list[tuple[str, list[str], str, float]]) -> None:
    rows = [parse(line) for _, _, log, _ in logs for line in log.splitlines()]
    lines = ["# Benchmark results", "", f"Machine: {machine()}", "",
             f"Written by `python -m bench.run_all` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "| bench | metric | value | target |", "|---|---|---|---|"]
    lines += [f"| {b} | {m} | {v} | {t} |" for b, m, v, t in filter(None, rows)]
    for module, args, log, seconds in logs:
        text = "\n".join(line for line in log.splitlines() if parse(line) is None)
        lines += ["", f"## {module} {' '.join(args)} ({seconds:.0f} s)", "", "```", text.strip(), "```"]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args()
    logs = []
    for module, margs in plan(args.quick, torch.cuda.is_available()):
        print(f"running {module} {' '.join(margs)} …", flush=True)
        log, seconds = run(module, margs)
        logs.append((module, margs, log, seconds))
    write(Path(args.out), logs)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
