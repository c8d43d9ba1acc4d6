"""geometry.compare against two concentric spheres, whose distances and curvatures are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geometry import AtlasError
from geometry.analytic import sphere_classifier
from geometry.compare import check_comparable, compare_batch, compare_image, shared_plane, typical_image

D = 5


def _spheres(r_a: float = 1.0, r_b: float = 3.0):
    centre = torch.zeros(D)
    return sphere_classifier(centre, r_a), sphere_classifier(centre, r_b)


def test_distances_and_curvatures_match_the_spheres() -> None:
    a, b = _spheres()
    x = torch.zeros(D, dtype=torch.float64)
    x[0] = 0.5  # inside both: 0.5 from the small sphere's surface, 2.5 from the large one's
    c = compare_image(a, b, x)
    assert c.a.distance == pytest.approx(0.5, rel=1e-4)
    assert c.b.distance == pytest.approx(2.5, rel=1e-4)
    assert c.a.largest_curvature == pytest.approx(1.0, rel=1e-3)
    assert c.b.largest_curvature == pytest.approx(1 / 3, rel=1e-3)
    assert "5× as far" in c.summary() and "0.33×" in c.summary()


def test_shared_plane_takes_a_random_axis_when_the_normals_are_parallel() -> None:
    a, b = _spheres()
    x = np.zeros(D)
    x[0] = 0.5
    c = compare_image(a, b, torch.from_numpy(x))
    plane = shared_plane(c, x, seed=3)
    assert abs(float(plane.u @ plane.v)) < 1e-12 and plane.seeds == {"v": 3}
    assert plane.marks["x + r(x), sphere"][0] > 0  # both radial: on the u axis
    assert plane.default_extent == pytest.approx(3 * 2.5, rel=1e-4)


def test_models_with_different_inputs_are_refused() -> None:
    a = sphere_classifier(torch.zeros(D), 1.0)
    b = sphere_classifier(torch.zeros(D + 1), 1.0)
    with pytest.raises(AtlasError, match="same input"):
        check_comparable(a, b)


def test_batch_medians_follow_the_radii() -> None:
    a, b = _spheres(1.0, 2.0)
    x = torch.zeros(4, D, dtype=torch.float64)
    x[:, 1] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    res = compare_batch(a, b, x, detection=False)
    assert res.median_distance(0) == pytest.approx(1 - 0.25, rel=1e-3)
    assert res.median_distance(1) == pytest.approx(2 - 0.25, rel=1e-3)
    assert res.median_largest_curvature(1) == pytest.approx(0.5, rel=1e-3)
    assert "Over 4 images" in res.summary()


def test_typical_image_is_the_median_distance_among_images_both_get_right() -> None:
    a, b = _spheres(1.0, 2.0)
    x = torch.zeros(5, D, dtype=torch.float64)
    x[:, 0] = torch.tensor([0.9, 0.1, 0.5, 0.7, 1.5])  # distances to the unit sphere 0.1, 0.9, 0.5, 0.3, -
    labels = np.array([0, 0, 0, 1, 0])  # image 3 mislabelled; image 4 lies outside the small sphere
    # correct for both: images 0, 1, 2 (image 4 is "outside" for a); their distances 0.1, 0.9, 0.5: median 0.5
    assert typical_image(a, b, x, labels) == 2
