"""Cross-section figures built from hand-made results: traces, heatmap shape, marks, boundary contour."""

from __future__ import annotations

import numpy as np
import pytest

from app.figures.cross_section import CLICK_TRACE, class_colors, cross_section_figure, pixel_note, profile_figure
from geometry.cross_section import CrossSection
from geometry.planes import Plane
from geometry.profiles import Profile

NAMES = ("cat", "dog", "fox")


def _section(n: int = 21) -> CrossSection:
    """x's class 0 left of a = 0.5, class 1 right of it, class 2 in the top-right corner."""
    a = np.linspace(-1, 1, n)
    aa, bb = np.meshgrid(a, a)
    labels = np.where(aa < 0.5, 0, 1)
    labels[(aa > 0.7) & (bb > 0.7)] = 2
    plane = Plane(origin=np.zeros(4), u=np.eye(4)[0], v=np.eye(4)[1], kind="normal × random",
                  marks={"x": (0.0, 0.0), "boundary z": (0.5, 0.0), "x + r(x)": (0.51, 0.0)}, distance=0.5)
    g = (0.5 - aa).astype(np.float32)
    return CrossSection(plane=plane, a=a, b=a, labels=labels, confidence=np.full((n, n), 0.9, np.float32),
                        F=-g, G=g, evaluated=np.ones((n, n), bool), label_x=0, ref_class=1,
                        n_forward=n * n + 1,
                        dense_forward=n * n + 1, seconds=0.1, clip=True, clipped_fraction=0.0, method="dense")


def test_map_has_classes_boundary_marks_and_click_grid():
    cs = _section()
    fig = cross_section_figure(cs, NAMES, f_levels=2, click_points=10)
    kinds = [t.type for t in fig.data]
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.asarray(heat.z).shape == (21, 21)
    assert set(np.unique(heat.z)) == {0, 1, 2} and heat.text[0][0] == "cat"
    contours = [t for t in fig.data if t.type == "contour"]
    assert contours[0].contours.start == 0 == contours[0].contours.end  # the G = 0 boundary
    assert len(contours) == 2 and "F = f_dog − f_cat" in contours[1].name
    legend = {t.name for t in fig.data if t.type == "scatter" and t.showlegend is not False}
    assert {"cat (x)", "dog", "fox", "x", "boundary z", "x + r(x)"} <= legend
    click = next(t for t in fig.data if t.name == CLICK_TRACE)
    assert len(click.x) == 100 and kinds.count("contour") == 2
    assert fig.layout.yaxis.scaleanchor == "x"


def test_no_contour_when_boundary_not_in_view_and_no_click_grid():
    cs = _section()
    flat = CrossSection(**{**cs.__dict__, "G": np.ones_like(cs.G), "labels": np.zeros_like(cs.labels)})
    fig = cross_section_figure(flat, NAMES, clickable=False)
    assert not any(t.type == "contour" for t in fig.data)
    assert not any(t.name == CLICK_TRACE for t in fig.data)


def test_class_colors_are_distinct_and_stable():
    colors = class_colors([5, 1, 5, 900])
    assert list(colors) == [1, 5, 900] and len(set(colors.values())) == 3


def test_profile_figure_marks_the_distance():
    t = np.linspace(-1, 1, 11)
    prof = Profile(axis="u", t=t, labels=(t > 0.5).astype(int), confidence=np.ones(11), F=t - 0.5, G=0.5 - t,
                   label_x=0, ref_class=1, n_forward=12)
    fig = profile_figure([prof, Profile(**{**prof.__dict__, "axis": "v"})], NAMES, distance=0.5)
    assert [tr.name for tr in fig.data] == ["along u", "along v"]
    assert fig.layout.shapes[-1].x0 == pytest.approx(0.5)
    assert fig.layout.yaxis.title.text == "F = f_dog − f_cat"


def test_title_says_whether_the_plane_is_true_or_clipped():
    cs = _section()
    inside = CrossSection(**{**cs.__dict__, "clip": False, "outside_fraction": 0.0})
    raw = CrossSection(**{**cs.__dict__, "clip": False, "outside_fraction": 0.87})
    bent = CrossSection(**{**cs.__dict__, "clip": True, "clipped_fraction": 0.87, "outside_fraction": 0.87})
    assert pixel_note(inside) == ""
    assert cross_section_figure(inside, NAMES, title="T").layout.title.text == "T"
    title = cross_section_figure(raw, NAMES, title="T").layout.title.text
    assert title.startswith("T<br>") and "true plane: 87% of the points" in title
    assert "clipped to the pixel range: 87%" in cross_section_figure(bent, NAMES).layout.title.text
