"""Boundary cross-sections (docs/paper_notes.md §4): the class of every point x + a·u + b·v of a plane through x."""

from typing import cast

import numpy as np
import streamlit as st

from app import cache, estimates, examples, heavy, state, ui
from app import exports as export
from app.cache import cross_section as xs
from app.cache.figures import figure
from app.figures.common import image_figure, probability_bar
from app.figures.cross_section import cross_section_figure, profile_figure
from geometry.deepfool import BoundaryArrays
from geometry.planes import MAX_EXTENT_PER_DISTANCE, visible_extent
from geometry.regions import region_stats

INTRO = """
A 2-D slice of input space through the image **x**: every point x + a·u + b·v of a grid on the plane
span(u, v) is classified and coloured by its class. **u** is the boundary normal r(x)/‖r(x)‖ from
DeepFool (except for random planes), so the boundary point z = x + r(x) sits on the horizontal axis. The
paper finds the boundary nearly flat in random and (normal, random) planes and visibly curved in
(normal, principal-curvature) planes.
"""
RESOLUTIONS = [20, 30, 40, 60, 80, 100, 150, 200, 250, 300]
EXTENTS = ["auto", *(i / 2 for i in range(1, 41))]  # auto, 0.5, 1.0, ..., 20.0 × ‖r(x)‖
NOTES = """
**How to read it.** The black line is the boundary of x's region: the zero level of
G = f_k̂ − max_{j≠k̂} f_j (k̂ = label of x), which vanishes wherever the label leaves k̂, whatever the class
beyond. Dotted lines (optional) are levels of F = f_k − f_k̂ with **k = DeepFool's target class** (fixed
over the plane; F < 0 on x's side). Extent is the half-width of the square in L2 pixel units; *auto* is
max(3‖r(x)‖, 1/|κ|), at most 10‖r(x)‖, with κ the boundary curve's curvature at z (then the curve departs from
its tangent by at least a quarter of the view's height at the edge). The map is the true plane: its pixel
values may leave the pixel range (the caption says for how many points); clipping them bends the plane.
*Adaptive* evaluates a coarse grid and refines only cells whose corners disagree (and their neighbours);
labels elsewhere are filled, confidence/F/G interpolated. "Forward passes" count images sent through the net.
"""


def _two_others(n: int, current: int | None) -> tuple[int, int]:
    """Default 2nd and 3rd samples for the three-images plane: valid for any sample-set size, never x itself."""
    ok = [i for i in (10, 20, 1, 2, 3, 4, 0) if i < n and i != current]
    return ok[0], ok[1]


def controls(sel) -> dict:
    """The plane kind (outside the form, so only the options that act on it show) and the form with the
    heavy parameters; values apply on submit (the defaults compute on load)."""
    kind = str(st.selectbox("plane", xs.KINDS, key="xs_kind"))
    n = len(cache.sample_set(sel.model.input_shape, sel.model.card.dataset).images)
    with st.form("xs_form"):
        c = st.columns([2, 2, 1, 1])
        mult = c[0].select_slider("extent (× ‖r(x)‖)", EXTENTS, "auto", key="xs_extent",
                                  help="half-width of the square. auto: max(3‖r‖, 1/|κ|), at most "
                                       f"{MAX_EXTENT_PER_DISTANCE:g}‖r‖, so the boundary's bend shows; for "
                                       "three images, auto (or 3) = the triangle with a margin")
        res = c[1].select_slider("resolution (n × n)", RESOLUTIONS,
                                 estimates.LARGE_GRID if estimates.is_large(sel.model) else 60, key="xs_res")
        seed, curv, others = 0, "largest |κ|", (0, 1)
        if "random" in kind:  # the seed draws the random direction(s); other planes have none
            seed = c[2].number_input("seed", 0, 10_000, 0, key="xs_seed")
        method = c[3].radio("grid", ["adaptive", "dense"], key="xs_method")
        c = st.columns([2, 2, 2, 2])
        clip = c[0].checkbox("clip points to the pixel range", False, key="xs_clip",
                             help="Off: the true plane x + a·u + b·v, whose pixel values may leave the range. "
                                  "On: every point is clamped to it, which bends the plane.")
        if kind == "normal × curvature":
            curv = str(c[1].selectbox("curvature direction", ["largest |κ|", "most positive", "most negative"],
                                      key="xs_curv", help="Lanczos on the HVPs at z = x + r(x)"))
        if kind == "three images":
            p0, q0 = _two_others(n, st.session_state.get(state.SAMPLE_INDEX))
            others = (c[1].number_input(f"2nd sample # (0–{n - 1})", 0, n - 1, p0, key=f"xs_p_{n}"),
                      c[2].number_input(f"3rd sample # (0–{n - 1})", 0, n - 1, q0, key=f"xs_q_{n}"))
        st.form_submit_button("Compute", type="primary", key="xs_submit")
    return dict(kind=kind, mult=mult if mult == "auto" else float(cast(float, mult)), res=int(res), seed=int(seed),
                method=method, clip=bool(clip), curv=curv, others=tuple(int(i) for i in others))


