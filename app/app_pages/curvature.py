"""Curvature spectra (paper section 3): the principal curvatures of the decision boundary near the image,
the most curved directions, cross-sections along them, and the link between curvature and vulnerability.
"""

import json

import numpy as np
import streamlit as st

from app import cache, estimates, examples, glossary, heavy, state, ui
from app import exports as export
from app.cache import curvature as cache_curvature
from app.cache.figures import figure
from app.figures import curvature as figs
from geometry.decision import DEFAULT_FD_STEP
from geometry.spectrum import MAX_FULL_DIM, CurvatureSpectrum

K_CONFIG, K_VIEW, K_VULN, K_SWEEP = "curv_config", "curv_view", "curv_vuln", "curv_h_done"
VIEWS = ("Profile", "Directions", "Cross-sections", "Vulnerability", "Step h", "Over the sample set")
K_DATASET = "curv_dataset"
H_STEPS = (0.01, 0.05, 0.2, 0.5, 1.0)
SIGN = ("**Sign convention.** F = f_k − f_k̂ with k the adversarial class; x lies where F < 0. A **positive** "
        "curvature means the boundary curves around x's region, like a ball around it (a sphere of radius R "
        "around x gives +1/R in every direction); a **negative** one means it bends away from x's region.")


def _run_key(sel, config: dict, **extra: object) -> str:
    """What identifies a requested run: model, image, settings. Results are shown only while it still holds."""
    return json.dumps([sel.model_key, sel.image_key, config, extra], sort_keys=True, default=str)


def _settings(sel) -> dict | None:
    """The form; the submitted config lives in session state so display changes do not recompute.

    Small inputs (full solver) compute on load and after a model or image change; large ones (Lanczos) only
    for the model and image the button was pressed for.
    """
    names, small = sel.model.class_names, sel.model.dim <= MAX_FULL_DIM
    # HVP method and solver sit outside the form: they decide which of h and k act, and only those show.
    c = st.columns([1, 1, 4])
    method = c[0].selectbox("HVP", ["auto", "exact", "fd"], key="curv_method",
                            format_func=lambda m: "finite diff." if m == "fd" else m,
                            help="auto: exact for smooth nets, finite differences for ReLU nets.\n\n"
                                 + glossary.help_for("HVP"))
    solver = c[1].selectbox("solver", ["auto", "full", "lanczos"], key="curv_solver",
                            help=f"auto: the full spectrum up to {MAX_FULL_DIM} dimensions, Lanczos above.\n\n"
                                 + glossary.help_for("Lanczos"))
    uses_h = method == "fd" or (method == "auto" and sel.model.card.smooth is not True)
    uses_k = solver == "lanczos" or (solver == "auto" and not small)
    h, k = DEFAULT_FD_STEP, 10
    with st.form("curv_form"):
        c = list(st.columns(4))
        target = c[0].selectbox("target class k", [None, *range(len(names))], key="curv_target",
                                format_func=lambda t: "DeepFool's" if t is None else names[t])
        at = c[1].selectbox("measured at", ["boundary", "input"], key="curv_at",
                            format_func=lambda a: {"boundary": "z = x + r(x)", "input": "x itself"}[a])
        if uses_h:
            h = c[2].number_input("FD step h", 0.001, 5.0, DEFAULT_FD_STEP, 0.01, format="%.3f", key="curv_h",
                                  help=glossary.help_for("FD step h"))
        if uses_k:
            k = c[3].slider("k (Lanczos)", 2, 50, 10 if small else estimates.LARGE_CURVATURES, key="curv_k")
        run = st.form_submit_button("Compute spectrum", type="primary")
    config = dict(target=target, at=at, method=method, h=float(h), solver=solver, k=int(k))
    here = (sel.model_key, sel.image_key)
    saved = st.session_state.get(K_CONFIG)
    if run:
        heavy.forget("curvature")
    if run or (small and (saved is None or saved[0][0] != sel.model_key)):
        saved = st.session_state[K_CONFIG] = (here, config)
    if saved is None or saved[0][0] != sel.model_key or (saved[0] != here and not small):
        return None
    return saved[1]


