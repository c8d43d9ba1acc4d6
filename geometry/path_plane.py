"""The plane of a connecting path (docs/paper_notes.md §3): the class map of the plane through x1, x2 and the
path's farthest anchor, with the anchors projected onto it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import Classifier
from .paths import ConnectingPath, _np


@dataclass(frozen=True)
class PathPlane:
    """The plane through x1, x2 and the farthest anchor: its class map and the path projected on it."""

    u: np.ndarray  # (G,) grid coordinates along e1 = (x2 - x1)/‖x2 - x1‖, origin x1
    v: np.ndarray  # (H,) grid coordinates along e2 (towards the farthest anchor, orthogonalised)
    inside: np.ndarray  # (H, G) bool: label k at the grid point
    prob: np.ndarray  # (H, G) probability of class k
    anchors_uv: np.ndarray  # (A, 2) anchors projected onto the plane
    off_plane: np.ndarray  # (A,) distance of each anchor from the plane (0 for x1, x2, the farthest)
    label: int


def path_plane(model: Classifier, path: ConnectingPath, *, resolution: int = 41, margin: float = 0.25,
               batch_size: int | None = None) -> PathPlane:
    """Class map of the plane through x1, x2 and the anchor farthest from the straight line.

    Args:
        path: a ConnectingPath. resolution: grid points per axis. margin: extra extent, as a fraction.
    Returns:
        PathPlane; a straight path (no anchor off the line) gets a random second direction (seed 0).
    """
    flat = torch.as_tensor(path.anchors.reshape(len(path.anchors), -1), dtype=torch.float64)
    x1, d = flat[0], flat[-1] - flat[0]
    e1 = d / d.norm()
    rel = flat - x1
    perp = rel - (rel @ e1)[:, None] * e1  # (A, D) components off the straight line
    far = int(perp.norm(dim=1).argmax())
    e2 = perp[far]
    if e2.norm() < 1e-9 * d.norm():
        e2 = torch.randn(d.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        e2 = e2 - (e2 @ e1) * e1
    e2 = e2 / e2.norm()
    uv = torch.stack([rel @ e1, rel @ e2], 1)  # (A, 2)
    off = (rel - uv[:, :1] * e1 - uv[:, 1:] * e2).norm(dim=1)
    lo, hi = uv.min(0).values, uv.max(0).values
    pad = torch.stack([margin * (hi[0] - lo[0]), torch.maximum(margin * (hi[1] - lo[1]), margin * d.norm())])
    u = torch.linspace(float(lo[0] - pad[0]), float(hi[0] + pad[0]), resolution)
    v = torch.linspace(float(lo[1] - pad[1]), float(hi[1] + pad[1]), resolution)
    vv, uu = torch.meshgrid(v.double(), u.double(), indexing="ij")  # (H, G)
    pts = x1 + uu.reshape(-1, 1) * e1 + vv.reshape(-1, 1) * e2  # (H*G, D)
    pts = model.clip(pts.reshape((-1, *model.input_shape)).to(model.dtype))
    probs = model.logits(pts, batch_size=batch_size).softmax(dim=1)
    shape = (resolution, resolution)
    return PathPlane(u=u.numpy(), v=v.numpy(), inside=_np(probs.argmax(1) == path.label).reshape(shape),
                     prob=_np(probs[:, path.label]).reshape(shape), anchors_uv=uv.numpy(),
                     off_plane=off.numpy(), label=path.label)
