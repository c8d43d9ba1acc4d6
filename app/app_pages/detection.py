"""Detection (paper section 4, Algorithm 2): a purely geometric score — the curvature of the boundaries
towards each other class along random directions at x — flags slightly perturbed images and recovers their
label.
"""


import numpy as np
import pandas as pd
import streamlit as st

from app import cache, estimates, examples, heavy, state, ui
from app import exports as export
from app.cache import detection as cache_detection
from app.cache.figures import figure
from app.figures import detection as figs
from geometry.attacks import ATTACKS
from geometry.detection import (
    DEFAULT_DETECTION_STEP,
    DEFAULT_DIRECTIONS,
    SIGN_NOTE,
    STATISTICS,
    decide,
    rates,
    threshold_at_fpr,
)
from geometry.spectrum import MAX_FULL_DIM

K_T, K_H, K_SEED, K_STAT = "det_directions", "det_h", "det_seed", "det_statistic"
K_N, K_ATTACKS, K_BATCH, K_FORM = "det_n", "det_attacks", "det_batch", "det_batch_form"
K_VERSIONS, K_SCORE_IMAGE = "det_versions_result", "det_score_image"
# above MANY_CLASSES classes only the top DEFAULT_TOP are scored by default (ResNet-18 on a CPU: within a minute)
MANY_CLASSES, DEFAULT_TOP = 20, estimates.LARGE_DETECTION_CLASSES
STAT_HELP = {"mean": "mean: −ρ of Algorithm 2 (average over classes)",
             "min": "min: the smallest class score min_i c_i (clean images have one strongly curved "
                    "boundary)"}


def _settings(sel) -> dict:
    cols = st.columns([1, 1, 1, 1, 2])
    t = cols[0].number_input("random directions T", 1, 256, estimates.LARGE_DETECTION_DIRECTIONS
                             if estimates.is_large(sel.model) else DEFAULT_DIRECTIONS, key=K_T)
    h = cols[1].number_input("FD step h", 1e-3, 2.0, DEFAULT_DETECTION_STEP, step=0.01, format="%.3f",
                             key=K_H, disabled=sel.model.card.smooth is True,
                             help="finite-difference scale of the HVPs (ReLU nets; smooth nets use exact HVPs)")
    seed = cols[2].number_input("seed", 0, 10_000, 0, key=K_SEED)
    others = sel.model.num_classes - 1
    k = cols[3].number_input("classes scored", 1, others, DEFAULT_TOP if others + 1 > MANY_CLASSES else others,
                             key=f"det_classes_{others + 1}",
                             help="the top-K other classes by logit (like DeepFool's candidates); all "
                             f"{others} is the paper's ρ. Cost grows linearly with K.")
    stat = cols[4].segmented_control("detection score", STATISTICS, default="mean", key=K_STAT,
                                     format_func=lambda s: STAT_HELP[s].split(":")[0],
                                     help=" · ".join(STAT_HELP.values())) or "mean"
    return dict(directions=int(t), h=float(h), seed=int(seed), stat=stat,
                classes=None if int(k) >= others else int(k))


def _params(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("directions", "h", "seed", "classes")}


def _versions(sel, cfg: dict) -> dict | None:
    """The image's versions: computed on load for small inputs, behind a button for large ones."""
    params = _params(cfg)
    if sel.model.dim <= MAX_FULL_DIM:
        with ui.user_errors("detection scores"):
            return cache_detection.image_versions(sel.model_key, sel.image_key, sel.model, sel.image, **params)
    signature = (sel.model_key, sel.image_key, tuple(sorted(params.items())))
    if st.button("Score this image and its attacked versions", type="primary", key=K_SCORE_IMAGE):
        heavy.forget("detection")
        with ui.user_errors("detection scores"):
            versions = heavy.run(sel, "detection", "Attacking the image and scoring its versions…",
                                 lambda update: cache_detection.image_versions(
                                     sel.model_key, sel.image_key, sel.model, sel.image, **params,
                                     _progress=update),
                                 classes=cfg["classes"], directions=cfg["directions"])
        state.remember(K_VERSIONS, signature, versions)
    stored = state.recall(K_VERSIONS, signature)
    if stored is not None:
        return stored
    n_hvp = 4 * (cfg["classes"] or sel.model.num_classes - 1) * cfg["directions"]
    st.info(f"Large input ({sel.model.dim:,} numbers): scoring the image and its 3 attacked versions takes "
            f"{n_hvp:,} Hessian-vector products, "
            f"{heavy.estimate_text(sel, 'detection', classes=cfg['classes'], directions=cfg['directions'])} "
            "— click the button to compute.")
    return None


def _batch(sel) -> dict | None:
    """The stored batch evaluation when it belongs to the current model."""
    return state.recall(K_BATCH, sel.model_key)


def _calibration(sel, cfg: dict) -> dict | None:
    """The default threshold's calibration on the model's clean validation images (None: it has none)."""
    if cache_detection.validation_images(sel.model) is None:
        return None
    update, done = ui.progress_bar("Calibrating the threshold on clean validation images…")
    with ui.user_errors("threshold calibration"):
        calib = cache_detection.calibration(sel.model_key, sel.model, **_params(cfg), _progress=update)
    done()
    return calib


