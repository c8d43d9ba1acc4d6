"""Read Plotly figures back in tests: plotly >= 6 writes numpy arrays as {"dtype", "bdata"} blobs."""

from __future__ import annotations

import base64
import json

import numpy as np


def decode(value):
    """Recursively turn plotly's typed-array blobs into numpy arrays."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:
            arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            shape = value.get("shape")
            if shape:
                arr = arr.reshape([int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape)
            return arr
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def chart_specs(at) -> list[dict]:
    """The figures of every st.plotly_chart in an AppTest, as decoded dicts."""
    return [decode(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]


def figure_dict(fig) -> dict:
    """A go.Figure as a decoded dict (same representation as the app sends)."""
    return decode(json.loads(fig.to_json()))
