"""Dataset-level curvature profile (the paper's Figure 5b): the sorted principal curvatures of the boundary
near each of N images, and over images the median curve with 10–90 % bands.

Per image this is exactly `curvature_spectrum` (same operator, same exact-vs-finite-difference choice, same
sign convention: positive = the boundary curves around x's region, a sphere of radius R gives +1/R). What is
added: one batched DeepFool for all images, a common column layout (the full spectrum has d − 1 columns,
Lanczos k largest + k smallest), images DeepFool cannot move skipped and listed instead of aborting the run,
and summary statistics ("flat" fraction, extremes) used by the reproduce report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np
import torch

from .decision import DEFAULT_FD_STEP, HvpMethod
from .deepfool import BoundaryPoint, deepfool
from .errors import AtlasError
from .model import Classifier
from .spectrum import CurvatureSpectrum, Solver, curvature_spectrum

QUANTILES = (0.1, 0.9)  # the band drawn around the median curve


@dataclass(frozen=True)
class CurvatureProfile:
    """Sorted principal-curvature profiles of N images (rows, descending) and their spread over images."""

    curvatures: np.ndarray  # (N, r) each row sorted descending; r = d − 1 (full) or 2k (Lanczos)
    ranks: np.ndarray  # (r,) 0-based position of each column in the full sorted spectrum of d − 1 values
    median: np.ndarray  # (r,) median over images, column by column
    lower: np.ndarray  # (r,) QUANTILES[0] quantile over images
    upper: np.ndarray  # (r,) QUANTILES[1] quantile over images
    image_index: np.ndarray  # (N,) which input images these rows are (skipped ones are left out)
    skipped: np.ndarray  # (n_skipped,) input indices DeepFool could not move to a boundary
    labels: np.ndarray  # (N,) k̂(x)
    targets: np.ndarray  # (N,) the class k of F = f_k − f_k̂
    distance: np.ndarray  # (N,) ‖z − x‖ to the boundary point (0 when at="input")
    grad_norm: np.ndarray  # (N,) ‖∇F‖ where the curvature was measured
    residual: np.ndarray  # (N,) largest eigenpair residual per image
    converged: np.ndarray  # (N,) bool
    dim: int  # input dimension d
    at: str  # "boundary" or "input"
    solver: str  # "full" or "lanczos"
    method: str  # "exact" or "fd"
    h: float | None  # FD step (None for exact HVPs)
    n_hvp: int
    seconds: float
    quantiles: tuple[float, float] = QUANTILES

    @property
    def n_images(self) -> int:
        return int(self.curvatures.shape[0])

    @property
    def max_curvature(self) -> np.ndarray:
        """Most positive curvature per image. (N,)"""
        return self.curvatures[:, 0]

    @property
    def min_curvature(self) -> np.ndarray:
        """Most negative curvature per image. (N,)"""
        return self.curvatures[:, -1]

    def flat_fraction(self, relative: float = 0.1) -> np.ndarray:
        """Per image, the fraction of its principal curvatures with |κ| < relative · max |κ|. (N,)

        Only meaningful for the full solver (all d − 1 curvatures); Lanczos profiles raise AtlasError.
        """
        if self.solver != "full":
            raise AtlasError("the flat fraction needs all d − 1 curvatures: compute the profile with "
                             "solver='full'")
        size = np.abs(self.curvatures)
        big = size.max(axis=1, keepdims=True)
        return ((size < relative * big) | (big == 0)).mean(axis=1)  # a flat boundary (all κ = 0) is all flat

    def to_dict(self) -> dict:
        """JSON-able export (lists and plain numbers)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        out["quantiles"] = list(self.quantiles)
        return out


def curvature_profile(model: Classifier, x: torch.Tensor, *, at: Literal["boundary", "input"] = "boundary",
                      method: HvpMethod = "auto", h: float = DEFAULT_FD_STEP, solver: Solver = "auto",
                      k: int = 10, tol: float = 1e-3, max_steps: int | None = None, seed: int = 0,
                      deepfool_iters: int = 50, batch_size: int | None = None,
                      progress: Callable[[float], None] | None = None) -> CurvatureProfile:
    """Sorted principal-curvature profile of each image and the median / 10–90 % bands over images.

    Args:
        model: the classifier. x: (N, *S) images, N ≥ 1.
        at, method, h, solver, k, tol, max_steps, seed, batch_size: as in `curvature_spectrum` (method
            "auto" uses exact HVPs for smooth models and finite differences at step h otherwise).
        deepfool_iters: DeepFool step cap (one batched run for all images).
        progress: callback receiving the fraction done (DeepFool counts as the first 5 %).
    Returns:
        CurvatureProfile. Images DeepFool could not move (no boundary found) are listed in `skipped`.
    Raises:
        AtlasError when no image could be measured.
    Example:
        >>> p = curvature_profile(model, images[:20]); p.median[:5], p.flat_fraction(0.1)
    """
    start = time.perf_counter()
    spectra, index = boundary_spectra(model, x, at=at, method=method, h=h, solver=solver, k=k, tol=tol,
                                      max_steps=max_steps, seed=seed, deepfool_iters=deepfool_iters,
                                      batch_size=batch_size, keep_vectors=False, progress=progress)
    return profile_from_spectra(model, spectra, index, n_images=len(x), seconds=time.perf_counter() - start)


