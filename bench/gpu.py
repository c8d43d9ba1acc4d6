"""GPU check: the same computations on CUDA and on the CPU of one machine, their agreement and their times.

    python -m bench.gpu --out gpu.json            # on a machine with a CUDA device (geometry/ only: no Streamlit)
    python -m bench.gpu --record gpu.json         # here: write the `gpu` section of bench/results.md from it

Agreement is measured, not assumed: float32 on both devices, so numbers differ by rounding and DeepFool's and
Lanczos's iterations can take other paths; the table reports the largest differences and label agreement.
Times are the median of `--repeat` runs after one warm-up, with torch.cuda.synchronize() around GPU runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import geometry as g
from bench.sections import markdown_table, write_section
from geometry.cross_section import cross_section
from geometry.deepfool import deepfool
from geometry.detection import curvature_scores
from geometry.examples import scan_boundaries
from geometry.images import load_digits
from geometry.planes import normal_plane
from geometry.profile import curvature_profile
from geometry.spectrum import curvature_spectrum


def _timed(fn: Callable[[], object], device: str, repeat: int) -> tuple[object, float]:
    """(last result, median seconds) of `repeat` runs after one warm-up."""
    def once() -> tuple[object, float]:
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return out, time.perf_counter() - start
    once()
    runs = [once() for _ in range(repeat)]
    return runs[-1][0], statistics.median(t for _, t in runs)


def _cases(images: np.ndarray, labels: np.ndarray) -> dict[str, Callable[[g.Classifier], dict]]:
    """Each case: model -> {'value': comparable numbers, 'what': a unit}."""
    x500 = torch.from_numpy(images[:500])
    x100 = torch.from_numpy(images[:100])
    x0 = torch.from_numpy(images[:1])

    def df(m: g.Classifier) -> dict:
        bp = deepfool(m, x500)
        return {"norm": bp.distance.cpu().numpy(), "label": bp.target.cpu().numpy()}

    def spectrum(m: g.Classifier) -> dict:
        s = curvature_spectrum(m, x0, solver="full")
        return {"kappa": s.eigenvalues}

    def section(m: g.Classifier) -> dict:
        plane = normal_plane(m, images[0], seed=0)
        cs = cross_section(m, plane, resolution=200, method="dense")
        return {"labels": np.asarray(cs.labels)}

    def detection(m: g.Classifier) -> dict:
        cs = curvature_scores(m, x100, directions=16, seed=0)
        return {"rho": cs.statistic("mean")}

    def scan(m: g.Classifier) -> dict:
        sc = scan_boundaries(m, images, labels, n=40)
        return {"kappa": sc.kappa, "example": np.array([sc.most_bent(), sc.typical()])}

    def profile(m: g.Classifier) -> dict:
        x20 = torch.from_numpy(images[:20])
        p = curvature_profile(m, x20)
        return {"max": p.max_curvature, "‖r‖": deepfool(m, x20).distance.cpu().numpy()}

    return {"DeepFool, 500 digits": df, "full curvature spectrum (783 HVPs), 1 digit": spectrum,
            "dense cross-section 200×200": section, "detection scores, 100 digits × 16 directions": detection,
            "example scan (DeepFool + Lanczos), 40 digits": scan, "dataset profile (full spectra), 20 digits": profile}


def _difference(a: dict, b: dict) -> str:
    """The agreement of two results, in words."""
    parts = []
    for key, va in a.items():
        va, vb = np.asarray(va), np.asarray(b[key])
        if key in ("label", "labels", "example"):
            parts.append(f"{key}: {np.mean(va == vb):.2%} equal")
        else:
            ok = np.isfinite(va) & np.isfinite(vb)
            scale = float(np.max(np.abs(va[ok]))) or 1.0
            close = np.abs(va[ok] - vb[ok]) <= 0.01 * np.abs(va[ok])
            parts.append(f"{key}: max |Δ| / max |·| = {float(np.max(np.abs(va[ok] - vb[ok]))) / scale:.1e}"
                         + (f", {close.mean():.0%} within 1 %" if va.size > 1 else ""))
    return "; ".join(parts)


def run(models: list[str], repeat: int) -> dict:
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on the GPU machine")
    samples = load_digits()
    rows = []
    for name in models:
        for case, fn in _cases(samples.images, samples.labels).items():
            out, times = {}, {}
            for device in ("cpu", "cuda"):
                model = g.load_model(name, device=device)
                out[device], times[device] = _timed(lambda m=model, f=fn: f(m), device, repeat)
            rows.append({"model": name, "case": case, "cpu_s": times["cpu"], "cuda_s": times["cuda"],
                         "speedup": times["cpu"] / times["cuda"], "agreement": _difference(out["cpu"], out["cuda"])})
            print(rows[-1], flush=True)
            for key, value in out["cpu"].items():  # small results in full, to see where the devices differ
                if np.asarray(value).size <= 40 and key not in ("example",):
                    print(f"  {key}: cpu {np.round(value, 4).tolist()}\n  {key}: gpu "
                          f"{np.round(out['cuda'][key], 4).tolist()}", flush=True)
    return {"device": torch.cuda.get_device_name(0), "cpu_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(), "repeat": repeat, "rows": rows}


def table(result: dict) -> str:
    lines = [f"GPU check on **{result['device']}** against the CPU of the same machine "
             f"({result['cpu_threads']} torch threads), torch {result['torch']}, float32, median of "
             f"{result['repeat']} runs after a warm-up. Command: `python -m bench.gpu --out gpu.json` there, "
             "then `python -m bench.gpu --record gpu.json` here.", "",
             markdown_table(["model", "computation", "CPU s", "GPU s", "GPU speed-up", "CPU vs GPU agreement"],
                            [[r["model"], r["case"], f"{r['cpu_s']:.3g}", f"{r['cuda_s']:.3g}",
                              f"{r['speedup']:.1f}×", r["agreement"]] for r in result["rows"]])]
    lines += ["", "Reading it: the smooth net agrees across devices to float32 rounding everywhere. The ReLU net's "
              "boundary points agree to 1e-4 (‖r‖ column), yet its finite-difference curvatures at h = 0.05 differ "
              "by more than 1 % for about half of the digits (up to 3× on one: 5.11 on the CPU, 1.75 on the GPU, "
              "digit #14; bench/gpu_h200.log lists every value): a shift of z by rounding changes which linear "
              "pieces the step reaches. Single-image ReLU curvatures are fragile at that level; the example scan "
              "picked the same images on both devices. The example scan is latency-bound (sequential Lanczos "
              "steps on one image at a time), so the GPU does not speed it up."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="run on CUDA and write the JSON here")
    parser.add_argument("--record", type=Path, help="write bench/results.md's `gpu` section from this JSON")
    parser.add_argument("--models", default="mnist-relu-cnn,mnist-softplus-cnn")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if args.record:
        write_section("gpu", table(json.loads(args.record.read_text())))
        return
    result = run(args.models.split(","), args.repeat)
    print(table(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
