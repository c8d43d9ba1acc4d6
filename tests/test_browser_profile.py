"""bench/browser_profile.py's pure helpers: the profiler's samples split by script, threads by bucket, tables."""

from __future__ import annotations

import collections

import pytest

from bench import browser_profile as bp


def _profile() -> dict:
    frames = {1: ("", "(root)"), 2: ("", "(idle)"), 3: ("http://h/static/js/PlotlyChart.D9Z0.js", "T"),
              4: ("http://h/static/js/react-dom.Dz.js", "Ul"), 5: ("", "(garbage collector)")}
    nodes = [{"id": i, "callFrame": {"url": u, "functionName": f}} for i, (u, f) in frames.items()]
    # sample k lasts until sample k+1: deltas[k+1] µs; the last one has no successor and counts 0
    return {"nodes": nodes, "samples": [2, 3, 3, 4, 5, 2], "timeDeltas": [0, 1000, 2000, 500, 250, 4000]}


def test_js_split_counts_each_sample_until_the_next_and_skips_idle():
    split = bp.js_split(_profile())
    assert split["Plotly"] == pytest.approx((2000 + 500) / 1e6)
    assert split["Streamlit"] == pytest.approx(250 / 1e6)
    assert split["native"] == pytest.approx(4000 / 1e6)
    assert set(split) == set(bp.SCRIPT_KINDS)


def test_script_kind_and_thread_bucket():
    assert bp.script_kind("https://x/static/js/PlotlyChart.abc.js", "f") == "Plotly"
    assert bp.script_kind("https://x/static/js/index.abc.js", "f") == "Streamlit"
    assert bp.script_kind("", "getBoundingClientRect") == "native"
    assert bp.script_kind("", "(idle)") is None
    assert bp.thread_bucket("renderer", "chromium") == "renderer main thread"
    assert bp.thread_bucket("renderer", "ThreadPoolForeg12") == "renderer pool (raster, compile)"
    assert bp.thread_bucket("gpu-process", "VizCompositorTh") == "GPU process (compositing)"
    assert bp.thread_bucket("browser", "chromium") == "browser and other processes"


def test_tables_take_medians_over_walks():
    def walk(main: float) -> dict:
        return {"load": collections.Counter({"renderer main thread": 1.0}),
                "steps": collections.Counter({"renderer main thread": main, "GPU process (compositing)": 0.5})}
    steps = [dict.fromkeys(bp.SCRIPT_KINDS, 0.1) for _ in range(bp.N_STEPS)]
    runs = {"app": {"timed": [walk(3.0), walk(5.0), walk(4.0)], "profiled": [steps, steps]},
            "no figures": {"timed": [walk(2.0)], "profiled": [steps]}}
    threads = bp.threads_table(runs)
    assert "| renderer main thread | 1.00 | 4.00 | 1.00 | 2.00 |" in threads
    assert "| all | 1.00 | 4.50 | 1.00 | 2.50 |" in threads
    js = bp.js_table(runs)
    assert js.splitlines()[0].count("Plotly") == 2
    assert "| 8 steps | 0.80 | 0.80 | 0.80 | 0.80 | 0.80 | 0.80 |" in js


def test_only_image_figures_count_as_images_for_the_charts_run():
    """bench/classroom_no_figures.py "charts": digits and per-class bars are left out, maps and curves kept."""
    import numpy as np
    import plotly.graph_objects as go

    from bench.classroom_no_figures import is_image_figure
    digit = go.Heatmap(z=np.zeros((28, 28)))
    assert is_image_figure(go.Figure([digit, go.Bar(y=[1, 2])]))
    assert not is_image_figure(go.Figure([go.Heatmap(z=np.zeros((200, 200)))]))  # a cross-section map
    assert not is_image_figure(go.Figure([digit, go.Scatter(y=[1, 2])]))
    assert not is_image_figure(go.Figure()) and not is_image_figure(None)
