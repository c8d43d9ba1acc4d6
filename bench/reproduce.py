"""Seconds per claim of `decision-atlas reproduce` (geometry/reproduce.py) for N images of each embedded image
model's own held-out set, with the verdicts; writes its own section of bench/results.md (bench/sections.py).

    .venv/bin/python -m bench.reproduce --n 100                 # every embedded image model
    .venv/bin/python -m bench.reproduce --n 20 --models mnist-relu-cnn --json-dir /tmp/reports

The machine and its load average are recorded beside the numbers: on a shared CPU the seconds say as much
about the neighbours as about the code.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from bench.common import result
from bench.run_all import machine
from bench.sections import write_section
from geometry.images import samples_for
from geometry.loading import list_embedded, load_embedded, read_card
from geometry.reproduce import CLAIMS, ReproduceConfig, reproduce

MODELS = ("mnist-relu-cnn", "mnist-softplus-cnn", "mnist-robust-cnn",
          "fmnist-relu-cnn", "fmnist-softplus-cnn", "fmnist-robust-cnn")


def run(name: str, n: int, seed: int, json_dir: Path | None) -> dict:
    model = load_embedded(name, device="cpu")
    samples = samples_for(model.input_shape, model.card.dataset)
    x = torch.from_numpy(samples.images[:n])
    load0, cpu0 = os.getloadavg()[0], time.process_time()
    rep = reproduce(model, x, images="samples", config=ReproduceConfig(seed=seed))
    load1, cpu = os.getloadavg()[0], time.process_time() - cpu0  # CPU seconds of this process, all threads
    for claim in CLAIMS:
        result("reproduce", f"{name} (N={len(x)}): {claim} seconds", f"{rep.timings.get(claim, float('nan')):.1f}")
    result("reproduce", f"{name} (N={len(x)}): total seconds", f"{rep.seconds:.1f}")
    result("reproduce", f"{name} (N={len(x)}): total CPU seconds (process)", f"{cpu:.1f}")
    if json_dir is not None:
        json_dir.mkdir(parents=True, exist_ok=True)
        (json_dir / f"{name}.json").write_text(json.dumps(rep.to_dict(), indent=1))
    print(f"{name}: {rep.seconds:.0f} s, load average {load0:.1f} → {load1:.1f}; "
          + "; ".join(f"{c} {rep.claims[c]['verdict']}" for c in CLAIMS), flush=True)
    return {"model": name, "dataset": model.card.dataset, "n": len(x), "timings": rep.timings,
            "seconds": rep.seconds, "cpu": cpu, "verdicts": rep.verdicts(), "load": (load0, load1)}


def table(rows: list[dict], command: str) -> str:
    head = ("| model | N | " + " | ".join(f"{c} (s)" for c in CLAIMS) + " | total (s) | CPU (s) | load avg | "
            "verdicts |\n|---|---|" + "---|" * len(CLAIMS) + "---|---|---|---|")
    lines = [f"| {r['model']} | {r['n']} | " + " | ".join(f"{r['timings'].get(c, float('nan')):.0f}" for c in CLAIMS)
             + f" | {r['seconds']:.0f} | {r['cpu']:.0f} | {r['load'][0]:.1f}→{r['load'][1]:.1f} | "
             + ", ".join(f"{c}: {v}" for c, v in r["verdicts"].items()) + " |" for r in rows]
    return (f"## Reproduce: seconds per claim (N = {rows[0]['n']})\n\n`{command}`\n\n"
            f"Machine: {machine()}. Images: the first N of each "
            "model's own held-out set; default parameters (ReproduceConfig). 'load avg' is the 1-minute load "
            "average before → after (2 cores here; other jobs share them); 'CPU (s)' is this process's CPU time over "
            "all its threads, a rough bound on the wall time of the same run on an idle machine.\n\n"
            + head + "\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--models", nargs="+", default=None, help="default: every embedded image model present")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-dir", type=Path, default=None, help="also write each model's report.json here")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args()
    present = set(list_embedded())
    models = args.models or [m for m in MODELS if m in present]
    missing = [m for m in (args.models or MODELS) if m not in present]
    if missing:
        print(f"not present (skipped): {', '.join(missing)}")
    rows = []
    for name in models:
        if len(read_card(name)["input_shape"]) != 3:
            print(f"{name}: not an image model, skipped")
            continue
        t0 = time.perf_counter()
        rows.append(run(name, args.n, args.seed, args.json_dir))
        print(f"  ({time.perf_counter() - t0:.0f} s with loading)", flush=True)
        if not args.no_write:  # after every model, so a long run that is stopped keeps what it measured
            write_section(section(args), table(rows, command(args)))
    if rows and not args.no_write:
        print("wrote the reproduce section of bench/results.md")


def section(args: argparse.Namespace) -> str:
    """One section of results.md per N and model list, so separate runs do not overwrite each other."""
    return f"reproduce-n{args.n}" + (f"-{'-'.join(args.models)}" if args.models else "")


def command(args: argparse.Namespace) -> str:
    return f".venv/bin/python -m bench.reproduce --n {args.n}" + (
        f" --models {' '.join(args.models)}" if args.models else "")


if __name__ == "__main__":
    main()
