"""app/estimates.py and app/heavy.py: large-input defaults, time estimates, and the Cancel flow of a heavy
computation (AppTest: a run stopped mid-way leaves the estimate and the Cancel button on screen, as a real
interrupted run does)."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from app import estimates
from geometry.analytic import linear_classifier


def _linear(shape: tuple[int, ...], classes: int = 3):
    d = int(torch.tensor(shape).prod())
    return linear_classifier(torch.eye(classes, d), torch.zeros(classes), shape)


def test_large_means_above_the_full_solver_limit():
    assert not estimates.is_large(_linear((1, 28, 28)))
    assert estimates.is_large(_linear((3, 48, 48)))


def test_estimates_scale_with_the_work():
    model = _linear((3, 48, 48), classes=20)
    base = estimates.estimate("detection", model, 0.1, classes=3, directions=8)
    assert estimates.estimate("detection", model, 0.2, classes=3, directions=8) == pytest.approx(2 * base)
    more = estimates.estimate("detection", model, 0.1, classes=6, directions=8)
    fixed = estimates.estimate("detection", model, 0.1, classes=3, directions=0)  # the attacks alone
    assert more - fixed == pytest.approx(2 * (base - fixed))
    assert estimates.estimate("curvature", model, 0.1, k=3, max_steps=estimates.lanczos_steps(3)) < \
        estimates.estimate("curvature", model, 0.1, k=10)
    assert estimates.estimate("cross-sections", model, 0.1, resolution=80) > \
        estimates.estimate("cross-sections", model, 0.1, resolution=40)


def test_describe_says_seconds_or_minutes_and_the_unit():
    assert estimates.describe(12.4, 0.15) == "about 12 s (estimated from one timed forward/backward pass: 150 ms)"
    assert estimates.describe(600, 0.15).startswith("about 10 min")


def test_unit_seconds_times_one_pass():
    assert 0 < estimates.unit_seconds(_linear((3, 48, 48))) < 60


def _page():
    from types import SimpleNamespace

    import streamlit as st
    import torch

    from app import heavy
    from geometry.analytic import linear_classifier

    shape = tuple(st.session_state.get("shape", (3, 48, 48)))
    d = int(torch.tensor(shape).prod())
    model = linear_classifier(torch.eye(3, d), torch.zeros(3), shape)
    sel = SimpleNamespace(model=model, model_key=f"linear{shape}", image_key="img")
    calls = st.session_state.setdefault("calls", [])

    def work(progress):
        calls.append(1)
        progress(0.5)
        if st.session_state.get("halt"):
            st.stop()  # stands for a run interrupted mid-way (the page stays as it was at that moment)
        return 42

    out = heavy.run(sel, "detection", "Scoring…", work, classes=2, directions=2)
    st.markdown(f"result {out}")


def test_cancel_stops_and_remembers_until_asked_again():
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["halt"] = True
    at.run()
    assert not at.exception
    bar = at.get("progress")[0]
    assert "Scoring…" in bar.proto.text and "estimated from one timed forward/backward pass" in bar.proto.text
    at.session_state["halt"] = False
    at.button(key="heavy_cancel_detection").click().run()  # the click reruns the page: nothing recomputed
    assert not at.exception and at.session_state["calls"] == [1]
    assert any("Cancelled" in w.value for w in at.warning)
    assert not any("result" in m.value for m in at.markdown)
    at.run()  # any other rerun keeps the cancellation for this model, image and settings
    assert at.session_state["calls"] == [1]
    at.button(key="heavy_resume_detection").click().run()
    assert at.session_state["calls"] == [1, 1] and any("result 42" in m.value for m in at.markdown)
    assert not at.warning and not at.button  # done: the Cancel button is gone


def test_small_inputs_run_without_estimate_or_cancel():
    at = AppTest.from_function(_page, default_timeout=60)
    at.session_state["shape"] = (1, 28, 28)
    at.session_state["halt"] = True
    at.run()
    assert not at.exception and not at.button
    assert at.get("progress")[0].proto.text == "Scoring…"
