"""Seconds of each dashboard view's default computation for an ImageNet-size model on this machine: torchvision
ResNet-18 (random weights: pretrained ones cannot be downloaded here; timing does not depend on the weights) on
the first sample photo (3×224×224). Each view is timed as the app runs it by default, with DeepFool cached once
it has run on Home (as the app's cache does), and next to it the estimate the app shows before running it
(app/estimates.py: one timed forward/backward pass × the view's pass count). Prints RESULT lines; `--write`
records its section in bench/results.md.

    .venv/bin/python -m bench.resnet_views --write
    .venv/bin/python -m bench.resnet_views --views home,curvature   # a subset
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from collections.abc import Callable

import numpy as np
import torch

from bench.common import result
from bench.sections import write_section
from geometry.engine import load_worker_model
from geometry.images import samples_for

VIEWS = ("home", "cross-sections", "curvature", "paths", "detection")
LIMIT = 60.0  # seconds: the target for each view's default on a 2-core CPU


def _views(model, image: np.ndarray, partner: np.ndarray) -> dict[str, Callable[[], object]]:
    """Each view's default computation: the app's own cached wrappers (Streamlit caches work without a server)
    called with the pages' default settings, on a cold cache except DeepFool, which Home caches for the others."""
    from app import cache, estimates
    from app.cache import cross_section as xs
    from app.cache import curvature as cache_curvature
    from app.cache import detection as cache_detection
    from app.cache import paths as cache_paths
    from geometry.detection import DEFAULT_DETECTION_STEP
    from geometry.paths import PathConfig
    from geometry.planes import visible_extent
    mk, ik, pk = "bench-model", "bench-image", "bench-partner"

    def home():
        cache.probabilities(mk, ik, model, image)
        return cache.deepfool(mk, ik, model, image)

    def cross():
        kind = xs.KINDS[0]
        plane = xs.plane(mk, ik, model, image, kind, 0)
        df = cache.deepfool(mk, ik, model, image)
        ref = int(df.target[0]) if bool(df.success[0]) else None
        key = (kind, 0, (0, 1), "largest |κ|")
        curv = xs.curvature(mk, ik, key, model, plane, clip=False)  # the page's defaults: auto extent, no clip
        extent = visible_extent(plane.distance, curv.curvature)
        xs.section(mk, ik, key, model, plane, extent=extent, resolution=estimates.LARGE_GRID,
                   method="adaptive", clip=False, ref_class=ref)
        xs.profiles(mk, ik, key, model, plane, extent=extent, clip=False, ref_class=ref)

    def curvature():
        from geometry.decision import DEFAULT_FD_STEP
        config = dict(target=None, at="boundary", method="auto", h=DEFAULT_FD_STEP, solver="auto",
                      k=estimates.LARGE_CURVATURES)
        cache_curvature.spectrum(mk, ik, config, model, image)

    def paths():
        config = cache_paths.config_dict(PathConfig())
        p = cache_paths.path(mk, ik, pk, config, model, image, partner)
        cache_paths.plane(mk, ik, pk, config, estimates.LARGE_PATH_PLANE, model, p)

    def detection():
        cache_detection.image_versions(mk, ik, model, image, directions=estimates.LARGE_DETECTION_DIRECTIONS,
                                       h=DEFAULT_DETECTION_STEP, seed=0, classes=estimates.LARGE_DETECTION_CLASSES)

    return {"home": home, "cross-sections": cross, "curvature": curvature, "paths": paths, "detection": detection}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--views", default=",".join(VIEWS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--write", action="store_true", help="record the section in bench/results.md")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime": the caches still work in memory
    from app import estimates
    model = load_worker_model(f"tv:{args.arch}:random")
    photos = samples_for(model.input_shape)
    image = photos.images[0]
    pred = model.predict(torch.from_numpy(photos.images)).cpu().numpy()
    same = [i for i in range(1, len(pred)) if pred[i] == pred[0]]  # the Paths view's default partner
    partner = photos.images[same[0] if same else 1]
    unit = estimates.unit_seconds(model)
    print(f"one forward+backward pass of one image: {unit * 1e3:.0f} ms", flush=True)
    jobs, rows = _views(model, image, partner), []
    for name in VIEWS:
        if name not in args.views.split(",") and name != "home":
            continue
        guess = estimates.estimate(name, model, unit, classes=estimates.LARGE_DETECTION_CLASSES,
                                   max_steps=estimates.lanczos_steps(estimates.LARGE_CURVATURES))
        t0 = time.perf_counter()
        jobs[name]()
        sec = time.perf_counter() - t0
        rows.append((name, sec, guess))
        print(f"{name:15s} {sec:7.1f} s = {sec / unit:6.0f} passes  (estimate shown before running: {guess:.0f} s)",
              flush=True)
        result("resnet-views", f"{args.arch} (random weights) {name}: default seconds", f"{sec:.1f}",
               f"≤ {LIMIT:.0f}")
    load = os.getloadavg()[0]
    lines = ["### ImageNet-size model on this CPU: default computation of each view "
             "(`python -m bench.resnet_views`)", "",
             f"torchvision {args.arch} (random weights), first sample photo 3×224×224, {os.cpu_count()} cores "
             f"({platform.processor() or platform.machine()}), {torch.get_num_threads()} torch threads; "
             f"one forward+backward pass {unit * 1e3:.0f} ms; load average {load:.1f} at the end"
             + (" (the machine was shared and busy: times are upper bounds)" if load > 1.5 * (os.cpu_count() or 1)
                else "") + ".", "",
             "| view | seconds | ÷ one pass | estimate shown (s) | within 60 s |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {s:.1f} | {s / unit:.0f} | {g:.0f} | {'yes' if s <= LIMIT else 'no'} |" for n, s, g in rows]
    print("\n".join(lines))
    if args.write:
        write_section(f"resnet-views-{args.arch}", "\n".join(lines))


if __name__ == "__main__":
    main()