def _metrics(spec: CurvatureSpectrum, names) -> None:
    c = st.columns(6)
    c[0].metric("boundary", f"{names[spec.label]} | {names[spec.target]}")
    c[1].metric("max κ", f"{spec.max_curvature:+.4g}")
    c[2].metric("min κ", f"{spec.min_curvature:+.4g}")
    c[3].metric("HVPs", spec.n_hvp)
    c[4].metric("time", f"{spec.seconds:.1f} s")
    fd_full = spec.method == "fd" and spec.solver == "full"  # residuals against the unsymmetrised matrix
    # With a symmetrised finite-difference matrix the residual is of the unsymmetrised one: its size is the
    # asymmetry, not a solver error, and the label must say so beside "converged: True".
    label = "max ‖Gv − λv‖ (asymmetry)" if fd_full else "max ‖Gv − λv‖"
    c[5].metric(label, f"{float(np.max(spec.residuals)):.2g}", help=glossary.help_for("residual") + (
        "\n\nHere the residuals are taken against the finite-difference matrix before symmetrising, so they "
        "measure its asymmetry (caption below) rather than a solver error." if fd_full else ""))
    how = "exact HVPs" if spec.method == "exact" else f"finite-difference HVPs at h = {spec.h:g}"
    relu = ": usual for finite differences of a ReLU net at every h; curvatures at the scale h"
    sym = (f", symmetrised (asymmetry ‖M − Mᵀ‖/‖M‖ = {spec.asymmetry:.2g}{relu if spec.method == 'fd' else ''})"
           if spec.solver == "full" else "")
    st.caption(f"{spec.solver} solver, {how}{sym}; {len(spec.eigenvalues)} of {spec.dim - 1} curvatures; "
               f"‖∇F‖ = {spec.grad_norm:.3g}; converged: {spec.converged}.")
    if spec.solver == "full" and len(spec.eigenvalues) > 10:  # the phenomenon, measured on this image
        mag = np.abs(np.asarray(spec.eigenvalues))
        big, ratio = float(np.mean(mag > 0.1 * mag.max())), float(mag.max() / max(np.median(mag), 1e-12))
        verdict = ("flat along most directions, curved along a few" if big < 0.25 and ratio > 10 else
                   "**not** the paper's picture here (curvature spread over many directions)")
        st.markdown(f"On this image the boundary is {verdict}: only **{big:.0%}** of the {len(mag)} directions "
                    f"have |κ| above 10 % of the largest, and the largest |κ| is **{ratio:.0f}×** the median.")
    for warning in glossary.spectrum_warnings(spec):
        st.warning(warning, icon=":material/warning:")



def _profile(sel, config, spec) -> None:
    left, right = st.columns(2)
    left.plotly_chart(figure(figs.profile_figure, {"this image": spec}), key="curv_profile")
    slq = None
    if st.toggle("add the SLQ density estimate", key="curv_slq"):
        update, done = ui.progress_bar("Stochastic Lanczos quadrature…")
        with ui.section_errors("SLQ density"):  # on failure: the spectrum's own density, without SLQ
            slq = cache_curvature.density(sel.model_key, sel.image_key, config, 8, 40, sel.model, sel.image,
                                          update)
        done()
    right.plotly_chart(figure(figs.density_figure, spec, slq), key="curv_density")


def _planes(sel, spec) -> None:
    c = st.columns(3)
    which = c[0].segmented_control("curved direction", ["most positive", "most negative"], key="curv_which",
                                   default="most positive") or "most positive"
    r = 1.0 if spec.perturbation is None else float(np.linalg.norm(spec.perturbation))
    extent = c[1].slider("extent (× ‖r(x)‖)", 0.5, 10.0, 3.0, 0.5, key="curv_extent") * r
    seed = c[2].number_input("random direction seed", 0, 10_000, 0, key="curv_seed")
    u = spec.positive_directions(1)[0] if which == "most positive" else spec.negative_directions(1)[0]
    rnd = np.random.default_rng(int(seed)).standard_normal(spec.x.shape)
    n = 61 if spec.dim <= MAX_FULL_DIM else 31  # large nets: fewer forward passes on CPU
    planes, clipped = [], []
    for title, d, kind in ((f"(normal, {which} curvature)", u, "normal × curvature"),
                           ("(normal, random)", rnd, "normal × random")):
        cs = cache_curvature.plane(sel.model_key, sel.model, spec.point, d, spec.normal, extent=extent,
                                   resolution=n, ref_class=spec.target, kind=kind)
        planes.append(dict(title=title, labels=cs.labels, a=cs.a, b=cs.b, label=spec.label, target=spec.target))
        clipped.append(cs.outside_fraction)
    st.plotly_chart(figs.planes_figure(planes, sel.model.class_names), key="curv_planes")
    st.caption("Class maps of two planes through the boundary point z (white dot): vertical axis the normal "
               "n (up = out of x's region), horizontal axis a curvature direction (left) or a random one "
               "(right). The black line is the boundary of x's region: curved along the curvature direction, "
               "flat along the random one. As on the Cross-sections page, the grid is adaptive and the planes "
               "are true planes, not clipped: pixel values may leave the pixel range (in "
               f"{clipped[0]:.0%} and {clipped[1]:.0%} of the grid points).")