def compute(sel, cfg: dict, df: BoundaryArrays):
    """Plane, grid, profiles and statistics (cached: display options never recompute them)."""
    plane_key = (cfg["kind"], cfg["seed"], cfg["others"], cfg["curv"])
    plane = xs.plane(sel.model_key, sel.image_key, sel.model, sel.image, cfg["kind"], cfg["seed"],
                     cfg["others"], cfg["curv"])
    curv = xs.curvature(sel.model_key, sel.image_key, plane_key, sel.model, plane, clip=cfg["clip"])
    extent = _extent(plane, curv, cfg["mult"])
    ref = int(df.target[0]) if bool(df.success[0]) else None
    cs = heavy.run(sel, "cross-sections", f"Classifying a {cfg['res']}×{cfg['res']} grid ({cfg['method']})…",
                   lambda update: xs.section(sel.model_key, sel.image_key, plane_key, sel.model, plane,
                                             extent=extent, resolution=cfg["res"], method=cfg["method"],
                                             clip=cfg["clip"], ref_class=ref, _progress=update),
                   resolution=cfg["res"])
    prof = xs.profiles(sel.model_key, sel.image_key, plane_key, sel.model, plane, extent=extent,
                       clip=cfg["clip"], ref_class=ref)
    return plane, cs, prof, region_stats(cs), curv


def _extent(plane, curv, mult) -> float:
    """The grid's half-width: mult × ‖r(x)‖, or by the rule of geometry.planes.visible_extent ("auto")."""
    if mult != "auto":
        return plane.default_extent * float(mult) / 3.0
    if not np.isfinite(plane.distance):  # three images: the triangle with a margin
        return plane.default_extent
    return visible_extent(plane.distance, curv.curvature)


def summary(cs, stats, names, curv, bounds) -> None:
    cols = st.columns(5)
    cols[0].metric("forward passes", f"{cs.n_forward:,}", help="images evaluated by the network (the grid)")
    cols[1].metric("dense grid: passes", f"{cs.dense_forward:,}", help="what a dense grid of this size would need")
    cols[2].metric("distance in plane", f"{curv.distance:.3f}" if np.isfinite(curv.distance) else "none found",
                   help="distance from x to the boundary within this plane")
    cols[3].metric("curvature in plane", f"{curv.curvature:.3g}" if np.isfinite(curv.curvature)
                   else "n/a", help="κ of the boundary curve in this plane, from bisection on the model (not the "
                                    "grid): positive when it bends around x (x's region locally convex)")
    cols[4].metric("regions (components)", sum(stats.components.values()))
    frag = ", ".join(f"{names[k]}: {n}" for k, n in stats.components.items())
    lo, hi = bounds
    if cs.clip:
        pixels = (f"Clipped to the pixel range [{lo:g}, {hi:g}]: {cs.clipped_fraction:.0%} of the grid points "
                  "were moved, so this map is not a plane through x (the plane is bent).")
    else:
        pixels = (f"The true plane x + a·u + b·v, not clipped: pixel values may leave [{lo:g}, {hi:g}], and "
                  f"{cs.outside_fraction:.0%} of the grid points have at least one pixel outside.")
    st.caption(f"{pixels} Boundary curvature: {curv.describe()}. Extent ±{cs.extent:.3g}. Connected "
               f"regions per class: {frag}. {cs.seconds:.2f} s.")


