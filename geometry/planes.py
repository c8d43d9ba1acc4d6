"""2-D planes through input space for boundary cross-sections (docs/paper_notes.md §4).

A plane is x0 + a·u + b·v with orthonormal u, v. The constructions are the paper's: random × random,
boundary normal (the DeepFool direction r(x)/‖r(x)‖) × random, normal × a principal-curvature direction,
plus the plane through three images and the plane through x and two chosen points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .batching import make_generator
from .deepfool import BoundaryPoint, deepfool
from .errors import AtlasError
from .model import Classifier

EXTENT_PER_DISTANCE = 3.0  # default half-width in units of ‖r(x)‖: the boundary sits at 1/3 of the way out
MAX_EXTENT_PER_DISTANCE = 10.0  # visible_extent never zooms out further: z stays a tenth of the way out
_DEGENERATE = 1e-9


@dataclass(frozen=True)
class Plane:
    """The plane origin + a·u + b·v, with named points marked in plane coordinates (a, b).

    Attributes:
        origin: (*S) the point at (0, 0) (the image x, or x1 for the three-point plane).
        u, v: (*S) orthonormal directions (float64 numpy).
        kind: the construction, e.g. "normal × random". seeds: seeds of the random directions, for reproducible exports.
        marks: name -> (a, b); e.g. "x" at (0, 0) and "x + r(x)" at (‖r‖, 0).
        center: (a, b) the default centre of a grid. default_extent: suggested half-width (L2 units).
        distance: ‖r(x)‖ from DeepFool when computed (NaN otherwise). note: caveats for the UI.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    kind: str
    marks: dict[str, tuple[float, float]] = field(default_factory=dict)
    center: tuple[float, float] = (0.0, 0.0)
    default_extent: float = 1.0
    distance: float = float("nan")
    seeds: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def coordinates(self, point: np.ndarray) -> tuple[float, float]:
        """(a, b) of the orthogonal projection of a point onto the plane."""
        d = np.asarray(point, dtype=np.float64).ravel() - self.origin.ravel()
        return float(d @ self.u.ravel()), float(d @ self.v.ravel())

    def point(self, a: float, b: float) -> np.ndarray:
        """origin + a·u + b·v. (*S)"""
        return self.origin + a * self.u + b * self.v

    def config(self) -> dict:
        """A JSON-ready description (directions omitted: they are reproducible from the seeds)."""
        return {"kind": self.kind, "seeds": dict(self.seeds),
                "marks": {k: list(v) for k, v in self.marks.items()},
                "center": list(self.center), "default_extent": self.default_extent,
                "distance": None if np.isnan(self.distance) else self.distance, "note": self.note}


def visible_extent(distance: float, curvature: float) -> float:
    """The default half-width e of a plane's grid, so that both x, z and the bend of the boundary show.

    Rule: e = min(max(3·‖r‖, 1/|κ|), 10·‖r‖), ‖r‖ the distance from x to the boundary, κ the boundary curve's
    curvature in the plane. With e ≥ 1/|κ| the curve departs from its tangent at z by |κ|e²/2 ≥ e/2 at the
    edge of the view, a quarter of the view's height; e ≥ 3‖r‖ keeps x and z well inside the view, and
    e ≤ 10‖r‖ keeps them apart. A flatter boundary (|κ| < 1/(10‖r‖)) is shown at 10‖r‖, where it looks flat.
    """
    if not np.isfinite(distance) or distance <= 0:
        raise AtlasError(f"the distance to the boundary must be positive, got {distance}")
    bend = 1 / abs(curvature) if np.isfinite(curvature) and curvature != 0 else np.inf
    return float(min(max(EXTENT_PER_DISTANCE * distance, bend), MAX_EXTENT_PER_DISTANCE * distance))