def _vulnerability(sel, config) -> None:
    st.markdown("S = span of the top-m eigenvectors of the curvature operator averaged over 6 reference "
                "sample images; tested on this image and 2 other samples (a random m-dim subspace captures "
                "about √(m/d) of r(x)).")
    with st.form("curv_vuln_form"):
        c = st.columns([1, 3], vertical_alignment="bottom")
        h = c[0].number_input("FD step h for the reference spectra", 0.001, 5.0, 1.0, 0.05, key="curv_vuln_h",
                              help="ReLU nets: at h near ‖r(x)‖ the shared curvature subspace separates best "
                                   "from random ones; smooth nets use exact HVPs and ignore h.")
        run = c[1].form_submit_button("Run the subspace experiment", key="curv_vuln_run")
    config = {key: config[key] for key in ("method", "solver", "k")} | {"h": float(h)}
    key = _run_key(sel, config)
    if not state.requested(K_VULN, key, run):
        st.info("Press *Run the subspace experiment* (6 reference spectra and restricted DeepFool) for this "
                "model, image and settings.")
        return
    exp = _subspace(sel, config, key)
    if exp is None:
        return
    st.plotly_chart(figs.vulnerability_figure(exp), key="curv_vuln_fig")
    st.caption(f"{exp.n_hvp} HVPs, {exp.n_forward} forward passes, {exp.seconds:.1f} s. Fooling counts "
               f"only when ‖r_S‖ ≤ {exp.budget:g}·‖r(x)‖; restricted perturbations are not clipped to "
               "pixel bounds.")


def _subspace(sel, config, key):
    """The subspace experiment for the requested run; a failed run is forgotten, not retried on every rerun."""
    state.forget(K_VULN)
    samples = cache.sample_set(sel.model.input_shape, sel.model.card.dataset)
    others = [i for i in range(len(samples.images)) if not np.array_equal(samples.images[i], sel.image)]
    tests = np.concatenate([sel.image[None], samples.images[others[:2]]])
    refs = samples.images[others[2:8]]
    full = config["solver"] == "full" or (config["solver"] == "auto" and sel.model.dim <= MAX_FULL_DIM)
    cap = sel.model.dim // 2 if full else 6 * 2 * config["k"]  # Lanczos spectra hold 2k directions each
    dims = tuple(m for m in (1, 2, 5, 10, 20, 50, 100, 200) if m <= cap)
    update, done = ui.progress_bar("Reference spectra and restricted DeepFool…")
    exp = None
    with ui.section_errors("subspace experiment"):
        exp = cache_curvature.subspace(sel.model_key, sel.image_key, config, dims, sel.model, tests, refs,
                                       update)
        state.remember(K_VULN, key)
    done()
    return exp


def _h_sweep(sel, config) -> None:
    st.markdown("ReLU networks have no curvature at an infinitesimal scale: finite-difference HVPs measure "
                "it at the scale h. Larger h averages over more linear pieces.")
    config = {key: value for key, value in config.items() if key != "h"}
    key = _run_key(sel, config, steps=H_STEPS)
    if not state.requested(K_SWEEP, key, st.button(f"Compare h ∈ {H_STEPS}", key="curv_h_run")):
        return
    state.forget(K_SWEEP)  # a failed run is forgotten, not retried on every rerun
    update, done = ui.progress_bar("Spectra for several h…")
    with ui.section_errors("step sweep") as failed:
        sweep = cache_curvature.h_sweep(sel.model_key, sel.image_key, config, H_STEPS, sel.model,
                                        sel.image, update)
    done()
    if failed:
        return
    state.remember(K_SWEEP, key)
    st.plotly_chart(figs.profile_figure(sweep), key="curv_h_fig")
    st.caption("; ".join(f"{name}: κ ∈ [{s.min_curvature:+.3g}, {s.max_curvature:+.3g}], asymmetry "
                         f"{s.asymmetry:.2g}" for name, s in sweep.items()))


