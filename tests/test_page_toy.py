"""AppTest of the 2-D toy page: it renders with the boundary contour and marks, the DeepFool arrow ends where F ≈ 0,
the default path is connected where the straight segment is not, changing x recomputes, bad input shows a message.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app.cache.toy import DEFAULT_X
from geometry.loading import load_embedded
from tests.app_util import chart, metrics, open_page


@pytest.fixture(scope="module")
def toy():
    return load_embedded("toy-moons-mlp")


@pytest.fixture
def page() -> AppTest:
    return open_page("toy", timeout=60)


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name", "").startswith(name))


def _decision(model, xy) -> float:
    logits = model.logits(torch.tensor([xy], dtype=model.dtype))
    return float(logits[0, 1] - logits[0, 0])


def _arrow_end(page: AppTest) -> tuple[list[float], list[float]]:
    arrow = _trace(chart(page, "toy_point_chart"), "r(x)")
    return [float(arrow["x"][0]), float(arrow["y"][0])], [float(arrow["x"][1]), float(arrow["y"][1])]


def test_page_renders_boundary_arrow_and_path(page, toy):
    assert not page.error
    plane = chart(page, "toy_plane")
    contour = _trace(plane, "decision boundary")
    assert contour["type"] == "contour" and contour["contours"]["start"] == 0 == contour["contours"]["end"]
    assert any(t.get("name", "").startswith("training data") for t in plane["data"])
    x, z = _arrow_end(page)
    np.testing.assert_allclose(x, DEFAULT_X)
    assert abs(_decision(toy, z)) < 1e-3  # the arrow ends on the boundary F = 0 ...
    assert abs(_decision(toy, x)) > 1  # ... and starts well inside a region
    m = metrics(page)
    assert m["curvatures in 2-D"] == "1" and float(m["curvature κ at z"]) > 0
    assert m["connected"] == "yes" and int(m["segments"]) >= 2 and m["straight segment inside"] == "no"
    path = _trace(chart(page, "toy_path_chart"), "connecting path")
    assert len(path["x"]) == int(m["segments"]) + 1


def test_changing_x_recomputes(page, toy):
    before = metrics(page)["curvature κ at z"]
    page.number_input(key="toy_x1").set_value(1.0).run()
    assert not page.exception and not page.error
    x, z = _arrow_end(page)
    np.testing.assert_allclose(x, [0.0, 1.0])
    assert abs(_decision(toy, z)) < 1e-3
    after = metrics(page)["curvature κ at z"]
    assert after != before and float(after) < 0  # above the lower moon's tip the boundary bends away from x
    mark = _trace(chart(page, "toy_point_chart"), "x")
    assert [mark["x"][0], mark["y"][0]] == [0.0, 1.0]


def test_path_ends_in_different_classes_show_a_message(page):
    page.number_input(key="toy_b0").set_value(0.5)
    page.number_input(key="toy_b1").set_value(0.0).run()  # inside the lower moon's tip
    assert not page.exception
    assert page.error and "classified" in page.error[0].value
    assert "connected" not in metrics(page)
    assert _arrow_end(page)  # the rest of the page still renders


def test_zoom_toggle(page):
    near = chart(page, "toy_point_chart")["layout"]["xaxis"]["range"]
    assert near[1] - near[0] < 4  # zoomed around x, z and the osculating circle
    page.button_group(key="toy_zoom").set_value("whole plane").run()
    assert not page.exception
    assert chart(page, "toy_point_chart")["layout"]["xaxis"]["range"] == [-3, 3]
