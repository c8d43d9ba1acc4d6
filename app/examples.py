"""Examples that show each phenomenon, picked by a stated rule, with the share of the sample set where it holds.

A view opens on its example only while the user has not chosen an image (fresh session, no link), and says
so; "Open the example" and "Random example" switch to one with a click. Where the phenomenon does not show
on the chosen model, the banner says that instead of pretending.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from geometry.errors import AtlasError
from geometry.examples import (
    CURVED_RATIO,
    CURVED_RULE,
    HOME_RULE,
    SMALL_RATIO,
    AttackScan,
    BoundaryScan,
    LineScan,
    same_class_pairs,
    scan_attacks,
    scan_boundaries,
    scan_lines,
)
from geometry.spectrum import MAX_FULL_DIM

from . import cache, state

N_PAIRS = 60
PATHS_RULE = (f"among {N_PAIRS} random pairs of correctly classified samples of one class (seed 0), the pair whose "
              "straight line dips lowest in its class's probability")
K_RANDOM, K_DRAWS = "examples_random_draws", "examples_draws"
K_FORCE = "examples_force"  # app.tour: the view named here opens its example on its next run
SAME, ADV = "Two images of one class", "Adversarial image ↔ natural image"  # the Paths page's pair modes
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


def _opened(view: str) -> str:
    return f"examples_{view}_opened"


def _choose(index: int, settings: dict | None = None) -> None:
    """Callback of "Open the example" / "Random example": the user chose, so no view switches on its own."""
    state.request(settings or {}, sample=int(index))
    st.session_state[state.USER_PICKED] = True


def _draw(key: str, n: int, *salt: int) -> int:
    """The session's next random draw, counted under `key`: an index below n, the same for the same count."""
    draws = st.session_state[key] = st.session_state.get(key, 0) + 1
    return int(np.random.default_rng([draws, *salt]).integers(n))


def _choose_random(view: str, pool: tuple[int, ...]) -> None:
    _choose(pool[_draw(K_DRAWS, len(pool), len(view))])


def _open_once(view: str, index: int, settings: dict | None = None, *, shown: bool | None = None) -> None:
    """A fresh session (no image chosen by the user, a link, the tour or another example) opens this view on
    its example, once: coming back to the view later keeps whatever image is chosen then. A guided-tour step
    opens it anyway (K_FORCE); `shown` says whether it is on screen already (default: sample `index` is)."""
    fresh = not st.session_state.get(state.USER_PICKED) and not st.session_state.get(_opened(view))
    forced = st.session_state.get(K_FORCE) == view
    if forced:
        del st.session_state[K_FORCE]  # once per tour step
    st.session_state[_opened(view)] = True
    if shown is None:
        shown = st.session_state.get(state.SAMPLE_INDEX) == index
    if (fresh or forced) and not shown:
        state.request(settings or {}, sample=index)
        st.rerun()


def _pair(j: int) -> dict:
    """The Paths page's settings that show a pair whose first image is the sidebar's: second image j."""
    return {K_MODE: SAME, K_PARTNER: int(j), K_AUTORUN: True}


def _random_pair(scan: LineScan) -> None:
    i, j = scan.pairs[_draw(K_RANDOM, len(scan.pairs))]  # default_rng([d]) draws as default_rng(d) did
    _choose(i, _pair(j))


def paths_banner(sel, samples, samples_key: str, predicted: np.ndarray) -> None:
    """The Paths page's example: the rule, the share, two buttons; opens the example on a fresh session."""
    scan = line_scan(sel.model_key, samples_key, sel.model, samples.images, predicted, samples.labels)
    if not len(scan.pairs):
        return
    i, j = (int(v) for v in scan.pairs[scan.example])
    n_leave = int(scan.leaves.sum())
    if st.session_state.get(K_MODE) == ADV:  # adversarial pairs start from the example's first image
        _open_once("paths", i)
        _adversarial_banner(i, j)
        return
    shown = (st.session_state.get(state.SAMPLE_INDEX), st.session_state.get(K_PARTNER)) == (i, j)
    _open_once("paths", i, _pair(j), shown=shown)
    with st.container(border=True):
        share = (f"The straight line leaves the class region for **{n_leave} of {len(scan.pairs)}** pairs "
                 f"({scan.share:.0%}; {scan.points} points checked per line).")
        if n_leave == 0:
            share += (" On this model no straight line left its region, so the phenomenon (a path needed where "
                      "the line fails) does not show here: try another model.")
        elif n_leave < len(scan.pairs) / 2:
            share += (" On this model that is the exception: most straight lines between same-class images "
                      "stay inside their region, and a path is needed only for the few that leave.")
        st.markdown(f"**Example** (sample #{i} → #{j}): {PATHS_RULE}. {share}")
        c = st.columns([1, 1, 3])
        c[0].button("Open the example", key="examples_paths_open", on_click=_choose, args=(i, _pair(j)),
                    disabled=shown)
        c[1].button("Random example", key="examples_paths_random", on_click=_random_pair, args=(scan,),
                    help="a random pair of the same scan: it may not show the phenomenon")