def _dataset(sel, config) -> None:
    """The paper's Figure 5b for this model: every sample's sorted profile, the median and the 10–90 % band."""
    samples = cache.sample_set(sel.model.input_shape, sel.model.card.dataset)
    most = min(200, len(samples.images))
    st.markdown(f"The sorted principal curvatures at the boundary point of each of the first N images of the "
                f"sample set ({len(samples.images)} images), summarised by their median and 10–90 % band "
                "(the settings above: HVP method, h, solver).")
    with st.form("curv_dataset_form"):
        n = st.slider("Images N", 5, most, min(50, most), step=5, key="curv_dataset_n")
        go = st.form_submit_button("Compute over the sample set", type="primary")
    key = _run_key(sel, config, n=n, dataset=sel.model.card.dataset)
    if not state.requested(K_DATASET, key, go):
        return
    update, done = ui.progress_bar(f"Curvature spectra of {n} images…")
    with ui.section_errors("dataset-level profile") as failed:
        profile = cache_curvature.dataset_profile(sel.model_key, f"{sel.model.card.dataset}:{len(samples.images)}",
                                                  n, config, sel.model, samples, update)
    done()
    if failed:
        return
    st.plotly_chart(figs.dataset_profile_figure({sel.model.name: profile}), key="curv_dataset_fig")
    flat = (f"; {np.median(profile.flat_fraction(0.1)):.0%} of curvatures (median over images) are below a "
            "tenth of the image's largest |κ|") if profile.solver == "full" else ""
    st.caption(f"{profile.n_images} images ({len(profile.skipped)} skipped: no boundary found), {profile.n_hvp} "
               f"HVPs in {profile.seconds:.1f} s; κ ranges from {profile.min_curvature.min():+.3g} to "
               f"{profile.max_curvature.max():+.3g}{flat}.")
    st.download_button("Export the profile (JSON)", export.profile_json(profile, {**config, "n": n},
                                                           export.provenance(sel, with_image=False)),
                       key="curv_dataset_export", file_name=f"curvature_profile_{sel.model.name}_{n}.json",
                       mime="application/json")


def main() -> None:
    st.title("Curvature spectra")
    st.markdown("Near an image the decision boundary is flat along most directions and curved along a few; "
                "those few are where the classifier is most vulnerable. " + SIGN)
    sel = state.require()
    with ui.section_errors("example"):
        examples.curved_banner(sel, "curvature")
    config = _settings(sel)
    if config is None:
        st.info(f"This input has {sel.model.dim} dimensions: press *Compute spectrum* (Lanczos, "
                f"{heavy.estimate_text(sel, 'curvature', k=estimates.LARGE_CURVATURES)}) to start "
                "(after a model or image change too).")
        return
    with ui.user_errors("curvature spectrum"):
        spec = heavy.run(sel, "curvature", "Hessian-vector products…",
                         lambda update: cache_curvature.spectrum(sel.model_key, sel.image_key, config, sel.model,
                                                                 sel.image, update),
                         k=config["k"], max_steps=estimates.lanczos_steps(config["k"]))
    _metrics(spec, sel.model.class_names)
    view = st.segmented_control("view", VIEWS, default=VIEWS[0], key=K_VIEW) or VIEWS[0]
    if view == "Profile":
        _profile(sel, config, spec)
    elif view == "Directions":
        st.plotly_chart(figure(figs.directions_figure, spec, m=5), key="curv_dirs",
                        config=ui.NO_BAR)  # images: the toolbar would only cover the last title
        st.caption("Top row: the most positively curved directions; bottom row: the most negative "
                   "(red +, blue −).")
    elif view == "Cross-sections":
        _planes(sel, spec)
    elif view == "Vulnerability":
        _vulnerability(sel, config)
    elif view == "Step h":
        _h_sweep(sel, config)
    else:
        _dataset(sel, config)
    st.download_button("Export spectrum (.npz)", export.spectrum_npz(spec, config, export.provenance(sel)),
                       key="curv_export",
                       file_name=f"curvature_{sel.image_key}.npz", mime="application/octet-stream")


main()
