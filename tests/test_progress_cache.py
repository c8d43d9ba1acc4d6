"""app.ui.cached_with_progress: results cached by the keyed arguments, the function (and its progress
callback) run only on a miss, outside st.cache_data."""

from app import ui


def _counted():
    calls = []

    @ui.cached_with_progress(max_entries=4, show_spinner=False)
    def square(x: int, scale: int = 1, _note: str = "", _progress=None) -> int:
        calls.append((x, scale, _note))
        if _progress is not None:
            _progress(1.0)
        return x * x * scale

    return square, calls


def test_a_second_call_with_the_same_keys_is_served_from_the_cache_without_progress():
    square, calls = _counted()
    ticks = []
    assert square(3, _progress=ticks.append) == 9
    assert square(3, _note="ignored: not keyed", _progress=ticks.append) == 9
    assert calls == [(3, 1, "")] and ticks == [1.0]
    square.clear()


def test_keyed_arguments_and_defaults_name_the_entry():
    square, calls = _counted()
    assert square(2) == 4 and square(2, scale=3) == 12 and square(2, 1) == 4 and square(x=2, scale=3) == 12
    assert calls == [(2, 1, ""), (2, 3, "")]
    square.clear()


def test_an_error_is_not_cached():
    attempts = []

    @ui.cached_with_progress(show_spinner=False)
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise ValueError("first call fails")
        return x

    try:
        flaky(1)
    except ValueError:
        pass
    assert flaky(1) == 1 and attempts == [1, 1]
    flaky.clear()
