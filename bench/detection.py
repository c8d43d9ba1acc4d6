"""Detection benchmark (docs/paper_notes.md §7): AUC, TPR at 5% FPR and label recovery per attack on held-out digits,
for both embedded MNIST nets, a sweep of the finite-difference step h (ReLU net) and of T; prints numbers
and the cost ratio (seconds per image per direction), never asserts.

    .venv/bin/python -m bench.detection --n 100 --hs 0.02,0.05,0.1,0.3 --directions 16
    .venv/bin/python -m bench.detection --memory   # peak memory vs number of class blocks, resnet18 (1000 classes)
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from bench.common import result
from geometry.attacks import ATTACKS
from geometry.detection import STATISTICS, evaluate_detection
from geometry.images import load_digits
from geometry.loading import load_embedded

OFFSET = 100  # digits 0..99 are the app's samples; evaluate on the next ones


def run(model_name: str, n: int, h: float, directions: int, seed: int) -> None:
    model = load_embedded(model_name)
    x = torch.from_numpy(load_digits().images[OFFSET:OFFSET + n])
    t0 = time.perf_counter()
    ev = evaluate_detection(model, x, attacks=ATTACKS, directions=directions, h=h, seed=seed)
    sec = time.perf_counter() - t0
    print(f"\n{model_name}  h={h}  T={directions}  n={n}  method={ev.clean.method}  {sec:.1f} s "
          f"({sec / (n * (1 + len(ATTACKS))) / directions * 1e3:.2f} ms per image per direction, "
          f"{model.device})")
    images = n * (1 + len(ATTACKS))
    result("detection", f"{model_name} (T={directions}, h={h}): detector images/s", f"{images / sec:.1f}")
    dfl = ev.summary("mean").get("deepfool", {})
    result("detection", f"{model_name} (T={directions}, h={h}): DeepFool AUC, Algorithm 2 score",
           f"{dfl.get('auc', float('nan')):.3f}", "> 0.5")
    for stat in STATISTICS:
        for name, row in ev.summary(stat).items():
            print(f"  {stat:4s} {name:9s} success {row['success_rate']:.2f} (n={row['n_attacked']:3d}, "
                  f"median L2 {row['median_l2']:.2f})  AUC {row.get('auc', float('nan')):.3f}  "
                  f"TPR@5%FPR {row.get('tpr_at_0.05_fpr', float('nan')):.2f}  "
                  f"recovery detected {row.get('recovery_on_detected', float('nan')):.2f} "
                  f"all {row.get('recovery_all', float('nan')):.2f}", flush=True)


def memory(directions: int = 16) -> None:
    """Peak RSS of curvature_scores on one 224×224 image of resnet18 (random weights) with 1 and 4 blocks of
    classes (blocks forced to 2 classes): it must not grow with the number of classes scored."""
    import geometry.detection as det
    from geometry.loading import load_torchvision
    model = load_torchvision("resnet18", pretrained=False)
    det._ELEMENTS_PER_CHUNK = 2 * directions * model.dim  # blocks of 2 classes × T directions
    x = torch.rand(1, *model.input_shape, generator=torch.Generator().manual_seed(0))
    peaks = []
    for k in (2, 8):
        t0 = time.perf_counter()
        det.curvature_scores(model, x, directions=directions, classes=k)
        peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(f"resnet18 classes={k} ({k // 2} blocks): peak RSS {peaks[-1]:.0f} MB, "
              f"{time.perf_counter() - t0:.1f} s")
    full = 999 * directions * model.dim * 4 / 2**30
    print(f"peak growth from 1 to 4 blocks: {peaks[1] - peaks[0]:.0f} MB; one unblocked (999·T, d) float32 "
          f"tensor, which the previous code held several of, would take {full:.1f} GB")
    result("detection", "resnet18 peak RSS growth, 1 -> 4 class blocks (MB)", f"{peaks[1] - peaks[0]:.0f}",
           "≈ 0")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--models", default="mnist-relu-cnn,mnist-softplus-cnn")
    p.add_argument("--hs", default="0.05", help="comma-separated FD steps (ReLU net only)")
    p.add_argument("--directions", default="16", help="comma-separated T values")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--memory", action="store_true", help="only the memory-bound check (resnet18)")
    a = p.parse_args()
    if a.memory:
        memory()
        return
    for name in a.models.split(","):
        hs = [float(v) for v in a.hs.split(",")] if "relu" in name else [0.05]
        for t in (int(v) for v in a.directions.split(",")):
            for h in hs:
                run(name, a.n, h, t, a.seed)


if __name__ == "__main__":
    main()
