"""The embedded image models: training time, clean and PGD-L2 accuracy (from their cards, measured by
assets/make_assets.py), the median DeepFool norm of each robust model over its standard twin (measured here on
held-out images), and the time of a dataset-level curvature profile.

    .venv/bin/python -m bench.models [--n-deepfool 500] [--n-profile 100]

It prints RESULT lines and writes its own section of bench/results.md (`--from-log LOG` writes the section
from the printed output of an earlier run instead of measuring again).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time

import numpy as np
import torch

import geometry as g
from bench.common import parse, result
from bench.sections import write_section
from geometry.profile import curvature_profile

TWINS = {"mnist": ("mnist-relu-cnn", "mnist-robust-cnn"), "fashion-mnist": ("fmnist-relu-cnn", "fmnist-robust-cnn")}
PROFILED = ("mnist-relu-cnn", "fmnist-relu-cnn", "fmnist-robust-cnn")


def cards() -> None:
    for name in g.list_embedded():
        card = g.loading.read_card(name)
        if "pgd_l2" not in card:
            continue
        pgd = card["pgd_l2"]
        result("models", f"{name}: training seconds (card)", f"{card.get('train_seconds', float('nan')):.0f}")
        result("models", f"{name}: clean test accuracy ({card['test_images']} images)", f"{card['test_accuracy']:.4f}")
        result("models", f"{name}: accuracy under PGD-L2 ε = {pgd['eps']:g} ({pgd['images']} held-out images)",
               f"{pgd['accuracy']:.4f}")


def median_deepfool(name: str, n: int) -> float:
    model = g.load_embedded(name)
    x = torch.from_numpy(g.samples_for(model.input_shape, model.card.dataset).images[:n])
    bp = g.deepfool(model, x)
    return float(np.median(bp.distance[bp.success].cpu().numpy()))


def ratios(n: int) -> None:
    for dataset, (standard, robust) in TWINS.items():
        a, b = median_deepfool(standard, n), median_deepfool(robust, n)
        result("models", f"{dataset}: median DeepFool ‖r‖ {robust} ÷ {standard} ({n} held-out images)",
               f"{b / a:.2f} ({b:.3f} / {a:.3f})", "clearly > 1")


def profile_times(n: int) -> None:
    for name in PROFILED:
        model = g.load_embedded(name)
        x = torch.from_numpy(g.samples_for(model.input_shape, model.card.dataset).images[:n])
        start = time.perf_counter()
        p = curvature_profile(model, x)
        result("models", f"{name}: dataset-level curvature profile, N = {n} ({p.solver}, {p.method}) seconds",
               f"{time.perf_counter() - start:.1f}")


def write_results(log: str, command: str) -> None:
    """The RESULT lines of a run as a table in the `models` section of bench/results.md."""
    rows = [r for r in map(parse, log.splitlines()) if r is not None and r[0] == "models"]
    lines = [f"## Embedded models (`{command}`)", "",
             "Training seconds are the cards' (assets/make_assets.py, 2-core CPU shared with other jobs at the "
             "time); the other numbers are measured by the command.", "",
             "| metric | value | target |", "|---|---|---|"]
    lines += [f"| {metric} | {value} | {target} |" for _, metric, value, target in rows]
    write_section("models", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-deepfool", type=int, default=500)
    parser.add_argument("--n-profile", type=int, default=100)
    parser.add_argument("--from-log", default=None, help="write the section from this earlier run's output")
    args = parser.parse_args()
    command = f"python -m bench.models --n-deepfool {args.n_deepfool} --n-profile {args.n_profile}"
    if args.from_log:
        write_results(open(args.from_log).read(), command)
        return
    torch.manual_seed(0)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, buffer)):
        cards()
        ratios(args.n_deepfool)
        profile_times(args.n_profile)
    write_results(buffer.getvalue(), command)


class _Tee(io.TextIOBase):
    """Print and keep what is printed."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


if __name__ == "__main__":
    main()
