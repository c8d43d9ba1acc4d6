"""AppTest helpers shared by the page tests: open a page, read its metrics and its figures."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.plotly_util import decode

ENTRY = str(Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py")


def open_page(page: str | None = None, *, timeout: float = 180) -> AppTest:
    """The app on the embedded default, switched to app_pages/<page>.py (home when None), run once."""
    at = AppTest.from_file(ENTRY, default_timeout=timeout)
    at.run()
    if page is not None:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart(at: AppTest, key: str) -> dict:
    """The decoded figure of the st.plotly_chart whose key contains `key`."""
    return decode(json.loads(next(c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id).proto.spec))
