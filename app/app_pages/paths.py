"""Connecting paths (paper section 1): join two images of a class by a polyline inside the class region, even
where the straight line leaves it; or an adversarial image and a natural image of its (new) class.
"""

import functools

import numpy as np
import streamlit as st

from app import cache, estimates, examples, heavy, state, ui
from app import exports as export
from app.cache import paths as cache_paths
from app.cache.figures import figure
from app.figures import paths as figs
from app.figures.common import image_figure
from geometry.paths import ConnectingPath, PathConfig, resample_path

SAME, ADV = examples.SAME, examples.ADV  # the pair modes
MAP = "Two points picked on the map"
K_MODE, K_PARTNER, K_PICKS, K_RESULT = "paths_mode", "paths_partner", "paths_picks", "paths_result"
K_TABLE, K_MAP, K_POS, K_CHART = "paths_table", "paths_map", "paths_pos", "paths_map_chart"
K_AUTORUN = "paths_autorun"
K_PAIRS, K_OPEN = "paths_pairs_df", "paths_open_pair"
SUMMARY_COLUMNS = {"n_pairs": "pairs tried", "fraction_connected": "connected", "mean_segments": "segments (mean)",
                   "max_segments": "segments (max)", "mean_length_ratio": "length / ‖x2 − x1‖ (mean)",
                   "fraction_straight_inside": "straight line inside",
                   "fraction_not_certified": "not certified (no check outside)",
                   "median_min_margin": "smallest label margin (median)"}
MAP_KINDS = {"inputs": "input", "penultimate features": "penultimate"}


def _pick_from_map() -> None:
    """on_select callback: remember the last two picked samples and switch to the map pair."""
    points = st.session_state[K_CHART].selection.get("points", [])
    idx = [int(p["customdata"]) for p in points if isinstance(p.get("customdata"), (int, float))]
    picks = idx[:2] if len(idx) >= 2 else (st.session_state.get(K_PICKS, []) + idx)[-2:]
    st.session_state[K_PICKS] = picks
    if len(picks) == 2:
        st.session_state[K_MODE] = MAP
        st.session_state[K_AUTORUN] = True  # picking two points opens the path between them


def _endpoints(sel, samples, preds: np.ndarray) -> dict:
    """The two ends (C, H, W) with names and cache keys, by the chosen mode."""
    names, mode = sel.model.class_names, st.session_state[K_MODE]
    if mode == MAP:
        i, j = st.session_state[K_PICKS]
        if preds[i] != preds[j]:
            st.warning(f"The picked samples #{i} ({names[preds[i]]}) and #{j} ({names[preds[j]]}) have "
                       "different predicted classes: pick two points of one colour.")
            st.stop()
        return dict(x1=samples.images[i], x2=samples.images[j], name1=f"sample #{i}", name2=f"sample #{j}")
    if mode == ADV:
        df = cache.deepfool(sel.model_key, sel.image_key, sel.model, sel.image)
        if not df.success[0]:
            st.warning("DeepFool found no adversarial image for this image; pick another image.")
            st.stop()
        x1, name1 = df.adversarial[0].astype(np.float32), f"adversarial image of {sel.image_name}"
    else:
        x1, name1 = sel.image, sel.image_name
    k = int(np.argmax(cache.probabilities(sel.model_key, state.array_key(x1), sel.model, x1)))
    same = [int(i) for i in np.nonzero(preds == k)[0] if not np.array_equal(samples.images[i], sel.image)]
    if not same:
        st.warning(f"No other sample image is predicted {names[k]}: pick another image.")
        st.stop()
    j = st.selectbox(f"Second image (sample images predicted {names[k]})", same, key=K_PARTNER,
                     format_func=lambda i: samples.names[i])
    return dict(x1=x1, x2=samples.images[j], name1=name1, name2=samples.names[j])


