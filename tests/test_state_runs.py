"""app.state's run-state helper: a request and a remembered result count only for the run key they name."""

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from app import state

    key = (st.session_state.get("model", "a"), st.session_state.get("n", 1))
    pressed = st.session_state.pop("press", False)
    st.text(f"requested={state.requested('run', key, pressed)}")
    if pressed:
        state.remember("result", key, f"value for {key}")
    st.text(f"recalled={state.recall('result', key, 'none')}")


def _texts(at):
    return [t.value for t in at.text]


def test_requests_and_results_follow_their_run_key():
    at = AppTest.from_function(_script).run()
    assert _texts(at) == ["requested=False", "recalled=none"]
    at.session_state["press"] = True
    assert _texts(at.run()) == ["requested=True", "recalled=value for ('a', 1)"]
    assert _texts(at.run()) == ["requested=True", "recalled=value for ('a', 1)"]  # a plain rerun keeps it
    at.session_state["n"] = 2
    assert _texts(at.run()) == ["requested=False", "recalled=none"]  # other settings: press again
    at.session_state["n"] = 1
    assert _texts(at.run()) == ["requested=True", "recalled=value for ('a', 1)"]
