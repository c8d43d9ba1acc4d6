"""Shareable links: the page (the URL's path), the model, the image (sample number) and each view's main
settings travel in the URL's query string. Opening such a URL restores them; every run writes the current
ones back, so the address bar (and the sidebar's "Share this view" box) always holds a working link.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import streamlit as st

import geometry as g
from geometry.detection import STATISTICS

from . import state
from .examples import ADV, K_MODE, SAME

RESTORED = "share_restored"  # set once per session: the link is read on the session's first run only
CURV_VIEWS = ("Profile", "Directions", "Cross-sections", "Vulnerability", "Step h", "Over the sample set")
PAIR_MODES = (SAME, ADV)


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text not in choices:
            raise ValueError(text)
        return text
    return check


def _xs_kinds() -> tuple[str, ...]:
    from .cache.cross_section import KINDS
    return KINDS


# page url path -> {query name: (session-state key of the page's widget, parser)}
PAGE_PARAMS: dict[str, dict[str, tuple[str, Callable[[str], object]]]] = {
    "cross_sections": {"plane": ("xs_kind", lambda t: _one_of(*_xs_kinds())(t)), "extent": ("xs_extent", float),
                       "res": ("xs_res", int), "seed": ("xs_seed", int), "clip": ("xs_clip", _bool),
                       "grid": ("xs_method", _one_of("adaptive", "dense")),
                       "curv": ("xs_curv", _one_of("largest |κ|", "most positive", "most negative"))},
    "curvature": {"view": ("curv_view", _one_of(*CURV_VIEWS)),
                  "method": ("curv_method", _one_of("auto", "exact", "fd")),
                  "solver": ("curv_solver", _one_of("auto", "full", "lanczos")), "h": ("curv_h", float),
                  "k": ("curv_k", int), "at": ("curv_at", _one_of("boundary", "input")),
                  "dir": ("curv_which", _one_of("most positive", "most negative"))},
    "paths": {"pair": ("paths_mode", _one_of(*PAIR_MODES)), "partner": ("paths_partner", int),
              "depth": ("paths_depth", int)},
    "detection": {"T": ("det_directions", int), "seed": ("det_seed", int),
                  "stat": ("det_statistic", lambda t: _one_of(*STATISTICS)(t))},
}


def _model_param() -> str | None:
    """The model as a link can carry it: an embedded name or tv:ARCH[:random] (an uploaded file cannot)."""
    from .sidebar import CHECKPOINT, TORCHVISION
    choice = st.session_state.get(state.MODEL_CHOICE)
    if choice == TORCHVISION:
        arch = st.session_state.get(state.TV_ARCH)
        random = st.session_state.get(state.TV_WEIGHTS) == "random"
        return f"tv:{arch}{':random' if random else ''}" if arch else None
    return None if choice in (None, CHECKPOINT) else str(choice)


def _set_model(spec: str) -> None:
    from .sidebar import TORCHVISION
    if spec.startswith("tv:"):
        _, arch, *rest = spec.split(":")
        if arch not in g.TORCHVISION_ARCHS or rest not in ([], ["random"]):
            raise ValueError(spec)
        st.session_state[state.MODEL_CHOICE] = TORCHVISION
        st.session_state[state.TV_ARCH] = arch
        st.session_state[state.TV_WEIGHTS] = "random" if rest else "pretrained"
    elif spec in g.list_embedded():
        st.session_state[state.MODEL_CHOICE] = spec
    else:
        raise ValueError(spec)


def restore(page: str) -> list[str]:
    """On the session's first run, apply the URL's parameters; returns the ones that could not be used."""
    if st.session_state.get(RESTORED):
        return []
    st.session_state[RESTORED] = True
    params, ignored = st.query_params.to_dict(), []
    if "model" in params:
        try:
            _set_model(params["model"])
        except ValueError:
            ignored.append(f"model={params['model']}")
    if "sample" in params:
        try:
            st.session_state[state.PENDING_SAMPLE] = int(params["sample"])
            st.session_state[state.IMAGE_SOURCE] = "Sample"
            st.session_state[state.USER_PICKED] = True  # the link chose the image: views keep it
        except ValueError:
            ignored.append(f"sample={params['sample']}")
    for name, (key, parse) in PAGE_PARAMS.get(page, {}).items():
        if name in params:
            try:
                st.session_state[key] = parse(params[name])
            except ValueError:
                ignored.append(f"{name}={params[name]}")
    return ignored


def current(page: str) -> dict[str, str]:
    """The link's parameters for the current state of `page`."""
    out = {}
    model = _model_param()
    if model:
        out["model"] = model
    if st.session_state.get(state.IMAGE_SOURCE, "Sample") == "Sample":
        index = st.session_state.get(state.SAMPLE_INDEX)
        if index is not None:
            out["sample"] = str(int(index))
    for name, (key, _) in PAGE_PARAMS.get(page, {}).items():
        if name == "partner" and st.session_state.get(K_MODE) != SAME:
            continue  # the second image is chosen by the page in the other modes
        value = st.session_state.get(key)
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, (int, float, str)):
            out[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


def sync(page: str) -> dict[str, str]:
    """Write the current parameters into the address bar (only when they changed)."""
    params = current(page)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    return params


def link(page: str) -> str:
    """The full URL of this view (the browser's address when known, else localhost)."""
    base = st.context.url or f"http://localhost:8501/{page}"
    query = urlencode(current(page))
    return f"{base}?{query}" if query else base


def share_box(page: str, ignored: list[str]) -> None:
    """The sidebar's "Share this view" box: the link with a copy button, and what it cannot carry."""
    if ignored:
        st.warning("This link's settings could not be used and were ignored: " + ", ".join(ignored))
    # A popover, not an expander: its content is drawn only when opened, so the code box's 1.5 MB highlighter
    # script loads for whoever shares a link, not on every student's first page.
    with st.popover("Share this view (link)", width="stretch"):
        st.code(link(page), language=None, wrap_lines=True)
        st.caption("Copy it with the icon at the box's top right. It restores the page, the model, the sample "
                   "and the view's main settings; an uploaded image or model file cannot travel in a link.")
