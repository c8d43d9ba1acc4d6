"""2-D toy (teaching): the whole input space of a 2-D classifier, where every picture of the image views can be
drawn in full: the class map and its boundary (cross-sections), DeepFool's r(x) and the boundary's one principal
curvature (paper section 3), and a connecting path inside a region (paper section 1, Algorithm 1).
"""

import numpy as np
import streamlit as st

from app import ui
from app.cache import toy as cache_toy
from app.figures import toy as figs
from geometry import AtlasError
from geometry.paths import PathConfig

RESOLUTION, CLICK_STEP, N_DATA = 121, 2, 600  # grid step 0.05, clicks snap to 0.1
RESOLUTION_STEP = 6 / (RESOLUTION - 1)
K_X, K_A, K_B = ("toy_x0", "toy_x1"), ("toy_a0", "toy_a1"), ("toy_b0", "toy_b1")
K_END, K_POINT_CHART, K_PATH_CHART = "toy_click_end", "toy_point_chart", "toy_path_chart"
START, END = "x1 (start)", "x2 (end)"
K_ZOOM, K_PATH_ZOOM, NEAR, WHOLE = "toy_zoom", "toy_path_zoom", "zoomed in", "whole plane"
DEFAULTS = {**dict(zip(K_X, cache_toy.DEFAULT_X, strict=True)),
            **dict(zip(K_A, cache_toy.DEFAULT_ENDS[0], strict=True)),
            **dict(zip(K_B, cache_toy.DEFAULT_ENDS[1], strict=True)), K_END: START, K_ZOOM: NEAR, K_PATH_ZOOM: NEAR}


def _clicked(chart_key: str) -> tuple[float, float] | None:
    """The last clicked point of a chart, rounded to the click grid."""
    event = st.session_state.get(chart_key)
    points = [p for p in (event.selection.points if event else []) if "x" in p and "y" in p]
    if not points:
        return None
    return round(float(points[-1]["x"]), 2), round(float(points[-1]["y"]), 2)


def _on_point_click() -> None:
    xy = _clicked(K_POINT_CHART)
    if xy is not None:
        st.session_state[K_X[0]], st.session_state[K_X[1]] = xy


def _on_path_click() -> None:
    """Clicks set x1 or x2 (by the toggle), then the toggle moves to the other end."""
    xy = _clicked(K_PATH_CHART)
    if xy is None:
        return
    start = st.session_state[K_END] != END
    keys = K_A if start else K_B
    st.session_state[keys[0]], st.session_state[keys[1]] = xy
    st.session_state[K_END] = END if start else START


def _coordinates(keys: tuple[str, str], label: str) -> tuple[float, float]:
    c = st.columns(2)
    a, b = (float(col.number_input(f"{label}: coordinate {i + 1}", -3.0, 3.0, step=0.05, format="%.2f", key=key))
            for i, (col, key) in enumerate(zip(c, keys, strict=True)))
    return a, b


def _attempt(fn, *args):
    """Run a toy computation; a geometry error is shown in place and the rest of the page still renders."""
    try:
        return fn(*args)
    except AtlasError as error:
        st.error(str(error), icon=":material/error:")
        return None


def _whole_plane(model, grid) -> None:
    st.header("1. The whole input space")
    left, right = st.columns([3, 2])
    pts, labels = cache_toy.moons()
    fig = figs.class_map_figure(grid.xs, grid.ys, grid.decision, model.class_names,
                                data=(pts[:N_DATA], labels[:N_DATA]), title="Predicted class on [−3, 3]²")
    left.plotly_chart(fig, key="toy_plane", config=ui.NO_BAR)
    right.markdown(
        "Each pixel of this map is one input, coloured by the class the network predicts there; the black "
        "curve is the **decision boundary**, where the two logits are equal: F = f(lower moon) − f(upper "
        "moon) = 0. The dots are the first 600 of the model's 2000 training points (the two moons, "
        "regenerated with the same seed).\n\n"
        "**In the image views:** a digit has 784 coordinates, so no picture can show its whole input space. "
        "The *Cross-sections* view therefore draws planes like this one: it picks two directions through an "
        "image and colours every point of that 2-D slice by class. Here the slice *is* the whole space, so "
        "nothing is hidden.")


