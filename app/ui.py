"""Small Streamlit helpers shared by the pages: error display and progress bars."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import streamlit as st

from geometry import AtlasError

log = logging.getLogger("decision_atlas")

# st.plotly_chart config for small figures: the toolbar would cover their titles.
NO_BAR = {"displayModeBar": False}


@contextlib.contextmanager
def user_errors(what: str = "computation") -> Iterator[None]:
    """Show AtlasError messages (bad input, broken model) as st.error and stop the page, never a traceback.

    Anything else is unexpected: it is logged with its traceback and shown as one line.
    """
    try:
        yield
    except AtlasError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    except MemoryError:
        st.error(f"Out of memory during the {what}: lower the resolution or the batch size.")
        st.stop()
    except Exception as error:  # noqa: BLE001 - the app must stay usable whatever a model does
        if type(error).__name__ in ("StopException", "RerunException"):  # Streamlit's control flow
            raise
        log.exception("unexpected error in %s", what)
        st.error(f"The {what} failed: {type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}")
        st.stop()


def progress_bar(text: str) -> tuple[Callable[[float], None], Callable[[], object]]:
    """A (callback, done) pair: callback(fraction) moves an st.progress bar; done() removes it.

    The callback may be passed into st.cache_data functions: its updates are drawn live but kept out of
    the cache's replay record, since a bar created outside the function cannot be replayed on a cache hit
    (CacheReplayClosureError).
    """
    bar = st.progress(0.0, text=text)

    def update(fraction: float) -> None:
        with _unrecorded():
            bar.progress(min(1.0, max(0.0, float(fraction))), text=text)

    return update, bar.empty


@contextlib.contextmanager
def _unrecorded() -> Iterator[None]:
    try:  # a Streamlit internal: if it moves, progress is still drawn, only recorded as before
        from streamlit.runtime.caching.cached_message_replay import in_cached_function
    except ImportError:
        yield
        return
    token = in_cached_function.set(False)
    try:
        yield
    finally:
        in_cached_function.reset(token)
