"""Plain-language explanations of the terms the views use: widget help tooltips and the Home page's glossary."""

from __future__ import annotations

TERMS = {
    "DeepFool": "An attack that finds the smallest perturbation r(x) moving x across the nearest decision boundary, "
                "by stepping to the linearised boundary again and again.",
    "overshoot": "DeepFool's last step is lengthened by this fraction so the point lands just past the boundary "
                 "instead of exactly on it.",
    "HVP": "Hessian-vector product: the second derivative of the decision function along a direction v, computed "
           "without forming the d×d Hessian. Curvatures are found from many HVPs.",
    "FD step h": "Finite differences: HVP ≈ (∇F(x + h·v) − ∇F(x − h·v)) / 2h. ReLU nets are piecewise linear, so "
                 "their curvature exists only at a scale h; larger h averages over more linear pieces.",
    "Lanczos": "An iterative method that finds the largest and smallest eigenvalues of a symmetric operator from "
               "a few dozen HVPs, instead of all d of them.",
    "SLQ": "Stochastic Lanczos quadrature: an estimate of the whole density of curvatures from a few random "
           "Lanczos runs.",
    "residual": "‖Gv − λv‖ for an eigenpair (λ, v) of the curvature operator G: zero for an exact eigenvector; a "
                "large value means that curvature is not to be trusted.",
    "asymmetry": "‖M − Mᵀ‖/‖M‖ of the finite-difference curvature matrix M: 0 for a symmetric matrix, about 1.4 "
                 "(√2) for a random one. An exact Hessian is symmetric; a ReLU net has none, and its finite "
                 "differences at scale h compare gradients of different linear pieces, so M is markedly "
                 "asymmetric (0.52–0.85 at h = 0.05 on mnist-relu-cnn's first five held-out digits, and no "
                 "lower at other steps); the symmetric part is what is shown.",
    "ROC": "Receiver operating characteristic: the share of perturbed images flagged (true-positive rate) against "
           "the share of clean images flagged (false-positive rate), over all thresholds. AUC is its area.",
}


# ‖M − Mᵀ‖/‖M‖ at or above 1: the antisymmetric part is as large as the matrix (a random matrix gives √2), so
# the symmetric part is no longer a curvature. ReLU nets sit well below it yet far from 0 at every h (the
# Curvature view says so in its caption, not as an alarm on every image).
ASYMMETRY_WARN = 1.0


def help_for(*terms: str) -> str:
    """Tooltip text for one or more terms."""
    return "\n\n".join(f"**{t}**: {TERMS[t]}" for t in terms)


def spectrum_warnings(spec) -> list[str]:
    """Why these curvatures may not be trusted, in words (empty when nothing is suspicious)."""
    out = []
    if spec.method == "fd" and spec.solver == "full" and spec.asymmetry > ASYMMETRY_WARN:
        out.append(f"The finite-difference curvature matrix is far from symmetric (asymmetry {spec.asymmetry:.2g} "
                   f"≥ {ASYMMETRY_WARN:g}, as large as the matrix itself): the spectrum of its symmetric part at "
                   f"h = {spec.h:g} is not a curvature to trust. Compare steps in the *Step h* view. "
                   + TERMS["asymmetry"])
    if not spec.converged:
        out.append("Lanczos did not converge: the extreme curvatures shown may be off. Raise k or use the full "
                   "solver. " + TERMS["Lanczos"])
    return out