def _adversarial_banner(i: int, j: int) -> None:
    """The Paths page's example line in the adversarial mode: which image it starts from, and a way back."""
    with st.container(border=True):
        st.markdown(f"**Example** (sample #{i}): the first image of the same-class example pair (#{i} → #{j}, "
                    f"{PATHS_RULE}); its DeepFool image is joined to a natural image of its new class.")
        st.button("Open the example", key="examples_paths_open", on_click=_choose, args=(i,),
                  disabled=st.session_state.get(state.SAMPLE_INDEX) == i)


# --- Home, Cross-sections, Curvature: one boundary scan of the sample set; Detection: flagged attacks ----

N_SCAN = 40  # correctly classified samples each example is chosen among


def _banner(view: str, index: int, rule: str, share: str, pool: tuple[int, ...], current: str = "") -> None:
    """The stated rule, the share where the phenomenon holds, and the two buttons."""
    with st.container(border=True, key=f"examples_{view}_banner"):
        st.markdown(f"**Example** (sample #{index}): {rule}. {share}")
        c = st.columns([1, 1, 3])
        c[0].button("Open the example", key=f"examples_{view}_open", on_click=_choose, args=(index,),
                    disabled=st.session_state.get(state.SAMPLE_INDEX) == index)
        c[1].button("Random example", key=f"examples_{view}_random", on_click=_choose_random, args=(view, pool),
                    help=f"a random sample among the {len(pool)} scanned: it may not show the phenomenon")
        if current:
            c[2].caption(current)


def _scannable(sel) -> bool:
    """Sample-set scans run for sample images only, and not on large inputs (minutes on a CPU)."""
    return st.session_state.get(state.IMAGE_SOURCE, "Sample") == "Sample" and sel.model.dim <= MAX_FULL_DIM


@st.cache_data(max_entries=8, show_spinner="Choosing this view's example: DeepFool and curvature of "
                                           f"{N_SCAN} samples…")
def boundary_scan(model_key: str, samples_key: str, _model, _images: np.ndarray,
                  _labels: np.ndarray | None) -> BoundaryScan:
    """geometry.examples.scan_boundaries on the first N_SCAN correctly classified samples (every session)."""
    return scan_boundaries(_model, _images, _labels, n=N_SCAN)


def _scan(sel) -> BoundaryScan | None:
    if not _scannable(sel):
        return None
    samples = cache.sample_set(sel.model.input_shape, sel.model.card.dataset)
    try:
        return boundary_scan(sel.model_key, state.sample_set_key(sel.model), sel.model, samples.images,
                             samples.labels)
    except AtlasError as error:  # e.g. a model that reads none of its samples right: no example, no alarm
        st.caption(f"No example for this view: {error}.")
        return None


def _here(scan: BoundaryScan, values: np.ndarray, holds: np.ndarray, what: str) -> str:
    """A line on the current sample when it is one of the scanned."""
    i = st.session_state.get(state.SAMPLE_INDEX)
    row = np.flatnonzero(scan.indices == i)
    if not len(row) or not scan.found[row[0]]:
        return ""
    r = row[0]
    return f"This image (#{i}): {what} {values[r]:.3g}, {'holds' if holds[r] else 'does **not** hold'} here."


