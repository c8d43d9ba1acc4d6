"""Figures of the connecting-paths view, built from hand-made results."""

from __future__ import annotations

import numpy as np
import pytest

from app.figures import paths as figs
from geometry.path_plane import PathPlane
from geometry.paths import ConnectingPath, PathConfig

NAMES = ("ring", "other")


def _path(inside_all: bool = True) -> ConnectingPath:
    s = np.linspace(0, 1, 11)
    inside = np.ones(11, bool) if inside_all else np.r_[np.ones(5, bool), False, np.ones(5, bool)]
    line_inside = np.r_[np.ones(4, bool), np.zeros(3, bool), np.ones(4, bool)]
    anchors = np.array([[1.5, 0.0], [0.0, 1.2], [-1.5, 0.0]])
    return ConnectingPath(anchors=anchors, label=0, connected=inside_all, straight_inside=False, n_segments=2,
                          length_ratio=1.27, depth=1, path_s=s, path_prob=np.full(11, 0.9),
                          path_inside=inside,
                          line_t=s, line_prob=np.where(line_inside, 0.8, 0.2), line_inside=line_inside,
                          check_spacing=0.05, n_pushed=1, push_failures=0, config=PathConfig())


def test_probability_figure_marks_points_outside():
    fig = figs.probability_figure(_path(), NAMES)
    names = [t.name for t in fig.data]
    assert names[:2] == ["straight line", "found path"]
    outside = next(t for t in fig.data if t.name.startswith("line point"))
    assert len(outside.x) == 3 and np.allclose(outside.y, 0.2)
    assert not any(t.name.startswith("path point") for t in fig.data)  # a connected path has none
    fig_bad = figs.probability_figure(_path(inside_all=False), NAMES)
    assert len(next(t for t in fig_bad.data if t.name.startswith("path point")).x) == 1


def test_strip_figure_has_one_image_per_frame():
    frames = np.random.default_rng(0).random((4, 1, 8, 8))
    fig = figs.strip_figure(frames, np.linspace(0, 1, 4), np.array([1.0, 0.9, 0.8, 0.7]))
    assert len(fig.data) == 4 and fig.layout.annotations[3].text == "s=1.00<br>p=0.70"
    with pytest.raises(ValueError, match="frames"):
        figs.strip_figure(frames[0], np.zeros(1))


def test_plane_figure_draws_region_line_and_path():
    u = np.linspace(-2, 2, 5)
    inside = np.zeros((5, 5), bool)
    inside[:, 0] = True
    uv = np.array([[0.0, 0.0], [1.5, 1.0], [3.0, 0.0]])
    plane = PathPlane(u=u, v=u, inside=inside, prob=inside * 1.0, anchors_uv=uv, off_plane=np.zeros(3),
                      label=0)
    fig = figs.plane_figure(plane, NAMES)
    assert fig.data[0].type == "heatmap" and np.array_equal(np.asarray(fig.data[0].z), inside.astype(float))
    path = next(t for t in fig.data if t.name == "path (projected)")
    assert np.allclose(path.x, uv[:, 0]) and np.allclose(path.y, uv[:, 1])
    line = next(t for t in fig.data if t.name == "straight line")
    assert list(line.x) == [0.0, 3.0]


def test_datamap_figure_one_trace_per_class_with_indices():
    emb = np.arange(12, dtype=float).reshape(6, 2)
    pred = np.array([0, 1, 0, 1, 1, 0])
    fig = figs.datamap_figure(emb, pred, NAMES, marks={"x1": emb[:1]}, path_xy=emb[:3])
    ring = next(t for t in fig.data if t.name == "ring")
    assert list(ring.customdata) == [0, 2, 5]  # sample indices for picking
    assert any(t.name == "path" for t in fig.data) and any(t.name == "x1" for t in fig.data)