def boundary_spectra(model: Classifier, x: torch.Tensor, *, at: Literal["boundary", "input"] = "boundary",
                     method: HvpMethod = "auto", h: float = DEFAULT_FD_STEP, solver: Solver = "auto",
                     k: int = 10, tol: float = 1e-3, max_steps: int | None = None, seed: int = 0,
                     deepfool_iters: int = 50, batch_size: int | None = None, keep_vectors: bool = True,
                     progress: Callable[[float], None] | None = None
                     ) -> tuple[list[CurvatureSpectrum], np.ndarray]:
    """`curvature_spectrum` of each image after one batched DeepFool: (spectra, their input indices).

    Arguments as in curvature_profile. keep_vectors=False drops the eigenvectors (N·d² numbers) as it
    goes, for callers that need only the curvatures. Raises AtlasError when no image could be measured.
    """
    x = model.prepare(x)
    if x.shape[0] == 0:
        raise AtlasError("the curvature profile needs at least one image")
    if at not in ("boundary", "input"):
        raise AtlasError(f"at must be 'boundary' or 'input', got {at!r}")
    report = progress or (lambda _f: None)
    # One batched DeepFool gives every image its target class (and z); at="input" needs no success.
    bp = deepfool(model, x, max_iter=int(deepfool_iters))
    report(0.05)
    keep = range(x.shape[0]) if at == "input" else torch.nonzero(bp.success.cpu()).flatten().tolist()
    spectra, index = [], []
    for j, i in enumerate(keep):
        step = lambda f, j=j: report(0.05 + 0.95 * (j + f) / len(keep))  # noqa: E731
        s = curvature_spectrum(model, x[i], at=at, method=method, h=h, solver=solver, k=k, tol=tol,
                               max_steps=max_steps, batch_size=batch_size, seed=seed, boundary=_one(bp, i),
                               deepfool_iters=deepfool_iters, progress=step)
        spectra.append(s if keep_vectors else replace(s, eigenvectors=s.eigenvectors[:0]))
        index.append(i)
    if not spectra:
        raise AtlasError(f"DeepFool found no boundary within {deepfool_iters} steps for any of the "
                         f"{x.shape[0]} images: allow more steps or measure at the inputs (at='input')")
    report(1.0)
    return spectra, np.array(index)


def _one(bp: BoundaryPoint, i: int) -> BoundaryPoint:
    """Image i of a batched DeepFool result, as a batch of one (what curvature_spectrum's boundary= takes)."""
    kw = {f.name: getattr(bp, f.name)[i : i + 1] for f in fields(BoundaryPoint) if f.name != "n_forward"}
    return BoundaryPoint(**kw, n_forward=bp.n_forward)


def profile_from_spectra(model: Classifier, spectra: Sequence[CurvatureSpectrum], index: np.ndarray, *,
                         n_images: int | None = None, seconds: float = 0.0) -> CurvatureProfile:
    """The profile of spectra already computed (by boundary_spectra) for images `index` of n_images."""
    n_total = len(spectra) if n_images is None else n_images
    lengths = {len(s.eigenvalues) for s in spectra}
    if len(lengths) != 1:  # Lanczos may return fewer pairs on a tiny problem; keep the common ends
        half = min(lengths) // 2
        rows = [np.concatenate([s.eigenvalues[:half], s.eigenvalues[len(s.eigenvalues) - half:]])
                for s in spectra]
    else:
        rows = [s.eigenvalues for s in spectra]
    curv = np.stack(rows).astype(np.float64)
    r, d = curv.shape[1], model.dim
    first = spectra[0]
    if first.solver == "full":
        ranks = np.arange(r)
    else:  # k largest then k smallest of the d − 1 tangent curvatures
        ranks = np.concatenate([np.arange(r // 2), np.arange(d - 1 - (r - r // 2), d - 1)])
    lo, hi = np.quantile(curv, QUANTILES, axis=0)
    skipped = np.setdiff1d(np.arange(n_total), index)
    return CurvatureProfile(
        curvatures=curv, ranks=ranks, median=np.median(curv, axis=0), lower=lo, upper=hi, image_index=index,
        skipped=skipped, labels=np.array([s.label for s in spectra]),
        targets=np.array([s.target for s in spectra]),
        distance=np.array([float(np.linalg.norm(s.point - s.x)) for s in spectra]),
        grad_norm=np.array([s.grad_norm for s in spectra]),
        residual=np.array([float(np.max(s.residuals)) if len(s.residuals) else 0.0 for s in spectra]),
        converged=np.array([s.converged for s in spectra]), dim=d, at=first.at, solver=first.solver,
        method=first.method, h=first.h, n_hvp=sum(s.n_hvp for s in spectra), seconds=seconds)
