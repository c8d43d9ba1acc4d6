"""Compare: two models that take the same input, side by side on the same scales (default: a standard
Fashion-MNIST CNN and its adversarially trained twin)."""

import numpy as np
import streamlit as st

import geometry as g
from app import cache, figures, ui
from app import exports as export
from app.cache import compare as cache_compare
from app.figures import compare as fig
from app.figures.cross_section import cross_section_figure
from app.state import array_key, requested, sample_set_key
from geometry.compare import TYPICAL_RULE, check_comparable

INTRO = """Two models, one image, the same scales. Adversarial (robust) training is known to push the decision
boundary away from the data and to flatten it; here you can measure both on the same images. Pick two models
that read the same inputs; the image comes from the first model's held-out set."""


def _image_models() -> list[str]:
    return [n for n in g.list_embedded() if len(g.loading.read_card(n)["input_shape"]) == 3]


def _pick_models() -> tuple[str, str]:
    names = _image_models()
    left, right = st.columns(2)
    picks: list[str] = []
    for col, key, default in zip((left, right), ("compare_a", "compare_b"), cache_compare.DEFAULT_PAIR,
                                 strict=True):
        st.session_state.setdefault(key, default if default in names else names[0])
        picks.append(str(col.selectbox(f"Model {'A' if key.endswith('a') else 'B'}", names, key=key)))
    return picks[0], picks[1]


def _pick_image(model: g.Classifier, names: tuple[str, str]) -> tuple[np.ndarray, str]:
    samples = cache.sample_set(model.input_shape, model.card.dataset)
    n = len(samples.images)
    typical = cache_compare.typical(names, model.card.dataset, sample_set_key(model))
    if st.session_state.get("compare_pair") != names:  # a new pair opens on its own typical image
        st.session_state["compare_pair"] = names
        st.session_state["compare_sample"] = typical
    left, right = st.columns([3, 1])
    i = left.number_input(f"Sample (0–{n - 1}) from {model.name}'s held-out set", min_value=0, max_value=n - 1,
                          step=1, key="compare_sample")
    right.button("Random example", key="compare_random", on_click=_random_sample, args=(n,))
    rule = TYPICAL_RULE.format(n=min(cache_compare.TYPICAL_POOL, n))
    st.caption(f"Opens on sample {typical}, {rule}. (The sidebar's image is not used on this page.)")
    return samples.images[i], samples.names[i]


def _random_sample(n: int) -> None:
    st.session_state["compare_sample"] = int(np.random.default_rng().integers(n))


def _predictions(comparison, names_a, names_b) -> None:
    cols = st.columns(2)
    for col, m, names in zip(cols, (comparison.a, comparison.b), (names_a, names_b), strict=True):
        with col:
            st.markdown(f"**{m.name}**: predicts **{names[m.label]}** ({m.probability:.1%}); DeepFool moves it "
                        f"to **{names[m.target]}**")
            c1, c2 = st.columns(2)
            c1.metric("‖z − x‖", f"{m.distance:.3f}", help="distance to the boundary found by DeepFool")
            c2.metric("max |κ| at z", f"{m.largest_curvature:.3g}",
                      help="the largest principal curvature (in absolute value) at the boundary point z")


def _planes(planes: dict, names: tuple[str, str], class_names) -> None:
    st.subheader("Cross-sections at the same extent")
    st.caption("Each model's own normal × random plane (u = its DeepFool direction), both squares the same "
               "size: 3× the larger DeepFool distance. True linear planes: pixel values may leave [0, 1].")
    cols = st.columns(2)
    for col, cs, name in zip(cols, planes["own"], names, strict=True):
        col.plotly_chart(cross_section_figure(cs, class_names, clickable=False, height=420, title=name),
                         key=f"compare_plane_{name}", config=ui.NO_BAR)
    st.markdown("**One plane, both boundaries.** u = model A's DeepFool direction, v = model B's (made "
                "orthogonal); each line is where that model's label of x ends.")
    st.plotly_chart(fig.boundaries_figure(planes["shared"], names), key="compare_shared", config=ui.NO_BAR)


def _batch(a: g.Classifier, names: tuple[str, str]) -> None:
    st.subheader("Over the sample set")
    with st.form("compare_batch"):
        n = st.slider("Images (the first N of model A's held-out set)", 10, 200, 50, step=10, key="compare_n")
        detection = st.checkbox("Also evaluate the curvature detector against DeepFool", value=True,
                                key="compare_detection")
        go = st.form_submit_button("Compute for both models", type="primary")
    if not requested("compare_batch_args", (names, n, detection), go):
        st.caption("Press the button: profiles cost one curvature spectrum per image per model.")
        return
    update, done = ui.progress_bar(f"Curvature profiles{' and detection' if detection else ''} for {n} images…")
    with ui.user_errors("batch comparison"):
        result = cache_compare.batch(names, a.card.dataset, n, detection, sample_set_key(a), _progress=update)
    done()
    st.info(result.summary())
    st.plotly_chart(fig.profiles_figure(result), key="compare_profiles", config=ui.NO_BAR)
    cols = st.columns(2)
    cols[0].plotly_chart(fig.distances_figure(result), key="compare_distances", config=ui.NO_BAR)
    if result.detection is not None:
        cols[1].plotly_chart(fig.roc_figure(result), key="compare_roc", config=ui.NO_BAR)
    prov = {n: cache.provenance(n, "", cache_compare.model(n), None) for n in names}
    st.download_button("Download the comparison (JSON)", export.comparison_json(result, prov),
                       file_name=f"compare_{names[0]}_{names[1]}.json", mime="application/json")


def main() -> None:
    st.title("Compare two models")
    st.markdown(INTRO)
    names = _pick_models()
    names = (names[0], names[1])
    with ui.user_errors("model loading"):
        a, b = (cache_compare.model(n) for n in names)
        check_comparable(a, b)
    image, image_name = _pick_image(a, names)
    key = array_key(image)
    with ui.user_errors("comparison"):
        comparison = cache_compare.image(names, key, image)
    st.info(comparison.summary())
    left, right = st.columns([1, 3])
    left.plotly_chart(figures.image_figure(image, title=image_name, height=260), key="compare_image",
                      config=ui.NO_BAR)
    with right:
        _predictions(comparison, a.class_names, b.class_names)
    st.plotly_chart(fig.perturbations_figure(comparison), key="compare_perturbations", config=ui.NO_BAR)
    with ui.section_errors("cross-sections"):
        planes = cache_compare.planes(names, key, image, comparison)
        _planes(planes, names, a.class_names)
    st.plotly_chart(fig.spectra_figure(comparison), key="compare_spectra", config=ui.NO_BAR)
    _batch(a, names)


main()