def _boundary_point(model, grid) -> None:
    st.header("2. The nearest boundary point and how the boundary bends there")
    left, right = st.columns([3, 2])
    with right:
        x0, x1 = _coordinates(K_X, "x")
        st.segmented_control("Map", [NEAR, WHOLE], key=K_ZOOM)
        with ui.user_errors("DeepFool and curvature"):
            result = _attempt(cache_toy.point, cache_toy.MODEL_NAME, x0, x1, model)
        if result is not None:
            near = cache_toy.nearest_other(grid, result.spectrum.x, result.spectrum.label)
            _point_metrics(model, result, near)
    fig = figs.class_map_figure(grid.xs, grid.ys, grid.decision, model.class_names, click_step=CLICK_STEP,
                                title="Click the map to move x")
    if result is not None:
        figs.add_boundary_point(fig, result.spectrum)
        extra = [near[0]] if np.isfinite(near[1]) else []
        for xy in extra:
            fig.add_trace(figs.mark(xy, "nearest other-class grid point", "circle-open", "#d62728", edge="#d62728"))
        if st.session_state[K_ZOOM] == NEAR:
            figs.focus(fig, *figs.point_window(result.spectrum, extra=extra), model.bounds)
    left.plotly_chart(fig, key=K_POINT_CHART, on_select=_on_point_click, selection_mode="points")


def _point_metrics(model, result: cache_toy.ToyPoint, near: tuple[np.ndarray, float]) -> None:
    s = result.spectrum
    kappa = float(s.eigenvalues[0])
    r = (s.point - s.x).reshape(-1)  # z − x: DeepFool's adversarial point overshoots past z
    st.markdown(f"x = ({s.x.reshape(-1)[0]:.2f}, {s.x.reshape(-1)[1]:.2f}) is labelled "
                f"**{model.class_names[s.label]}** (F = {result.decision_x:+.2f}).")
    c = st.columns(3)
    c[0].metric("‖r(x)‖ = ‖z − x‖", f"{float(np.linalg.norm(r)):.3f}")
    c[1].metric("F at z", f"{result.decision_z:.1e}")
    c[2].metric("curvatures in 2-D", len(s.eigenvalues))
    c = st.columns(3)
    c[0].metric("curvature κ at z", f"{kappa:+.3f}")
    c[1].metric("radius 1/|κ|", f"{1 / abs(kappa):.3g}" if abs(kappa) > figs.FLAT else "∞")
    c[2].metric("grid: nearest", f"{near[1]:.3f}", help="Distance from x to the nearest grid point "
                f"of the other class (grid step {RESOLUTION_STEP:.2f}): a brute-force check of ‖r(x)‖.")
    side = "around x's region (its centre lies on x's side)" if kappa > 0 else \
        "away from x's region (its centre lies on the other side)"
    st.markdown(
        f"DeepFool estimates **r(x)**, the smallest step that reaches the boundary, at **z = x + r(x)** (the "
        "red ring is the true nearest point of the other class, by brute force on the grid). The normal "
        f"**n** at z points out of x's region. The green dotted **osculating circle** is the circle that "
        f"hugs the boundary at z; its radius is 1/|κ|. Here κ {'> 0' if kappa > 0 else '< 0'}: the boundary "
        f"curves {side}.\n\n"
        "**Sign convention** (as in the *Curvature* view): positive κ = the boundary curves around x's region, "
        "like a circle drawn around x; negative = it bends away from x.\n\n"
        "**In the image views:** the boundary near an image is a (d−1)-dimensional surface, so it bends by a "
        "different amount in each of d−1 tangent directions: d−1 principal curvatures (783 for a digit). "
        "In 2-D the boundary is a curve, the tangent space is a line and there is exactly one. The *Curvature* "
        "view sorts the 783; most are near 0 (flat), a few are large.")
    cos = float(r @ s.normal.reshape(-1) / max(float(np.linalg.norm(r)), 1e-12))
    st.caption(f"Angle between r(x) and n: {np.degrees(np.arccos(np.clip(cos, -1, 1))):.0f}° (0° for the exact "
               "nearest boundary point; DeepFool's linear steps only approximate it). "
               f"κ = tᵀ∇²F t / ‖∇F‖ at z with F = f_{s.target} − f_{s.label}, t the unit tangent; "
               f"{s.method} Hessian-vector products ({s.n_hvp}, residual {float(s.residuals[0]):.1e}), "
               f"{s.seconds * 1000:.0f} ms.")