def _threshold(sel, versions: dict | None, batch: dict | None, stat: str, calib: dict | None) -> float:
    """One threshold slider for the image verdicts and the batch's operating point (display only), by default
    at 5 % false positives on clean validation images (or on the batch's clean images for models without)."""
    parts = [np.array([v[stat] for v in (versions or {}).values()], float)]
    if batch:
        ev = batch["ev"]
        parts += [ev.clean.statistic(stat)] + [a.scores.statistic(stat) for a in ev.attacks.values() if a.scores]
    if calib:
        parts.append(calib["scores"][stat])
        default = calib["threshold"][stat]
        source = (f"{calib['fpr']:.0%} false positives on {calib['n']} clean validation images: "
                  f"{calib['source']}, same T, h, seed and classes")
    elif batch:
        default = threshold_at_fpr(batch["ev"].clean.statistic(stat), 0.05)
        source = "5% false positives on the batch's clean images (this model has no validation images)"
    else:
        default = 0.0
        source = "0: this model has no validation images; evaluate a batch to calibrate it"
    values = np.concatenate(parts)
    values = values[np.isfinite(values)]
    lo, hi = (float(values.min()), float(values.max())) if values.size else (-1.0, 1.0)
    pad = 0.1 * (hi - lo) or abs(hi) or 1.0
    lo, hi = lo - pad, hi + pad
    default = float(np.clip(default, lo, hi)) if np.isfinite(default) else (lo + hi) / 2
    key = f"det_threshold_{stat}_{sel.model_key}_{default:.6g}_{id(batch['ev']) if batch and not calib else 0}"
    t = st.slider("threshold t (flag as perturbed when score ≥ t)", lo, hi, default, step=(hi - lo) / 400,
                  format="%.4g", key=key, help=f"Default: {source}.")
    st.caption(f"Default threshold t = {default:.4g}, calibrated at {source}.")
    return t


def _image_section(sel, versions: dict, stat: str, t: float) -> None:
    names = sel.model.class_names
    # New dicts: `versions` is the cached result, shared by every rerun and session.
    versions = {k: {**v, "score": v[stat], "flagged": None if k != "clean" and not v["success"]  # not attacked
                    else bool(decide(v[stat], t))} for k, v in versions.items()}
    st.plotly_chart(figure(figs.versions_figure, versions, names), key="det_versions", config=ui.NO_BAR)
    clean = versions["clean"]
    rows = [_image_row(k, v, clean, names) for k, v in versions.items()]
    # A static table: five rows need no data grid, and st.dataframe's grid made this step load 1.64 MB of
    # scripts instead of 0.95 MB (Chrome's log, uncompressed) in every browser on the tour's last step.
    st.table(pd.DataFrame(rows).style.format({"‖δ‖₂": "{:.4g}", "score": "{:.4g}"}), hide_index=True)
    st.caption(f"Scores c_i for each class i ≠ label, {clean['method']} HVPs; the darker bar is the label "
               f"Algorithm 2 recovers after an attack. Original label: {names[clean['label']]}. "
               + _mechanism_text(versions, names))


def _image_row(name: str, v: dict, clean: dict, names) -> dict:
    """One table row: verdicts and recovered labels only where an attack succeeded (and the clean image's
    own verdict, which is a false positive when flagged)."""
    if name == "clean":
        succeeded, verdict, recovered = "—", "perturbed (false positive)" if v["flagged"] else "clean", "—"
    elif not v["success"]:
        succeeded, verdict, recovered = "no", "— (attack failed)", "—"
    else:
        right = v["recovered"] == clean["label"]
        succeeded, verdict = "yes", "perturbed (detected)" if v["flagged"] else "clean (missed)"
        recovered = f"{names[v['recovered']]} ({'right' if right else 'wrong'})"
    return {"version": figs.TITLES[name], "label": names[v["label"]], "attack succeeded": succeeded,
            "‖δ‖₂": v["l2"], "score": v["score"], "verdict": verdict, "recovered label": recovered}


def _mechanism_text(versions: dict, names) -> str:
    """The asymmetry on this image: the score of the boundary DeepFool crosses, seen from both sides."""
    clean, df = versions["clean"], versions.get("deepfool")
    if df is None or not df["success"]:
        return "DeepFool did not change this image's label, so there is no crossed boundary to compare."
    orig, target = int(clean["label"]), int(df["label"])
    before, after = float(clean["scores"][target]), float(df["scores"][orig])
    if not (np.isfinite(before) and np.isfinite(after)):
        return "The crossed boundary's class is not among the classes scored: raise 'classes scored'."
    others = np.delete(np.asarray(df["scores"], float), [orig, target])
    others = others[np.isfinite(others)]
    rank = "the only class scored" if not others.size else (
        "the largest" if after >= others.max() else "not the largest")
    return (f"The crossed boundary (outlined bars): before the attack, the score towards {names[target]} is "
            f"c = {before:.3g}; after DeepFool, the score back towards {names[orig]} is c = {after:.3g}, "
            f"{rank} of the attacked image's scores.")


