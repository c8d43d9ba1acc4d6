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
    "asymmetry": "‖M − Mᵀ‖/‖M‖ of the finite-difference curvature matrix M. An exact Hessian is symmetric; a large "
                 "asymmetry means h is too large or too small for this net.",
    "ROC": "Receiver operating characteristic: the share of perturbed images flagged (true-positive rate) against "
           "the share of clean images flagged (false-positive rate), over all thresholds. AUC is its area.",
}


ASYMMETRY_WARN = 0.1  # ‖M − Mᵀ‖/‖M‖ above this: the finite-difference spectrum is not to be trusted


def help_for(*terms: str) -> str:
    """Tooltip text for one or more terms."""
    return "\n\n".join(f"**{t}**: {TERMS[t]}" for t in terms)


def spectrum_warnings(spec) -> list[str]:
    """Why these curvatures may not be trusted, in words (empty when nothing is suspicious)."""
    out = []
    if spec.method == "fd" and spec.solver == "full" and spec.asymmetry > ASYMMETRY_WARN:
        out.append(f"The finite-difference curvature matrix is far from symmetric (asymmetry {spec.asymmetry:.2g} "
                   f"> {ASYMMETRY_WARN:g}): the spectrum shown is that of its symmetric part at h = {spec.h:g} and "
                   "may change with h. Compare steps in the *Step h* view before trusting single values. "
                   + TERMS["asymmetry"])
    if not spec.converged:
        out.append("Lanczos did not converge: the extreme curvatures shown may be off. Raise k or use the full "
                   "solver. " + TERMS["Lanczos"])
    return out