def _path_section(model, grid) -> None:
    st.header("3. A path that stays inside one region")
    left, right = st.columns([3, 2])
    with right:
        a = _coordinates(K_A, "x1")
        b = _coordinates(K_B, "x2")
        st.segmented_control("A click on the map sets", [START, END], key=K_END)
        st.segmented_control("Map", [NEAR, WHOLE], key=K_PATH_ZOOM)
        config = PathConfig()
        with ui.user_errors("connecting path"):
            path = _attempt(cache_toy.path, cache_toy.MODEL_NAME, a, b, cache_toy.config_dict(config), model)
        if path is not None:
            _path_metrics(model, path)
    fig = figs.class_map_figure(grid.xs, grid.ys, grid.decision, model.class_names, click_step=CLICK_STEP,
                                title="Click the map to move x1, then x2")
    if path is not None:
        figs.add_path(fig, path)
        if st.session_state[K_PATH_ZOOM] == NEAR:
            figs.focus(fig, *figs.window(path.anchors, margin=0.4, least=1.0), model.bounds)
    left.plotly_chart(fig, key=K_PATH_CHART, on_select=_on_path_click, selection_mode="points")


def _path_metrics(model, path) -> None:
    c = st.columns(2)
    c[0].metric("connected", "yes" if path.connected else "no")
    c[1].metric("segments", path.n_segments)
    c = st.columns(2)
    c[0].metric("straight segment inside", "yes" if path.straight_inside else "no")
    c[1].metric("length / ‖x2 − x1‖", f"{path.length_ratio:.2f}")
    name = model.class_names[path.label]
    st.markdown(
        f"Both ends are labelled **{name}**. The dashed straight segment between them "
        f"{'stays inside' if path.straight_inside else 'leaves'} that region. The path search (the paper's "
        "Algorithm 1) starts from the segment; where it leaves the region, its midpoint is pushed back in by "
        "the smallest step and both halves are searched again, giving the red polyline.\n\n"
        "**In the image views:** the *Connecting paths* view runs the same search between two digits of one "
        "class. There the paper finds that such paths almost always exist, even when the straight line leaves "
        "the region: a class region is one connected piece, not islands.")
    lo, hi = model.bounds
    inner = path.anchors[1:-1]
    edge = bool(np.any(np.isclose(inner, lo) | np.isclose(inner, hi)))
    note = (" An anchor sits on the edge of the box: where the network is flat (saturated tanh units) the push's "
            "linear step overshoots and is clipped to the bounds; the path is still checked point by point."
            if edge else "")
    st.caption(f"Checked {len(path.path_s)} points along the path, at most {path.check_spacing:.3f} apart; "
               f"{path.n_pushed} midpoints pushed ({path.push_failures} failed), {path.seconds * 1000:.0f} ms."
               + note)


def main() -> None:
    st.title("2-D toy: the whole input space")
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    st.markdown("A small network (two tanh layers of 64) trained on the *two moons* data has a 2-D input, so "
                "its whole input space fits on the screen. Everything the image views measure in 784 or more "
                "dimensions can be drawn here exactly.")
    st.info("This page always uses the embedded toy model `toy-moons-mlp` (input in [−3, 3]², classes "
            "upper moon / lower moon); the model chosen in the sidebar does not apply here.",
            icon=":material/info:")
    with ui.user_errors("toy model"):
        model = cache_toy.model()
        grid = cache_toy.plane(cache_toy.MODEL_NAME, RESOLUTION, model)
    _whole_plane(model, grid)
    _boundary_point(model, grid)
    _path_section(model, grid)


main()