def _settings() -> tuple[PathConfig, bool]:
    with st.form("paths_form"):
        c = st.columns(4)
        depth = c[0].slider("max depth", 1, 12, 8, key="paths_depth")
        segments = c[1].select_slider("max segments", [8, 16, 32, 64, 128, 256], 64, key="paths_segments")
        n_check = c[2].select_slider("checks per segment", [16, 32, 64, 128, 256], 64, key="paths_check",
                                     help="Initial check intervals per segment (never coarser than "
                                          "‖x2 − x1‖ / this); the final check refines where the margin is small.")
        overshoot = c[3].number_input("push overshoot", 0.0, 0.5, 0.02, 0.01, key="paths_overshoot")
        run = st.form_submit_button("Find path", type="primary")
    return PathConfig(max_depth=depth, max_segments=segments, n_check=n_check, overshoot=overshoot), run


def _show_path(sel, p: ConnectingPath, ends: dict) -> None:
    names = sel.model.class_names
    c = st.columns(5)
    uncertain = not p.connected and p.certification is not None and p.certification.n_outside == 0
    c[0].metric("connected", "yes" if p.connected else "not certified" if uncertain else "no")
    c[1].metric("segments", p.n_segments)
    c[2].metric("length / ‖x2 − x1‖", f"{p.length_ratio:.3f}")
    c[3].metric("straight line inside", "yes" if p.straight_inside else "no")
    c[4].metric("recursion depth", p.depth)
    name = names[p.label]
    st.caption(f"Inside the region of {name} means that {name} has the largest probability of the "
               f"{len(names)} classes, which can be below 0.5: a path may run where p({name}) is near or under "
               "0.5 and still stay inside, grazing the boundary where its margin below is small.")
    st.caption(f"**{p.verdict}** (margin = f_{name} − max of the other logits). Each segment is "
               f"checked at ≥ {p.config.n_check} intervals, at most {p.check_spacing:.4f} apart in L2, halved "
               f"wherever the margin could change sign between two checks if its slope reached "
               f"{p.config.slope_safety:g}× the largest measured there, down to {p.config.resolution:g}·‖x2 − x1‖; "
               f"connected means certified so. {p.n_pushed} midpoints pushed into the region "
               f"({p.push_failures} failed), "
               f"clipped to the model's bounds; {p.n_forward} forward and {p.n_grad} gradient evaluations, "
               f"{p.seconds:.2f} s.")
    st.plotly_chart(figure(figs.probability_figure, p, names), key="paths_probs")
    frames, s = resample_path(p.anchors, 8)
    strip = figure(figs.strip_figure, frames, s, np.interp(s, p.path_s, p.path_prob))
    st.plotly_chart(strip, key="paths_strip", config=ui.NO_BAR)
    left, right = st.columns([1, 2])
    with left:
        pos = st.slider("position along the path", 0.0, 1.0, 0.5, 0.01, key=K_POS)
        pts, ss = resample_path(p.anchors, 101)
        i = int(round(pos * 100))
        prob = float(np.interp(ss[i], p.path_s, p.path_prob))
        # not cached: 101 slider positions would push the class's shared figures out of the figure cache
        st.plotly_chart(image_figure(pts[i], title=f"s = {ss[i]:.2f}: p({names[p.label]}) = {prob:.3f}", height=300),
                        key="paths_frame", config=ui.NO_BAR)
    with right, ui.section_errors("plane"):
        key = _result_key(sel, ends)
        res = estimates.LARGE_PATH_PLANE if estimates.is_large(sel.model) else 41  # forward passes: res²
        plane = cache_paths.plane(*key, cache_paths.config_dict(p.config), res, sel.model, p)
        st.plotly_chart(figure(figs.plane_figure, plane, names), key="paths_plane")
        second = ("The path is straight, so the plane's second direction is random (seed 0)."
                  if p.n_segments == 1 else "The plane holds x1, x2 and the anchor farthest from the line.")
        grid = (f" The map is a {res} × {res} grid: the cells next to the boundary, where an adversarial x1 "
                "sits, may show the neighbouring class; the path's own checks (above) are made on the model."
                if st.session_state.get(K_MODE) == ADV else "")
        st.caption("Anchors are projected onto the plane (hover: distance off it). " + second + grid)
    _export(p, ends, export.provenance(sel))


def _export(p: ConnectingPath, ends: dict, prov: dict) -> None:
    meta = export.path_meta(p, ends, cache_paths.config_dict(p.config))
    c = st.columns(2)
    c[0].download_button("Export path (npz)", export.path_npz(p, meta, prov), "path.npz", key="paths_npz")
    c[1].download_button("Export path (JSON)", export.path_json(p, meta, prov),
                         "path.json", mime="application/json", key="paths_json")


