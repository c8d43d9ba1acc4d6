"""The shares behind the views' example banners, for every embedded image model:

    python -m bench.examples            # prints a table and writes the `examples` section of bench/results.md

Per model, on the first 40 correctly classified samples of its held-out set (what the views scan):
- Home: ‖r(x)‖ below a quarter of the distance to the nearest sample of another class;
- Cross-sections and Curvature: the largest |κ| at z at least 10× the curvature along random directions;
- Detection: successful DeepFool images flagged at the threshold calibrated at 5 % false positives on clean
  validation images (the view's defaults: T = 16, h = 0.1, seed 0, all classes, the "mean" score), and of
  those, the ones whose original label Algorithm 2 recovers.
Then the finite-difference asymmetry of a ReLU net's curvature matrix over steps h.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import geometry as g
from app.cache import detection as cache_detection
from bench.sections import markdown_table, write_section
from geometry.detection import DEFAULT_DETECTION_STEP, DEFAULT_DIRECTIONS
from geometry.examples import CURVED_RATIO, SMALL_RATIO, scan_attacks, scan_boundaries
from geometry.images import load_digits, load_fashion
from geometry.spectrum import curvature_spectrum

N = 40
DETECTION = {"directions": DEFAULT_DIRECTIONS, "h": DEFAULT_DETECTION_STEP, "seed": 0, "classes": None}


def _samples(model: g.Classifier) -> g.SampleSet:
    return load_fashion("heldout") if model.card.dataset == "fashion-mnist" else load_digits()


def row(name: str) -> list[str]:
    model = g.load_model(name)
    samples = _samples(model)
    start = time.perf_counter()
    scan = scan_boundaries(model, samples.images, samples.labels, n=N)
    found = scan.found
    ratio = np.abs(scan.kappa[found]) / scan.kappa_random[found]
    calibrate = cache_detection.calibration.__wrapped__  # the view's calibration, without Streamlit's cache
    threshold = calibrate(name, model, **DETECTION)["threshold"]["mean"]
    attacks = scan_attacks(model, samples.images, samples.labels, n=N, **DETECTION)
    flagged = attacks.flagged("mean", threshold)
    right = attacks.recovered_right("mean", threshold)
    m = int(attacks.success.sum())
    return [name, f"{int(scan.small.sum())} / {int(found.sum())}",
            f"{np.median(scan.distance[found] / scan.nearest_other[found]):.2f}",
            f"{int(scan.curved.sum())} / {int(found.sum())}", f"{np.median(ratio):.0f}×",
            f"{int(flagged.sum())} / {m}", f"{int(right.sum())}", f"{time.perf_counter() - start:.0f}"]


def asymmetry(name: str = "mnist-relu-cnn", steps=(0.001, 0.01, 0.05, 0.2, 1.0), images: int = 5) -> str:
    """The finite-difference curvature matrix's asymmetry ‖M − Mᵀ‖/‖M‖ on a ReLU net, per step h (the
    Curvature view's caption states it; the warning is kept for ≥ 1)."""
    model = g.load_model(name)
    x = torch.from_numpy(_samples(model).images[:images])
    rows = []
    for h in steps:
        values = [curvature_spectrum(model, xi[None], solver="full", h=h).asymmetry for xi in x]
        rows.append(f"| {h:g} | {min(values):.2f} | {max(values):.2f} |")
    return (f"Finite-difference asymmetry ‖M − Mᵀ‖/‖M‖ of {name}'s full curvature matrix at z, over its first "
            f"{images} held-out images (0: symmetric; about 1.41 for a random matrix):\n\n"
            "| h | min | max |\n|---|---|---|\n" + "\n".join(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mnist-relu-cnn,mnist-softplus-cnn,mnist-robust-cnn,"
                                            "fmnist-relu-cnn,fmnist-softplus-cnn,fmnist-robust-cnn")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    header = ["model", f"small ‖r‖ (< 1/{SMALL_RATIO:g} of nearest other class)", "median ‖r‖ ÷ that distance",
              f"curved along a few (|κ|max ≥ {CURVED_RATIO:g}× random)", "median |κ|max ÷ random",
              "DeepFool images flagged (5 % FPR)", "of those, label recovered", "seconds"]
    rows = [row(name) for name in args.models.split(",")]
    body = (f"The shares behind the views' example banners: the first {N} correctly classified held-out images "
            f"of each model. Command: `python -m bench.examples`. Load at start: {os.getloadavg()[0]:.1f} "
            "(2-core CPU).\n\n" + markdown_table(header, rows))
    body += "\n\n" + asymmetry()
    print(body)
    if not args.no_write:
        write_section("examples", body)


if __name__ == "__main__":
    main()
