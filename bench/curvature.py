"""Curvature-spectrum benchmark: prints ratios, asserts nothing.

    python bench/curvature.py [--resnet] [--device cpu|cuda]

1. Time per HVP vs per gradient (batched, per vector), exact (softplus CNN) and FD (ReLU CNN). Target ≤ 3.
2. HVPs and time for the top-10 (both ends) at relative tolerance 1e-3: our Lanczos vs scipy eigsh (ARPACK)
   driven by the same curvature operator, on the embedded MNIST models and optionally ResNet-18 at 224×224.
3. Full 783-curvature spectrum time on the embedded models.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

import geometry as g
from bench.common import result
from geometry import decision
from geometry.batching import make_generator
from geometry.decision import class_weights
from geometry.deepfool import deepfool
from geometry.lanczos import lanczos
from geometry.spectrum import curvature_operator, curvature_spectrum


def _timed(fn, repeat: int = 3) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def hvp_vs_grad(model: g.Classifier, x: torch.Tensor, batch: int) -> None:
    bp = deepfool(model, x)
    z, k, kh = bp.boundary, bp.target, bp.label
    method = g.resolve_hvp_method(model, z, k, kh)
    v = g.random_unit_vectors(batch, model.input_shape, generator=make_generator(0)).to(model.device)
    zs, ks, khs = z.expand(batch, *z.shape[1:]), k.expand(batch), kh.expand(batch)
    t_grad = _timed(lambda: g.decision_grad(model, zs, ks, khs)) / batch
    t_hvp = _timed(lambda: g.hvp(model, z, k, kh, v[None], method=method)) / batch
    t_grad1 = _timed(lambda: g.decision_grad(model, z, k, kh))
    t_hvp1 = _timed(lambda: g.hvp(model, z, k, kh, v[None, :1], method=method))
    print(f"  {model.name:22s} {method:5s} batch {batch}: grad {t_grad * 1e3:.3f} ms, HVP "
          f"{t_hvp * 1e3:.3f} ms per vector, ratio {t_hvp / t_grad:.2f}; 1 vector {t_hvp1 / t_grad1:.2f}")
    result("curvature", f"{model.name}: HVP ÷ gradient time ({method}, batch {batch})", f"{t_hvp / t_grad:.2f}",
           "≤ 3 on CPU")
    if method == "exact":  # the two autodiff modes side by side (hvp() picks reverse on CPU, forward on GPU)
        w = class_weights(model, ks, khs)
        for name, fn in (("forward", decision._hvp_forward), ("reverse", decision._hvp_reverse)):
            t_mode = _timed(lambda fn=fn: fn(model, zs, w, v)) / batch
            print(f"  {'':22s} {name}-over-reverse HVP {t_mode * 1e3:.3f} ms per vector, "
                  f"ratio {t_mode / t_grad:.2f}")


def lanczos_vs_eigsh(model: g.Classifier, x: torch.Tensor, k: int = 10, tol: float = 1e-3,
                     max_steps: int | None = None) -> None:
    bp = deepfool(model, x)
    op = curvature_operator(model, bp.boundary[0], int(bp.target[0]), int(bp.label[0]))
    d = model.dim
    start = time.perf_counter()
    res = lanczos(op.apply, d, k=k, tol=tol, constraint=op.normal[None], generator=make_generator(0),
                  device=model.device, max_steps=max_steps)
    t_l, n_l = time.perf_counter() - start, op.counter[0]
    vec = res.eigenvectors
    true_res = (op.apply(vec) - vec * res.eigenvalues[:, None]).norm(dim=1)
    scale = float(res.eigenvalues.abs().max())
    print(f"  Lanczos: {n_l} HVPs, {t_l:.1f} s, converged {res.converged}, max residual/|λ|max "
          f"{float(true_res.max()) / scale:.1e}, κ range [{float(res.eigenvalues[-1]):+.4g}, "
          f"{float(res.eigenvalues[0]):+.4g}]")
    op.counter[0] = 0

    budget = 4 * n_l  # eigsh gets four times Lanczos' HVPs before it is stopped

    def mv(v: np.ndarray) -> np.ndarray:
        if op.counter[0] >= budget:
            raise _Budget(f"no convergence within {budget} HVPs")
        t = torch.from_numpy(np.asarray(v, dtype=np.float64).reshape(-1, d)).to(model.device)
        return op.apply(t).cpu().numpy().reshape(np.shape(v))

    lin = LinearOperator((d, d), matvec=mv, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(d)
    v0 -= (v0 @ op.normal.cpu().numpy()) * op.normal.cpu().numpy()
    start = time.perf_counter()
    try:
        vals = eigsh(lin, k=2 * k, which="BE", tol=tol, v0=v0, return_eigenvectors=False)
        ok = "converged"
    except Exception as error:  # noqa: BLE001 - ARPACK's no-convergence: report and go on
        vals, ok = np.array([np.nan]), f"stopped: {error}"
    t_e, n_e = time.perf_counter() - start, op.counter[0]
    print(f"  eigsh  : {n_e} HVPs, {t_e:.1f} s, {ok}, κ range [{np.min(vals):+.4g}, {np.max(vals):+.4g}]")
    print(f"  ratio eigsh/Lanczos: HVPs {n_e / max(n_l, 1):.2f}, time {t_e / max(t_l, 1e-9):.2f}")
    result("curvature", f"{model.name}: Lanczos top-{k} HVPs (converged {res.converged})", str(n_l))
    result("curvature", f"{model.name}: eigsh ÷ Lanczos HVPs ({ok.split(':')[0]})", f"{n_e / max(n_l, 1):.2f}",
           "> 1")
    result("curvature", f"{model.name}: eigsh ÷ Lanczos time", f"{t_e / max(t_l, 1e-9):.2f}", "> 1")


class _Budget(RuntimeError):
    pass


def full_spectrum(model: g.Classifier, x: torch.Tensor) -> None:
    s = curvature_spectrum(model, x, solver="full")
    print(f"  {model.name:22s} {s.method:5s}: {s.n_hvp} HVPs, {s.seconds:.1f} s, asymmetry "
          f"{s.asymmetry:.2g}, max residual {float(s.residuals.max()):.2g}, "
          f"κ in [{s.min_curvature:+.3g}, {s.max_curvature:+.3g}]")
    result("curvature", f"{model.name}: full {s.dim - 1}-curvature spectrum seconds", f"{s.seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resnet", action="store_true", help="also ResNet-18 at 224×224 (random weights)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--resnet-steps", type=int, default=300, help="Krylov cap for ResNet-18")
    args = parser.parse_args()
    digits = g.load_digits()
    x = torch.from_numpy(digits.images[2:3])
    models = [g.load_embedded(n, device=args.device) for n in ("mnist-softplus-cnn", "mnist-relu-cnn")]
    print("1. time per HVP / time per gradient (target ≤ 3 on CPU)")
    for m in models:
        hvp_vs_grad(m, x, batch=64)
    print("2. top-10 at both ends, tolerance 1e-3: Lanczos vs scipy eigsh with the same HVP")
    for m in models:
        print(f" {m.name} (d = {m.dim})")
        lanczos_vs_eigsh(m, x)
    if args.resnet:
        net = g.load_torchvision("resnet18", pretrained=False, device=args.device)
        img = torch.rand((1, 3, 224, 224), generator=torch.Generator().manual_seed(0))
        print(f" resnet18 (d = {net.dim}), random weights, on {net.device}")
        hvp_vs_grad(net, img, batch=8)
        lanczos_vs_eigsh(net, img, max_steps=args.resnet_steps)
    print("3. full spectrum (783 curvatures)")
    for m in models:
        full_spectrum(m, x)


if __name__ == "__main__":
    main()