def _result_key(sel, ends: dict) -> tuple[str, str, str]:
    return sel.model_key, state.array_key(ends["x1"]), state.array_key(ends["x2"])


def _data_map(sel, samples, samples_key: str, p: ConnectingPath | None, ends: dict) -> None:
    choice = st.segmented_control("Data map (UMAP of the 500 sample digits; the first fit takes ~30 s)",
                                  ["off", *MAP_KINDS], default="off", key=K_MAP)
    if choice in (None, "off"):
        return
    kind = MAP_KINDS[choice]
    with ui.user_errors("data map"):
        update, done = ui.progress_bar("Fitting UMAP (importing umap compiles with numba)…")
        dm = cache_paths.datamap(sel.model_key, samples_key, kind, 0, sel.model, samples.images,
                                 samples.labels, update)
        done()
        along = [] if p is None else list(resample_path(p.anchors, 16)[0])
        extra = np.stack([ends["x1"], ends["x2"], *along]).astype(np.float32)
        xy = cache_paths.projection(sel.model_key, samples_key, kind, 0, state.array_key(extra), dm,
                                    sel.model, extra)
    if dm.note:
        st.info(dm.note)
    marks = {"x1": xy[:1], "x2": xy[1:2]}
    fig = figs.datamap_figure(dm.embedding, dm.predicted, sel.model.class_names, marks=marks,
                              path_xy=xy[2:] if p is not None else None)
    st.plotly_chart(fig, key=K_CHART, on_select=_pick_from_map, selection_mode=("points", "box"))
    st.caption(f"UMAP of {dm.features} features (n_neighbors={dm.n_neighbors}, seed {dm.seed}), fitted in "
               f"{dm.seconds:.1f} s; x1, x2 and 16 points of the path are projected with UMAP's transform. "
               "Click two samples (shift-click or box-select) to open the path between them.")


def _summary_rows(table) -> list[dict]:
    """The paper's table with readable column names; shares as percentages."""
    out = []
    for rec in table.records():
        row = {"pairs": rec.pop("pairs")}
        for key, value in rec.items():
            share = key.startswith("fraction")
            row[SUMMARY_COLUMNS.get(key, key)] = f"{value:.0%}" if share else round(value, 3)
        out.append(row)
    return out


def _open_pair(model, rows: list[dict], from_table: bool = True) -> None:
    """Callback of the pairs table (a clicked row) and of the "open a pair" box: open that pair in the path
    view at the top of the page."""
    picked = (st.session_state[K_PAIRS].selection.rows if from_table
              else [st.session_state[K_OPEN]] if st.session_state.get(K_OPEN) is not None else [])
    if not picked:
        return
    row = rows[picked[0]]
    state.choose_sample(model, row["x1: sample #"])
    st.session_state[K_MODE] = ADV if row["pairs"].startswith("adversarial") else SAME
    st.session_state[K_PARTNER] = row["x2: sample #"]
    st.session_state[K_AUTORUN] = True
    st.toast(f"Opened the pair #{row['x1: sample #']} → #{row['x2: sample #']} at the top of the page.")


