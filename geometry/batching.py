"""Chunked evaluation with GPU out-of-memory retry, automatic batch sizes and seeded generators."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import torch

# Elements (input numbers) per forward batch on CPU: large enough to amortise per-call overhead,
# small enough to keep the activations of a small CNN well under a GiB.
_CPU_ELEMENTS_PER_BATCH = 2**21
_GPU_ELEMENTS_PER_BATCH = 2**24


def auto_batch_size(input_numel: int, device: torch.device, *, scale: float = 1.0) -> int:
    """A batch size for inputs of `input_numel` numbers each; `scale` < 1 for costlier passes (HVPs)."""
    budget = _GPU_ELEMENTS_PER_BATCH if device.type == "cuda" else _CPU_ELEMENTS_PER_BATCH
    return max(1, min(4096, int(budget * scale) // max(1, input_numel)))


def _is_oom(error: BaseException) -> bool:
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def chunked(
    fn: Callable[..., torch.Tensor],
    *tensors: torch.Tensor,
    batch_size: int,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Apply `fn` to slices of `tensors` (split along dim 0) and concatenate the outputs.

    On a GPU out-of-memory error the batch size is halved and the failed chunk retried, down to 1.
    `progress` receives the fraction done (0..1) after each chunk.
    """
    n = tensors[0].shape[0]
    if n == 0:
        raise ValueError("chunked() got an empty batch")
    outputs: list[torch.Tensor] = []
    start, size = 0, max(1, int(batch_size))
    while start < n:
        try:
            outputs.append(fn(*(t[start : start + size] for t in tensors)))
        except (RuntimeError, torch.cuda.OutOfMemoryError) as error:
            if not _is_oom(error) or size == 1:
                raise
            size = max(1, min(size, n - start) // 2)
            warnings.warn(f"out of memory: retrying with batch size {size}", RuntimeWarning, stacklevel=2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        start += size
        if progress is not None:
            progress(min(1.0, start / n))
    return torch.cat(outputs)


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator seeded with `seed` (a fresh random seed when None). Library code never seeds globally."""
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def random_unit_vectors(
    n: int, shape: Sequence[int], *, generator: torch.Generator, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """`n` directions drawn uniformly on the unit sphere of R^prod(shape), on the generator's device."""
    v = torch.randn((n, math.prod(shape)), generator=generator, device=generator.device, dtype=dtype)
    v = v / v.norm(dim=1, keepdim=True)
    return v.reshape((n, *shape))


def flat_norm(x: torch.Tensor) -> torch.Tensor:
    """L2 norm of each sample of a batch: (N, ...) -> (N,)."""
    return x.flatten(1).norm(dim=1)
