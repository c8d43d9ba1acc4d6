"""app.glossary: every term the issue names has an explanation; spectrum warnings fire exactly when the
spectrum is unreliable (finite-difference asymmetry above the limit, Lanczos not converged)."""

from __future__ import annotations

import dataclasses

from app import glossary
from tests.test_figures_curvature import _spectrum


def test_the_terms_are_explained():
    for term in ("HVP", "Lanczos", "SLQ", "residual", "FD step h", "DeepFool", "overshoot", "ROC"):
        assert len(glossary.TERMS[term]) > 40
    assert glossary.help_for("HVP", "ROC").count("**") == 4


def test_spectrum_warnings():
    good = dataclasses.replace(_spectrum(), method="fd", asymmetry=0.01, converged=True)
    assert glossary.spectrum_warnings(good) == []
    skewed = dataclasses.replace(good, asymmetry=1.2)
    assert not glossary.spectrum_warnings(dataclasses.replace(good, asymmetry=0.65))  # a ReLU net's usual
    assert ["far from symmetric" in w for w in glossary.spectrum_warnings(skewed)] == [True]
    exact = dataclasses.replace(skewed, method="exact")  # exact HVPs: the asymmetry is not a warning sign
    assert glossary.spectrum_warnings(exact) == []
    stuck = dataclasses.replace(good, solver="lanczos", converged=False)
    assert ["did not converge" in w for w in glossary.spectrum_warnings(stuck)] == [True]
