"""The Curvature view's "Over the sample set" tab: the dataset-level profile on a button, with its band."""

from __future__ import annotations

import numpy as np

from tests.app_util import chart, open_page


def test_dataset_profile_on_the_button():
    page = open_page("curvature", timeout=300)
    page.segmented_control(key="curv_view").set_value("Over the sample set").run()
    assert not any("curv_dataset_fig" in (c.proto.id or "") for c in page.get("plotly_chart"))  # not before
    page.slider(key="curv_dataset_n").set_value(5)
    next(b for b in page.button if "over the sample set" in b.label).click()
    page.run()
    assert not page.exception and not page.error, [e.value for e in page.error]
    fig = chart(page, "curv_dataset_fig")
    band, median = fig["data"][0], fig["data"][1]
    assert band["fill"] == "toself" and "median (N = 5)" in median["name"]
    lower_upper = np.asarray(band["y"], dtype=float)
    half = len(lower_upper) // 2
    upper, lower = lower_upper[:half], lower_upper[half:][::-1]
    med = np.asarray(median["y"], dtype=float)
    assert np.all(lower <= med + 1e-12) and np.all(med <= upper + 1e-12)  # the band holds the median
    assert any("5 images (0 skipped" in c.value for c in page.caption)
