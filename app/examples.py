"""Examples that show each phenomenon, picked by a stated rule, with the share of the sample set where it holds.

A view opens on its example only while the user has not chosen an image (fresh session, no link), and says
so; "Open the example" and "Random example" switch to one with a click. Where the phenomenon does not show
on the chosen model, the banner says that instead of pretending.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from geometry.examples import LineScan, same_class_pairs, scan_lines

from . import state

N_PAIRS = 60
PATHS_RULE = (f"among {N_PAIRS} random pairs of correctly classified samples of one class (seed 0), the pair whose "
              "straight line dips lowest in its class's probability")
K_PATHS_OPENED, K_RANDOM = "examples_paths_opened", "examples_random_draws"
K_FORCE = "examples_paths_force"  # set by the guided tour
SAME = "Two images of one class"  # app_pages/paths.py's mode names
K_MODE, K_PARTNER, K_AUTORUN = "paths_mode", "paths_partner", "paths_autorun"


@st.cache_data(max_entries=8, show_spinner="Scanning straight lines between same-class samples…")
def line_scan(model_key: str, samples_key: str, _model, _images: np.ndarray, _predicted: np.ndarray,
              _labels: np.ndarray | None = None) -> LineScan:
    """The straight-line scan of N_PAIRS same-class pairs (shared by every session). With true labels, only
    correctly classified samples pair up: a misread digit would make the line dip for the wrong reason."""
    predicted = np.asarray(_predicted)
    if _labels is not None:  # a unique negative class for each misclassified sample: it never pairs
        predicted = np.where(predicted == np.asarray(_labels), predicted, -1 - np.arange(len(predicted)))
    pairs = same_class_pairs(predicted, N_PAIRS, seed=0)
    points = 33 if _model.dim <= 20_000 else 9  # large photos: fewer points per line
    return scan_lines(_model, torch.from_numpy(_images), pairs, points=points)


def open_pair(model, i: int, j: int) -> None:
    """Show the pair (i, j) on the Paths page (sidebar image i, second image j)."""
    state.request({K_MODE: SAME, K_PARTNER: int(j), K_AUTORUN: True}, sample=int(i))


def _random_pair(model, scan: LineScan) -> None:
    draws = st.session_state[K_RANDOM] = st.session_state.get(K_RANDOM, 0) + 1
    r = int(np.random.default_rng(draws).integers(len(scan.pairs)))
    open_pair(model, *scan.pairs[r])
    st.session_state[state.USER_PICKED] = True


def _example_pair(model, scan: LineScan) -> None:
    open_pair(model, *scan.pairs[scan.example])
    st.session_state[state.USER_PICKED] = True


def paths_banner(sel, samples, samples_key: str, predicted: np.ndarray) -> None:
    """The Paths page's example: the rule, the share, two buttons; opens the example on a fresh session."""
    scan = line_scan(sel.model_key, samples_key, sel.model, samples.images, predicted, samples.labels)
    if not len(scan.pairs):
        return
    i, j = (int(v) for v in scan.pairs[scan.example])
    n_leave = int(scan.leaves.sum())
    fresh = not st.session_state.get(state.USER_PICKED) and not st.session_state.get(K_PATHS_OPENED)
    forced = st.session_state.pop(K_FORCE, False)  # the guided tour's step asks for the example
    st.session_state[K_PATHS_OPENED] = True
    if (fresh or forced) and (st.session_state.get(state.SAMPLE_INDEX), st.session_state.get(K_PARTNER)) != (i, j):
        open_pair(sel.model, i, j)  # a fresh session opens on the example, and says so below
        st.rerun()
    with st.container(border=True):
        share = (f"The straight line leaves the class region for **{n_leave} of {len(scan.pairs)}** pairs "
                 f"({scan.share:.0%}; {scan.points} points checked per line).")
        if n_leave == 0:
            share += (" On this model no straight line left its region, so the phenomenon (a path needed where "
                      "the line fails) does not show here: try another model.")
        st.markdown(f"**Example** (sample #{i} → #{j}): {PATHS_RULE}. {share}")
        c = st.columns([1, 1, 3])
        c[0].button("Open the example", key="examples_paths_open", on_click=_example_pair,
                    args=(sel.model, scan))
        c[1].button("Random example", key="examples_paths_random", on_click=_random_pair,
                    args=(sel.model, scan), help="a random pair of the same scan: it may not show the phenomenon")
