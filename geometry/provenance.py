"""Provenance for exports: content hashes of the model and image, the device and the library versions, so a
result can be traced to exactly what produced it and re-run from its config.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata

import numpy as np
import torch

from .model import Classifier


def model_fingerprint(model: Classifier) -> str:
    """SHA-256 (first 16 hex digits) over the names, dtypes, shapes and raw bytes of parameters and buffers."""
    h = hashlib.sha256()
    for name, t in sorted(model.module.state_dict().items()):
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def array_fingerprint(a: np.ndarray | torch.Tensor) -> str:
    """SHA-256 (first 16 hex digits) of an array's float32 values and shape."""
    arr = np.ascontiguousarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a, dtype=np.float32)
    return hashlib.sha256(arr.tobytes() + str(arr.shape).encode()).hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance(model: Classifier, *, model_sha256: str | None = None, image: np.ndarray | None = None) -> dict:
    """What produced a result: model name and hash, image hash, device and versions (for JSON exports)."""
    out = {
        "model": model.name,
        "model_sha256": model_sha256 or model_fingerprint(model),
        "device": str(model.device),
        "dtype": str(model.dtype).removeprefix("torch."),
        "versions": {p: _version(p) for p in ("decision-atlas", "torch", "numpy")},
        "python": platform.python_version(),
    }
    if image is not None:
        out["image_sha256"] = array_fingerprint(image)
    return out