def orthonormalize(d1: np.ndarray, d2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gram-Schmidt: u = d1/‖d1‖, v = the part of d2 orthogonal to u, normalised.

    Raises AtlasError when d1 is zero or d2 is (nearly) parallel to d1.
    """
    d1 = np.asarray(d1, dtype=np.float64)
    d2 = np.asarray(d2, dtype=np.float64)
    n1 = np.linalg.norm(d1)
    if n1 <= _DEGENERATE:
        raise AtlasError("the first direction of the plane is zero: pick two distinct points/directions")
    u = d1 / n1
    w = d2 - (d2.ravel() @ u.ravel()) * u
    w = w - (w.ravel() @ u.ravel()) * u  # second pass: orthogonality to machine precision
    n2 = np.linalg.norm(w)
    if n2 <= _DEGENERATE * max(1.0, float(np.linalg.norm(d2))):
        raise AtlasError("the two directions are parallel (the points are collinear): they span no plane")
    return u, w / n2


def _random_direction(shape: tuple[int, ...], seed: int) -> np.ndarray:
    gen = make_generator(seed, "cpu")
    return torch.randn(shape, generator=gen, dtype=torch.float64).numpy()


def _image(model: Classifier, x: torch.Tensor | np.ndarray) -> np.ndarray:
    """One input (*S) or a batch of one, checked against the model, as float64 numpy."""
    x = torch.as_tensor(x)
    if tuple(x.shape) == model.input_shape:
        x = x[None]
    return model.prepare(x)[0].detach().cpu().double().numpy()


def _boundary(model: Classifier, x: np.ndarray, boundary: BoundaryPoint | None) -> BoundaryPoint:
    if boundary is None:
        boundary = deepfool(model, torch.from_numpy(x)[None])
    if not bool(boundary.success[0]):
        raise AtlasError("DeepFool found no label change for this image, so there is no boundary normal: "
                         "use a random plane or raise DeepFool's max_iter")
    return boundary


def random_plane(model: Classifier, x: torch.Tensor | np.ndarray, *, seed: int = 0,
                 boundary: BoundaryPoint | None = None, extent: float | None = None) -> Plane:
    """The plane through x spanned by two random directions (seeds `seed` and `seed + 1`).

    DeepFool (or the given `boundary`) only sets the default extent, 3·‖r(x)‖; x + r(x) is not in this
    plane. Given `extent`, DeepFool is skipped and that becomes the default extent.
    """
    x0 = _image(model, x)
    u, v = orthonormalize(_random_direction(x0.shape, seed), _random_direction(x0.shape, seed + 1))
    dist = _distance(model, x0, boundary) if extent is None else float("nan")
    return Plane(origin=x0, u=u, v=v, kind="random × random", marks={"x": (0.0, 0.0)},
                 default_extent=EXTENT_PER_DISTANCE * dist if extent is None else float(extent),
                 distance=dist, seeds={"u": seed, "v": seed + 1})


def _distance(model: Classifier, x0: np.ndarray, boundary: BoundaryPoint | None) -> float:
    try:
        bp = _boundary(model, x0, boundary)
    except AtlasError:
        return float(np.linalg.norm(x0)) / 10 or 1.0  # no boundary found: a tenth of the image norm
    return float(bp.distance[0])


def normal_plane(model: Classifier, x: torch.Tensor | np.ndarray, *, direction: np.ndarray | None = None,
                 seed: int = 0, boundary: BoundaryPoint | None = None, kind: str | None = None) -> Plane:
    """The plane through x spanned by the boundary normal r(x)/‖r(x)‖ and a second direction.

    Args:
        x: (*S) or (1, *S) the image. direction: (*S) second direction, e.g. a principal-curvature
            direction at the boundary point (it is orthogonalised against the normal); None: random
            (seed `seed`). boundary: a precomputed DeepFool result for x (else DeepFool runs here).
        kind: label of the plane (default "normal × random" / "normal × curvature").
    Returns:
        Plane with u = r(x)/‖r‖, marks "x" at (0, 0), "boundary z" at (‖z−x‖, 0) and "x + r(x)" at (‖r‖, 0).
    """
    x0 = _image(model, x)
    bp = _boundary(model, x0, boundary)
    z = bp.boundary[0].detach().cpu().double().numpy()
    adv = bp.adversarial[0].detach().cpu().double().numpy()
    second = _random_direction(x0.shape, seed) if direction is None else np.asarray(direction, np.float64)
    if second.shape != x0.shape:
        raise AtlasError(f"the second direction must have the image's shape {x0.shape}, got {second.shape}")
    u, v = orthonormalize(adv - x0, second)  # z and x + r lie on the ray from x along r(x)
    dist = float(np.linalg.norm(z - x0))
    marks = {"x": (0.0, 0.0), "boundary z": (dist, 0.0), "x + r(x)": (float(np.linalg.norm(adv - x0)), 0.0)}
    label = kind or ("normal × random" if direction is None else "normal × curvature")
    return Plane(origin=x0, u=u, v=v, kind=label, marks=marks, default_extent=EXTENT_PER_DISTANCE * dist,
                 distance=dist, seeds={} if direction is not None else {"v": seed})


def curvature_plane(model: Classifier, x: torch.Tensor | np.ndarray, direction: np.ndarray, *,
                    boundary: BoundaryPoint | None = None) -> Plane:
    """Normal × a given (principal-curvature) direction: the paper's plane where the boundary looks curved."""
    return normal_plane(model, x, direction=direction, boundary=boundary, kind="normal × curvature")


def three_point_plane(x1: np.ndarray, x2: np.ndarray, x3: np.ndarray, *,
                      names: tuple[str, str, str] = ("x1", "x2", "x3"), kind: str = "three points") -> Plane:
    """The plane through three points: u ∝ x2 − x1, v = Gram-Schmidt of x3 − x1; origin x1.

    Marks: x1 at (0, 0), x2 at (‖x2 − x1‖, 0), x3 at (⟨x3 − x1, u⟩, ⟨x3 − x1, v⟩). The default grid is
    centred on the triangle's bounding box with a margin of 25% of its size.
    """
    p1, p2, p3 = (np.asarray(p, dtype=np.float64) for p in (x1, x2, x3))
    if not p1.shape == p2.shape == p3.shape:
        raise AtlasError(f"the three points must have the same shape, got {p1.shape}, {p2.shape}, {p3.shape}")
    u, v = orthonormalize(p2 - p1, p3 - p1)
    pts = {names[0]: (0.0, 0.0), names[1]: (float(np.linalg.norm(p2 - p1)), 0.0),
           names[2]: (float((p3 - p1).ravel() @ u.ravel()), float((p3 - p1).ravel() @ v.ravel()))}
    ab = np.array(list(pts.values()))
    lo, hi = ab.min(axis=0), ab.max(axis=0)
    center = (float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2))
    extent = 0.625 * float((hi - lo).max())  # half of the bounding box plus 25%
    return Plane(origin=p1, u=u, v=v, kind=kind, marks=pts, center=center, default_extent=extent)


def points_plane(model: Classifier, x: torch.Tensor | np.ndarray, p: np.ndarray, q: np.ndarray) -> Plane:
    """The plane through the image x and two user-chosen points p, q (e.g. two other images)."""
    x0 = _image(model, x)
    return three_point_plane(x0, _image(model, p), _image(model, q), names=("x", "p", "q"), kind="two points")