@st.fragment
def inspect(sel, plane, cs, fig) -> None:
    """The map and the clicked point's panel: a click reruns only this part, not the page."""
    event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="xs_map")
    st.markdown(NOTES)
    with ui.section_errors("clicked point"):
        detail(sel, plane, cs, event)


def detail(sel, plane, cs, event) -> None:
    """The image at the clicked plane point and its top-5 probabilities."""
    points = [p for p in (event.selection.points if event else []) if "x" in p and "y" in p]
    if not points:
        st.info("Click a point of the map to see the image there and its top-5 probabilities.")
        return
    a, b = float(points[0]["x"]), float(points[0]["y"])
    img, probs = xs.point_detail(sel.model, plane, a, b, cs.clip)
    left, right = st.columns([1, 2])
    # built here, not in the shared figure cache: every click is a new point, and one student's clicks would
    # push the figures the whole class shares out of it
    left.plotly_chart(image_figure(img, title=f"a = {a:.2f}, b = {b:.2f}", height=280), key="xs_point_img",
                      config=ui.NO_BAR)  # the toolbar would cover the title
    right.plotly_chart(probability_bar(probs, sel.model.class_names, highlight=int(np.argmax(probs)),
                                       title="Top-5 probabilities at the clicked point"), key="xs_point_probs")


def exports(sel, cs, fig) -> None:
    cfg, prov = export.cross_section_config(cs, sel), export.provenance(sel)
    c = st.columns(3)
    # Callables: the files (megabytes for a 300×300 grid) are built when clicked, not on every rerun.
    c[0].download_button("Figure (HTML)", lambda: export.figure_html(fig, prov), "cross_section.html",
                         "text/html", key="xs_dl_html")
    c[1].download_button("Grid + config (.npz)", lambda: export.cross_section_npz(cs, cfg, prov), "cross_section.npz",
                         "application/octet-stream", key="xs_dl_npz")
    c[2].download_button("Grid + config (JSON)", lambda: export.cross_section_json(cs, cfg, prov), "cross_section.json",
                         "application/json", key="xs_dl_json")
    st.caption("PNG: use the camera icon of the figure's toolbar (server-side PNG export needs kaleido, "
               "which is not installed).")


def main() -> None:
    st.title("Boundary cross-sections")
    st.markdown(INTRO)
    sel = state.require()
    with ui.section_errors("example"):
        examples.curved_banner(sel, "cross_sections")
    names = sel.model.class_names
    with ui.user_errors("DeepFool"):
        df = cache.deepfool(sel.model_key, sel.image_key, sel.model, sel.image)
    cfg = controls(sel)
    with ui.user_errors("cross-section"):
        plane, cs, prof, stats, curv = compute(sel, cfg, df)
    if cfg["kind"] == "normal × curvature":
        st.caption(plane.note)
    summary(cs, stats, names, curv, sel.model.bounds)
    show = st.columns([2, 2, 3])
    levels = show[0].slider("F contour levels (each side)", 0, 6, 0, key="xs_flevels")
    clickable = show[1].toggle("clickable points", True, key="xs_clickable")
    title = f"{plane.kind} plane through {sel.image_name}, predicted {names[cs.label_x]}"
    fig = figure(cross_section_figure, cs, names, f_levels=levels, clickable=clickable, title=title)
    inspect(sel, plane, cs, fig)
    st.subheader("F along u and along v through x")
    st.plotly_chart(figure(profile_figure, prof, names, distance=plane.distance if "normal" in plane.kind else None),
                    key="xs_profile")
    exports(sel, cs, fig)


main()
