"""Home: what the tool shows, and the chosen image's prediction and DeepFool perturbation."""

import numpy as np
import streamlit as st

from app import cache, examples, figures, glossary, heavy, state, ui
from app.cache.figures import figure

INTRO = """
**Decision Atlas** explores the geometry of an image classifier in its *input* space, following
Fawzi, Moosavi-Dezfooli, Frossard & Soatto, *Empirical study of the topology and geometry of deep
networks* (CVPR 2018). Every image is a point in a space with one axis per pixel; the classifier splits that
space into regions, one per class, separated by decision boundaries.

- **Cross-sections** cut the space with a 2-D plane through the image and colour each point of the plane by
  the predicted class, so you can see the boundary: flat along random directions, curved along a few.
- **Curvature** measures how the boundary bends near the image (its principal curvatures) and shows that the
  few strongly curved directions are where the classifier is most vulnerable.
- **Connecting paths** join two images of a class by a path that never leaves the class's region, even when
  the straight line between them does.
- **Detection** uses the boundary's curvature to tell clean images from slightly perturbed (adversarial) ones
  and to recover their original label.
- **2-D toy** shows all of this on a classifier whose input is a plane, so the whole space fits on the screen.
"""


def main() -> None:
    st.title("Decision Atlas")
    st.markdown(INTRO)
    with st.expander("Glossary: the terms the views use"):
        st.markdown("\n".join(f"- **{term}**: {text}" for term, text in glossary.TERMS.items()))
    st.caption("New here? The **Guided tour** (last entry of the menu) walks through the views in eight steps.")
    sel = state.require()
    with ui.section_errors("example"):
        examples.home_banner(sel)
    model, names = sel.model, sel.model.class_names
    with ui.user_errors("prediction"):
        probs = cache.probabilities(sel.model_key, sel.image_key, model, sel.image)
        df = heavy.run(sel, "home", "DeepFool…", lambda _: cache.deepfool(sel.model_key, sel.image_key, model,
                                                                        sel.image), cancel=False)
    pred = int(np.argmax(probs))
    st.subheader("The chosen image")
    left, right = st.columns([1, 2])
    with left:
        st.plotly_chart(figure(figures.image_figure, sel.image, title=sel.image_name, height=280), key="home_image",
                        config=ui.NO_BAR)
    with right:
        st.plotly_chart(figure(figures.probability_bar, probs, names, highlight=pred, title="Top-5 probabilities"),
                        key="home_probs", config=ui.NO_BAR)
        truth = "" if sel.true_label is None else f" (true label: {names[sel.true_label]})"
        st.markdown(f"Predicted **{names[pred]}** with probability {probs[pred]:.1%}{truth}.")
    st.subheader("Smallest perturbation that changes the label (DeepFool)")
    st.plotly_chart(figure(figures.deepfool_figure, df, names), key="home_deepfool", config=ui.NO_BAR)
    r_norm = float(np.linalg.norm(df.perturbation[0]))
    x_norm = float(np.linalg.norm(df.x[0]))
    cols = st.columns(4)
    cols[0].metric("‖r(x)‖ (L2)", f"{r_norm:.3f}")
    cols[1].metric("‖r‖ / ‖x‖", f"{r_norm / max(x_norm, 1e-12):.4f}")
    cols[2].metric("distance to boundary", f"{float(df.distance[0]):.3f}")
    cols[3].metric("new label", names[int(df.target[0])] if df.success[0] else "none found")
    st.caption(f"{int(df.iterations[0])} DeepFool steps, {df.n_forward} forward passes, "
               f"overshoot 0.02, on {sel.device.upper()}. The perturbation is drawn red (+) / blue (−), "
               "scaled to its own maximum.")


main()
