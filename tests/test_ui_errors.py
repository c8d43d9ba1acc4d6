"""app.ui: user_errors stops the page after its message; section_errors shows it and the page goes on."""

from streamlit.testing.v1 import AppTest


def _page():
    import streamlit as st

    from app import ui
    from geometry import AtlasError

    stopping = st.session_state.get("stopping", False)
    with (ui.user_errors if stopping else ui.section_errors)("first part") as failed:
        st.text("before")
        raise AtlasError("the model has no boundary here")
    st.text(f"after, failed={bool(failed) if failed is not None else None}")
    with ui.section_errors("second part") as ok:
        raise RuntimeError("line one\nline two")
    st.text(f"end, failed={bool(ok)}")


def test_a_failed_section_shows_its_message_and_the_rest_of_the_page_runs():
    at = AppTest.from_function(_page).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["the model has no boundary here",
                                           "The second part failed: RuntimeError: line one"]
    assert [t.value for t in at.text] == ["before", "after, failed=True", "end, failed=True"]


def test_user_errors_stops_the_page_after_its_message():
    at = AppTest.from_function(_page)
    at.session_state["stopping"] = True
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["the model has no boundary here"]
    assert [t.value for t in at.text] == ["before"]