def _batch(sel, samples, samples_key: str, config: PathConfig) -> None:
    with st.form("paths_batch_form"):
        c = st.columns(3)
        n_same = c[0].number_input("same-class pairs", 1, 100, 10, key="paths_n_same")
        n_adv = c[1].number_input("adversarial ↔ natural pairs", 0, 50, 5, key="paths_n_adv")
        seed = c[2].number_input("seed", 0, 10_000, 0, key="paths_seed")
        run = st.form_submit_button("Run batch")
    if run:
        with ui.user_errors("batch of paths"):
            update, done = ui.progress_bar("Connecting random pairs…")
            state.remember(K_TABLE, sel.model_key, cache_paths.table(
                sel.model_key, samples_key, int(n_same), int(n_adv), int(seed),
                cache_paths.config_dict(config), sel.model, samples.images, update))
            done()
    table = state.recall(K_TABLE, sel.model_key)  # a table of another model is not shown
    if table is not None:
        st.dataframe(_summary_rows(table), key="paths_table_df", hide_index=True)
        st.caption(f"{table.seconds:.1f} s; pairs drawn with seed {table.seed} from the sample set. "
                   "Adversarial pairs: DeepFool image of sample i (new label k'), sample j labelled k'.")
        rows = [{"pairs": kind, "x1: sample #": int(i), "x2: sample #": int(j), "connected": p.connected,
                 "segments": p.n_segments, "length / ‖x2 − x1‖": round(p.length_ratio, 4),
                 "straight line inside": p.straight_inside, "checks": p.certification.n_checks,
                 "smallest label margin": round(p.certification.min_margin, 5)}
                for kind, ps in table.paths.items() for (i, j), p in zip(table.pairs[kind], ps, strict=True)]
        with st.expander("Every pair (click a row to open that pair above)", expanded=True):
            st.dataframe(rows, key=K_PAIRS, hide_index=True, selection_mode="single-row",
                         on_select=functools.partial(_open_pair, sel.model, rows))
            st.selectbox("or open a pair", [None, *range(len(rows))], key=K_OPEN,
                         format_func=lambda r: "—" if r is None else
                         f"{rows[r]['pairs']}: #{rows[r]['x1: sample #']} → #{rows[r]['x2: sample #']}",
                         on_change=functools.partial(_open_pair, sel.model, rows, False))
        st.download_button("Export table (JSON)", export.json_text(
                           {"rows": table.records(), "seed": table.seed,
                            "config": cache_paths.config_dict(table.config),
                            "pairs": {k: v.tolist() for k, v in table.pairs.items()}},
                           export.provenance(sel, with_image=False)),
                           "path_table.json", mime="application/json", key="paths_table_json")


def main() -> None:
    st.title("Connecting paths")
    st.markdown("Two images of a class can be joined by a path that never leaves the class's region, even "
                "when the straight line between them does (Fawzi et al., section 1). The path starts as the "
                "straight segment; where it leaves the region, its midpoint is pushed back in by the "
                "smallest step and both halves are searched again.")
    sel = state.require()
    with ui.user_errors("sample set"):
        samples = cache.sample_set(sel.model.input_shape, sel.model.card.dataset)
        samples_key = f"samples{sel.model.input_shape}"
        preds = cache_paths.predictions(sel.model_key, samples_key, sel.model, samples.images)
        examples.paths_banner(sel, samples, samples_key, preds)
    st.session_state.setdefault(K_MODE, SAME)
    st.session_state.setdefault(K_PICKS, [])
    modes = [SAME, ADV] + ([MAP] if len(st.session_state[K_PICKS]) == 2 else [])
    st.radio("Pair", modes, key=K_MODE, horizontal=True)
    with ui.user_errors("choice of images"):
        ends = _endpoints(sel, samples, preds)
    c = st.columns(2)
    for col, end in zip(c, ("1", "2"), strict=True):
        fig = figure(image_figure, ends["x" + end], title=f"x{end}: " + ends["name" + end], height=240)
        col.plotly_chart(fig, key="paths_x" + end, config=ui.NO_BAR)
    config, run = _settings()
    key = _result_key(sel, ends)
    autorun = st.session_state.pop(K_AUTORUN, False)  # consumed on every run, never left for a later one
    if run or K_RESULT not in st.session_state or autorun:  # first visit: ~1 s
        with ui.user_errors("path search"):
            if run:
                heavy.forget("paths")
            path = heavy.run(sel, "paths", "Searching for a path inside the region…",
                             lambda update: cache_paths.path(*key, cache_paths.config_dict(config), sel.model,
                                                             ends["x1"], ends["x2"], update),
                             n_check=config.n_check)
        state.remember(K_RESULT, key, path)
    p = state.recall(K_RESULT, key)
    if p is None:
        st.info("The images changed: press **Find path**.")
    else:
        _show_path(sel, p, ends)
    st.subheader("Data map")
    _data_map(sel, samples, samples_key, p, ends)
    st.subheader("Batch: random pairs, as in the paper's table")
    _batch(sel, samples, samples_key, config)


main()
