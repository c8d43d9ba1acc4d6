"""Data-map benchmark: UMAP import, first fit (numba compiles) and a second fit on the 500 held-out digits.
Prints numbers, asserts nothing.

    .venv/bin/python -m bench.datamap
"""

from __future__ import annotations

import time

import torch

from bench.common import result
from geometry.datamap import fit_datamap, project
from geometry.images import load_digits
from geometry.loading import load_embedded


def main() -> None:
    model = load_embedded("mnist-relu-cnn")
    x = torch.from_numpy(load_digits().images)
    t0 = time.perf_counter()
    import umap  # noqa: F401 - the import alone compiles numba code: measured on its own
    t_import = time.perf_counter() - t0
    first = fit_datamap(model, x, kind="penultimate", seed=0)
    second = fit_datamap(model, x, kind="input", seed=0)
    t0 = time.perf_counter()
    project(first, model, x[:10])
    t_project = time.perf_counter() - t0
    print(f"umap import {t_import:.1f} s; first fit (penultimate) {first.seconds:.1f} s; "
          f"second fit (inputs) {second.seconds:.1f} s; transform of 10 points {t_project:.1f} s")
    result("datamap", "umap import seconds", f"{t_import:.1f}")
    result("datamap", f"UMAP fit on {len(x)} digits, first (numba compile) seconds", f"{first.seconds:.1f}")
    result("datamap", f"UMAP fit on {len(x)} digits, second seconds", f"{second.seconds:.1f}")


if __name__ == "__main__":
    main()
