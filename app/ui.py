"""Small Streamlit helpers shared by the pages: error display and progress bars."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

import streamlit as st

from geometry import AtlasError

log = logging.getLogger("decision_atlas")
T = TypeVar("T")

# st.plotly_chart config for small figures: the toolbar would cover their titles.
NO_BAR = {"displayModeBar": False}


@contextlib.contextmanager
def user_errors(what: str = "computation") -> Iterator[None]:
    """Show AtlasError messages (bad input, broken model) as st.error and stop the page, never a traceback.

    Anything else is unexpected: it is logged with its traceback and shown as one line. For a part of a
    page that the rest does not depend on, use `section_errors`.
    """
    with section_errors(what) as failed:
        yield
    if failed:
        st.stop()


class _Failed:
    """Truthy once the section's error was shown (section_errors' `as` value)."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def __bool__(self) -> bool:
        return self.error is not None


@contextlib.contextmanager
def section_errors(what: str = "computation") -> Iterator[_Failed]:
    """Like `user_errors`, but the page goes on after the message: for an independent section (the rest
    of its `with` block is skipped, the code after it runs). `as failed`: truthy when it failed."""
    failed = _Failed()
    try:
        yield failed
    except AtlasError as error:
        failed.error = error
        st.error(str(error), icon=":material/error:")
    except MemoryError as error:
        failed.error = error
        st.error(f"Out of memory during the {what}: lower the resolution or the batch size.")
    except Exception as error:  # noqa: BLE001 - the app must stay usable whatever a model does
        if type(error).__name__ in ("StopException", "RerunException"):  # Streamlit's control flow
            raise
        failed.error = error
        log.exception("unexpected error in %s", what)
        st.error(f"The {what} failed: {type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}")


def progress_bar(text: str) -> tuple[Callable[[float], None], Callable[[], object]]:
    """A (callback, done) pair: callback(fraction) moves an st.progress bar; done() removes it.

    Pass the callback only to functions that run in the script, never inside st.cache_data (a bar created
    outside a cached function cannot be replayed on a cache hit): cache such work with `cached_with_progress`.
    """
    bar = st.progress(0.0, text=text)

    def update(fraction: float) -> None:
        bar.progress(min(1.0, max(0.0, float(fraction))), text=text)

    return update, bar.empty


class _Miss(Exception):
    """Raised by the probe that asks a cache whether it holds a value (exceptions are never cached)."""


def _probe():
    raise _Miss


def cached_with_progress(*, resource: bool = False, show_spinner: bool | str = False, **cache_options
                         ) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """st.cache_data (st.cache_resource if `resource`) for a function with a `_progress` callback, keeping
    its progress bar live, through public API only.

    The function itself runs outside the cache, in the script, so its callback may draw into an element
    created before the call (a bar drawn from inside a cached function could not be replayed on a hit);
    the cache only stores and returns the result. Arguments are keyed as by st.cache_data (those named
    with a leading "_" are not hashed). A call first asks the cache (a probe that raises on a miss, so a
    miss stores nothing), then on a miss runs the function (under st.spinner when `show_spinner` is a
    text) and stores its result.
    """
    cache = st.cache_resource if resource else st.cache_data

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(fn)
        source = hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()  # a code change is a new cache

        def store(source: str, key: dict, _value: Callable[[], T]) -> T:
            return _value()

        # Streamlit names a cache by module, qualified name and source: one store per wrapped function.
        store.__module__, store.__qualname__ = fn.__module__, f"{fn.__qualname__}.<cache>"
        cached = cache(show_spinner=False, **cache_options)(store)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs) -> T:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = {k: v for k, v in bound.arguments.items() if not k.startswith("_")}
            try:
                return cached(source, key, _value=_probe)
            except _Miss:
                pass
            with st.spinner(show_spinner) if isinstance(show_spinner, str) else contextlib.nullcontext():
                value = fn(*args, **kwargs)
            return cached(source, key, _value=lambda: value)

        wrapper.clear = cached.clear  # type: ignore[attr-defined]
        return wrapper

    return decorate