def _share(scan: BoundaryScan, holds: np.ndarray, what: str, why_not: str = "") -> str:
    """"On **k of n** of them (p %) <what>.", and a plain "does not hold" when it fails for most."""
    k, n = int(holds.sum()), int(scan.found.sum())
    text = f"On **{k} of {n}** of them ({k / max(n, 1):.0%}) {what}."
    return text + (f" On this model that does **not** hold for most images{why_not}." if k < n / 2 else "")


def _pool(scan: BoundaryScan) -> tuple[int, ...]:
    """The samples "Random example" draws from: those scanned where DeepFool found a boundary."""
    return tuple(int(i) for i in scan.indices[scan.found])


def home_banner(sel) -> None:
    """Home: DeepFool's perturbation is small next to the distance between images of different classes."""
    scan = _scan(sel)
    if scan is None:
        return
    index = scan.typical()
    _open_once("home", index)
    ratio = scan.distance / np.maximum(scan.nearest_other, 1e-12)
    share = _share(scan, scan.small, f"‖r(x)‖ is below 1/{SMALL_RATIO:g} of the distance to the nearest sample "
                   f"of another class (median ratio {np.median(ratio[scan.found]):.2f}): the boundary is much "
                   "nearer than the other classes' images", " (a robust model pushes the boundary out)")
    _banner("home", index, HOME_RULE.format(n=len(scan.indices)), share, _pool(scan),
            _here(scan, ratio, scan.small, "‖r(x)‖ ÷ distance to the nearest other class ="))


def curved_banner(sel, view: str) -> None:
    """Cross-sections and Curvature: the boundary is flat along random directions, curved along a few."""
    scan = _scan(sel)
    if scan is None:
        return
    index = scan.most_bent()
    _open_once(view, index)
    ratio = np.abs(scan.kappa) / np.maximum(scan.kappa_random, 1e-300)
    share = _share(scan, scan.curved, f"the largest |κ| is at least {CURVED_RATIO:g}× the curvature along random "
                   f"directions (median {np.median(ratio[scan.found]):.0f}×): flat in random planes, curved along "
                   "a few directions")
    _banner(view, index, CURVED_RULE.format(n=len(scan.indices)), share, _pool(scan),
            _here(scan, ratio, scan.curved, "largest |κ| ÷ random-direction curvature ="))


@st.cache_data(max_entries=16, show_spinner=f"Choosing this view's example: attacking {N_SCAN} samples…")
def flagged_scan(model_key: str, samples_key: str, params: tuple, _model, _images: np.ndarray,
                 _labels: np.ndarray | None) -> AttackScan:
    """geometry.examples.scan_attacks on the first N_SCAN correctly classified samples (every session)."""
    return scan_attacks(_model, _images, _labels, n=N_SCAN, **dict(params))


def detection_banner(sel, params: dict, stat: str, threshold: float | None) -> None:
    """Detection: an attacked image the detector flags at the calibrated threshold, and how often it does."""
    if threshold is None or not _scannable(sel):
        return
    samples = cache.sample_set(sel.model.input_shape, sel.model.card.dataset)
    try:
        scan = flagged_scan(sel.model_key, state.sample_set_key(sel.model), tuple(sorted(params.items())),
                            sel.model, samples.images, samples.labels)
    except AtlasError as error:
        st.caption(f"No example for this view: {error}.")
        return
    hit, right = scan.flagged(stat, threshold), scan.recovered_right(stat, threshold)
    m, k = int(scan.success.sum()), int(hit.sum())
    rule = (f"the first of the first {len(scan.indices)} correctly classified samples whose DeepFool image "
            "the detector flags at the calibrated threshold")
    share = (f"At that threshold the detector flags **{k} of {m}** successful DeepFool images ({k / max(m, 1):.0%}"
             f"), and recovers the original label for {int(right.sum())} of them.")
    pool = tuple(int(i) for i in scan.indices[scan.success])
    if not k:
        st.info(f"No example: {rule.replace('the first of the', 'among the')}, none is flagged ({share[3:]}) "
                "The paper's detection effect does not show on this model at these settings (Findings has the "
                "study).")
        return
    index = int(scan.indices[np.argmax(hit)])
    _open_once("detection", index)
    if k < m / 2:
        share += " On this model that is the exception, not the rule: most attacks are missed."
    _banner("detection", index, rule, share, pool)
