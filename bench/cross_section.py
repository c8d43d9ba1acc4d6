"""Cross-section benchmark (docs/paper_notes.md §4): raw forward throughput vs the grid's effective points per second
(overhead ratio; target ≥ 0.9) and adaptive vs dense forward-pass counts, time and label agreement
(target: ≥ 4× fewer passes at 200×200 with the same label map). Prints numbers, never asserts.

    .venv/bin/python -m bench.cross_section                       # CNN at 200×200, ResNet-18 at --resnet-n
    .venv/bin/python -m bench.cross_section --resnet-n 200        # the full target (use a GPU)

"Forward passes" count input points through the network. ResNet-18 has random weights (timing only) and a
random × random plane of extent 3 in pixel L2 units (DeepFool skipped: it only sets the extent).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bench.common import result
from geometry.cross_section import cross_section
from geometry.images import load_digits
from geometry.loading import load_embedded, load_torchvision
from geometry.planes import normal_plane, random_plane


def raw_throughput(model, batch_size: int, seconds: float = 3.0) -> float:
    """Images per second of the bare network on random inputs in the model's bounds (no grid overhead)."""
    x = torch.rand((batch_size, *model.input_shape), device=model.device, dtype=model.dtype)
    with torch.no_grad():
        model.module(x)  # warm-up
        _sync(model)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.module(x)
            n += batch_size
        _sync(model)
    return n / (time.perf_counter() - start)


def _sync(model) -> None:
    if model.device.type == "cuda":
        torch.cuda.synchronize()


def report(name: str, model, plane, n: int, coarse: int) -> None:
    bs = model.default_batch_size()
    raw = raw_throughput(model, bs)
    cross_section(model, plane, resolution=4, method="dense")  # warm-up
    dense = cross_section(model, plane, resolution=n, method="dense", batch_size=bs)
    adaptive = cross_section(model, plane, resolution=n, method="adaptive", coarse=coarse, batch_size=bs)
    eff = dense.n_forward / dense.seconds
    agree = float(np.mean(dense.labels == adaptive.labels))
    print(f"\n{name}  ({model.device}, batch {bs}, {n}×{n}, classes in view: {len(np.unique(dense.labels))})")
    print(f"  raw model:            {raw:10.1f} images/s")
    print(f"  dense cross-section:  {eff:10.1f} points/s   ratio {eff / raw:.2f} (target ≥ 0.9)")
    print(f"  dense:    {dense.n_forward:7d} passes  {dense.seconds:7.2f} s")
    print(f"  adaptive: {adaptive.n_forward:7d} passes  {adaptive.seconds:7.2f} s   "
          f"{dense.n_forward / adaptive.n_forward:.1f}× fewer passes, "
          f"{dense.seconds / adaptive.seconds:.1f}× faster, label agreement {agree:.4f} "
          "(target ≥ 4× and ≥ 0.99)", flush=True)
    short = name.split(",")[0]
    result("cross-section", f"{short} {n}×{n}: grid points/s ÷ raw images/s", f"{eff / raw:.2f}", "≥ 0.9")
    result("cross-section", f"{short} {n}×{n}: dense ÷ adaptive forward passes",
           f"{dense.n_forward / adaptive.n_forward:.1f}", "≥ 4 at 200×200")
    result("cross-section", f"{short} {n}×{n}: dense ÷ adaptive time", f"{dense.seconds / adaptive.seconds:.1f}")
    result("cross-section", f"{short} {n}×{n}: adaptive label agreement", f"{agree:.4f}", "≥ 0.99")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="grid resolution for the embedded CNN")
    parser.add_argument("--resnet-n", type=int, default=None,
                        help="grid resolution for ResNet-18 (default 200 on a GPU, 40 on CPU)")
    parser.add_argument("--coarse", type=int, default=12, help="coarse cells per side (adaptive)")
    parser.add_argument("--image", type=int, default=2, help="held-out digit index for the CNN")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    cnn = load_embedded("mnist-relu-cnn")
    x = torch.from_numpy(load_digits().images[args.image])
    report("mnist-relu-cnn, normal × random plane (extent 3‖r‖)", cnn, normal_plane(cnn, x), args.n,
           args.coarse)
    if args.skip_resnet:
        return
    resnet = load_torchvision("resnet18", pretrained=False)
    n = args.resnet_n or (200 if resnet.device.type == "cuda" else 40)
    gen = torch.Generator().manual_seed(0)
    photo = torch.rand((3, 224, 224), generator=gen)
    plane = random_plane(resnet, photo, seed=0, extent=3.0)
    report("torchvision resnet18 (random weights), 224×224, random × random plane", resnet, plane, n,
           args.coarse if n >= 100 else max(2, args.coarse // 3))


if __name__ == "__main__":
    main()
