"""Findings: the paper's four claims measured on the selected model and its sample set, each beside the
paper's number and a baseline, with a verdict by a stated rule (the same report as `decision-atlas reproduce`)."""


import streamlit as st

from app import cache, state, ui
from app import exports as export
from app.cache import findings as cache_findings
from app.figures import report as fig
from geometry.reproduce import CLAIMS, ReproduceConfig
from geometry.spectrum import MAX_FULL_DIM  # the reproduce report needs full spectra up to this d

INTRO = """The paper (Fawzi et al., CVPR 2018; notes in docs/paper_notes.md) makes four claims. Here each is
measured on **this** model and images from its held-out set, next to the paper's own number (where it gives one)
and a trivial baseline, with a verdict computed by the rule shown. A claim that does not hold on a small
MNIST net is a finding, not a bug. The command line gives the same report:
`decision-atlas reproduce --model M --images samples --limit N --out DIR`."""
ARGS = "findings_args"
CLASS_CHOICES = {"all (Algorithm 2)": None, "top 2 by logit": 2, "runner-up only": 1}
VERDICT_ICONS = {"holds": "✅", "partly": "🟠", "does not hold": "❌", "not measured": "➖"}


def _form(n_images: int, owner: tuple[str, str]) -> tuple[int, int, tuple[str, ...], ReproduceConfig] | None:
    """The run's settings; None until the button is pressed for this model and sample set (`owner`)."""
    with st.form("findings_form"):
        c1, c2, c3 = st.columns(3)
        n = c1.slider("Images N", 4, min(100, n_images), min(20, n_images), key="findings_n",
                      help="The cost grows with N: each image needs its full curvature spectrum (d − 1 "
                           "Hessian-vector products), its attacks and its detection scores")
        start = c2.number_input(f"First image (0–{n_images - n})", 0, max(0, n_images - 4), 0, key="findings_start")
        seed = c3.number_input("Seed", 0, 10_000, 0, key="findings_seed")
        claims = st.multiselect("Claims", CLAIMS, default=list(CLAIMS), key="findings_claims")
        with st.expander("Detection parameters (choose them on a validation split, not on these images)"):
            d = ReproduceConfig()
            e1, e2, e3, e4 = st.columns(4)
            t = e1.number_input("directions T", 1, 256, d.directions, key="findings_T")
            h = e2.number_input("FD step h", 0.001, 5.0, d.detection_h, format="%.3f", key="findings_h")
            alpha = e3.slider("toward boundary α", 0.0, 1.0, d.toward_boundary, key="findings_alpha")
            thr = e4.text_input("threshold (empty: at 5 % FPR here)", "", key="findings_threshold")
            f1, f2 = st.columns(2)
            classes = f1.selectbox("classes scored", list(CLASS_CHOICES), key="findings_classes",
                                   help="Algorithm 2 averages over all other classes; docs/findings.md compares "
                                        "the top-2 and the runner-up only")
            statistic = f2.radio("statistic", ("mean", "min"), horizontal=True, key="findings_statistic",
                                 help="mean: Algorithm 2's ρ; min: the most curved class")
        pressed = st.form_submit_button("Run the experiments", type="primary", key="findings_run")
    if pressed:
        try:
            threshold = float(thr) if thr.strip() else None
        except ValueError:
            st.error(f"The threshold must be a number or empty, got {thr!r}.")
            return None
        start = min(int(start), n_images - n)
        cfg = ReproduceConfig(seed=int(seed), directions=int(t), detection_h=float(h), toward_boundary=float(alpha),
                              threshold=threshold, classes=CLASS_CHOICES[str(classes)], statistic=str(statistic))
        if not claims:
            st.warning("Pick at least one claim.")
            return None
        state.remember(ARGS, owner, (n, start, tuple(c for c in CLAIMS if c in claims), cfg))
    return state.recall(ARGS, owner)  # another model: press again


def _claim(name: str, claim: dict) -> None:
    verdict = claim.get("verdict", "not measured")
    st.subheader(fig.CLAIM_TITLES[name])
    st.markdown(f"{VERDICT_ICONS.get(verdict, '')} **{verdict}** — {claim.get('why', '')}")
    st.caption(f"Rule: {claim.get('rule', '')}")
    figure = fig.FIGURES[name](claim)
    if figure is not None:
        st.plotly_chart(figure, key=f"findings_{name}", config=ui.NO_BAR)
    cols = st.columns(3)
    for col, part in zip(cols, ("ours", "paper", "baseline"), strict=True):
        col.markdown(f"**{part}**")
        col.json(claim.get(part) or {}, expanded=False)


def main() -> None:
    st.title("Findings: the paper's claims on this model")
    st.markdown(INTRO)
    sel = state.require()
    model = sel.model
    with ui.user_errors("sample set"):
        samples = cache.sample_set(model.input_shape, model.card.dataset)
    if len(samples.images) < 4:
        st.warning("The sample set of this model has fewer than 4 images: the experiments need more.")
        return
    if model.dim > MAX_FULL_DIM:
        st.warning(f"This model's inputs have d = {model.dim:,} numbers: the curvature and subspace claims need the "
                   f"full spectrum (d − 1 Hessian-vector products per image, up to d = {MAX_FULL_DIM:,}) and will "
                   "be reported as not measured; paths and detection on a CPU take minutes per image.")
    args = _form(len(samples.images), (sel.model_key, state.sample_set_key(model)))
    if args is None:
        st.caption("Press the button: the four experiments run on the chosen images (progress below).")
        return
    n, start, claims, cfg = args
    update, done = ui.progress_bar(f"Running {', '.join(claims)} on {n} images…")
    with ui.user_errors("experiments"):
        report = cache_findings.report(sel.model_key, state.sample_set_key(model), start, n, claims, cfg,
                                       _model=model, _images=samples.images, _progress=update)
    done()
    rows = [f"| {c} | {VERDICT_ICONS.get(report[c]['verdict'], '')} {report[c]['verdict']} | {report[c]['why']} |"
            for c in CLAIMS]
    st.markdown("| claim | verdict | why |\n|---|---|---|\n" + "\n".join(rows))
    d1, d2 = st.columns(2)
    stem = f"findings_{model.name}_{start}-{start + n}"
    page = cache_findings.report_html(sel.model_key, state.sample_set_key(model), start, n, claims, cfg,
                                      _report=report)
    d1.download_button("Download the report (HTML, works offline)", page,
                       file_name=f"{stem}.html", mime="text/html", key="findings_html")
    d2.download_button("Download the report (JSON)",
                       export.report_json(report, export.provenance(sel, with_image=False)), file_name=f"{stem}.json",
                       mime="application/json", key="findings_json")
    for name in CLAIMS:
        _claim(name, report[name])


main()