def _image_count(container, available: int) -> int:
    """How many sample images to evaluate: a slider when there is a choice (any set size ≥ 1)."""
    hi = min(200, available)
    lo = 5 if hi > 5 else 1
    if lo >= hi:
        container.caption(f"{hi} sample image{'s' * (hi != 1)}")
        return hi
    return int(container.slider("images", lo, hi, min(30, hi), key=K_N))


def _run_batch(sel, cfg: dict) -> None:
    with ui.user_errors("batch settings"):
        samples = cache.sample_set(sel.model.input_shape, sel.model.card.dataset)
        with st.form(K_FORM):
            c1, c2 = st.columns([1, 3])
            n = _image_count(c1, len(samples.images))
            attacks = c2.multiselect("attacks", ATTACKS, default=list(ATTACKS), key=K_ATTACKS,
                                     format_func=lambda a: figs.TITLES[a])
            go = st.form_submit_button("Evaluate batch", type="primary")
    if not go or not attacks:
        return
    update, done = ui.progress_bar(f"Scoring {n} clean images and their attacked versions…")
    with ui.user_errors("batch evaluation"):
        ev = cache_detection.batch_evaluation(
            sel.model_key, state.array_key(samples.images[:n]), n, tuple(attacks), sel.model, samples.images,
            **_params(cfg), _progress=update)
    done()
    state.remember(K_BATCH, sel.model_key, {"ev": ev, "names": samples.names[:n],
                                            "provenance": export.provenance(sel, with_image=False)})
    st.rerun()  # so the threshold slider is recalibrated on the new batch at once


def _batch_section(batch: dict, stat: str, t: float) -> None:
    ev = batch["ev"]
    clean = ev.clean.statistic(stat)
    scored = {k: a for k, a in ev.attacks.items() if a.scores is not None}
    rows, rocs, points = [], {}, {}
    for name, a in ev.attacks.items():
        row = {"attack": figs.TITLES[name], "success rate": a.success.mean(),
               "n attacked": int(a.success.sum())}
        if name in scored:
            m, at_t = a.metrics(ev.clean, stat), a.metrics(ev.clean, stat, threshold=t)
            rocs[name], points[name] = m.roc, (at_t.fpr, at_t.tpr)
            row |= {"AUC": m.auc, "TPR @ 5% FPR": m.tpr, "FPR @ t": at_t.fpr, "TPR @ t": at_t.tpr,
                    "recovery @ t": at_t.recovery}
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="det_batch_table")
    left, right = st.columns(2)
    left.plotly_chart(figs.roc_figure(rocs, points), key="det_roc", config=ui.NO_BAR)
    right.plotly_chart(figs.histogram_figure(clean, {k: a.scores.statistic(stat) for k, a in scored.items()},
                                             t), key="det_hist", config=ui.NO_BAR)
    fpr, _ = rates(clean, clean, t)
    st.caption(f"{len(clean)} clean images, false-positive rate {fpr:.1%} at t = {t:.4g}; "
               f"config {ev.config}; {ev.seconds:.1f} s. Only successfully attacked images count as "
               "attacked.")
    attacked = {k: {"original_label": a.original.tolist(), "score": a.scores.statistic(stat).tolist(),
                    "recovered": a.scores.recovered.tolist()} for k, a in scored.items()}
    payload = {"config": ev.config, "statistic": stat, "threshold": t, "summary": ev.summary(stat),
               "clean": {"names": list(batch["names"]), "label": ev.clean.label.tolist(),
                         "score": clean.tolist()}, "attacked": attacked}
    st.download_button("Export results (JSON)", export.json_text(payload, batch["provenance"], indent=1, default=float),
                       file_name="detection.json", mime="application/json", key="det_export")


def main() -> None:
    st.title("Detection scores")
    st.markdown("Near a natural image the decision boundaries curve one way; just across a boundary (a small "
                "adversarial perturbation) the boundary towards the original class curves the other way. "
                "Algorithm 2 averages the curvature c_i of F_i = f_i − f_k̂ along T random directions at "
                "the image.")
    st.caption(SIGN_NOTE)
    sel = state.require()
    cfg = _settings(sel)
    calib = _calibration(sel, cfg)
    with ui.section_errors("example"):
        examples.detection_banner(sel, _params(cfg), cfg["stat"], calib["threshold"][cfg["stat"]] if calib else None)
    versions = _versions(sel, cfg)
    batch = _batch(sel)
    with ui.user_errors("threshold"):
        t = _threshold(sel, versions, batch, cfg["stat"], calib)
    st.subheader("The chosen image and its attacked versions")
    if versions:
        with ui.section_errors("image scores display"):
            _image_section(sel, versions, cfg["stat"], t)
    st.subheader("Batch evaluation: ROC, histograms, operating point")
    _run_batch(sel, cfg)
    batch = _batch(sel)
    if batch:
        with ui.section_errors("batch display"):
            _batch_section(batch, cfg["stat"], t)
    else:
        st.info("Evaluate a batch to see the ROC per attack and the false- and true-positive rates at t on "
                "the sample images.")

main()
