"""Every file the app offers for download, written in one place so each records its provenance.

Provenance (app.cache.provenance: model name and weight hash, image hash, device, versions, cache keys) is
attached here, by `stamp`, and nowhere else: a page builds the content, this module writes the file.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from app import cache
from app.state import Selection
from geometry.cross_section import CrossSection
from geometry.profile import CurvatureProfile
from geometry.spectrum import CurvatureSpectrum


def provenance(sel: Selection, *, with_image: bool = True) -> dict:
    """The selection's provenance (cached per model and image); without the image for batch results."""
    if with_image:
        return cache.provenance(sel.model_key, sel.image_key, sel.model, sel.image)
    return cache.provenance(sel.model_key, "", sel.model, None)


def stamp(meta: dict, prov: dict) -> dict:
    """`meta` with the provenance under "provenance": the one place an export gets it."""
    return {**meta, "provenance": prov}


def json_text(payload: dict, prov: dict, *, under: str | None = None, **dumps) -> str:
    """The payload as JSON with provenance at the top level, or inside payload[under] (e.g. "config")."""
    if under is None:
        payload = stamp(payload, prov)
    else:
        payload = {**payload, under: stamp(payload[under], prov)}
    return json.dumps(payload, **dumps)


def npz_bytes(arrays: dict[str, np.ndarray], meta: dict, prov: dict, *, meta_key: str = "meta") -> bytes:
    """The arrays in a compressed .npz, with the stamped metadata as a JSON string under `meta_key`."""
    buf = io.BytesIO()
    # Any: numpy's stub would match these names against savez's own keyword options
    entries: dict[str, Any] = {**arrays, meta_key: np.array(json.dumps(stamp(meta, prov), default=float))}
    np.savez_compressed(buf, **entries)
    return buf.getvalue()


def figure_html(fig, prov: dict) -> str:
    """A Plotly figure as a self-contained HTML page (plotly.js inlined: it must open offline, in a
    classroom without network), with the provenance as a JSON block a reader or script can find."""
    page = fig.to_html(include_plotlyjs=True)
    # "<" as \u003c: still the same JSON, and no value can close the script tag.
    text = json.dumps(prov).replace("<", "\\u003c")
    block = f'<script type="application/json" id="provenance">{text}</script>'
    return page.replace("</body>", block + "</body>", 1)


def report_json(report: dict, prov: dict) -> str:
    """The Findings report as JSON: the report already carries its provenance (app.cache.findings builds
    it with the run); other fields are kept as they are."""
    return json_text(report, report.get("provenance") or prov, indent=1)


# --- the views' exports ---------------------------------------------------------------------------------------

def cross_section_config(cs: CrossSection, sel: Selection) -> dict:
    """All that reproduces the grid: model, image, plane (kind, seeds), extent, resolution, clip."""
    return {"model": sel.model.name, "model_key": sel.model_key, "image": sel.image_name,
            "image_key": sel.image_key, "F": "f_ref_class − f_label_x; G = f_label_x − max_{j≠label_x} f_j",
            **cs.config()}


def cross_section_npz(cs: CrossSection, config: dict, prov: dict) -> bytes:
    """The grid, the plane's origin and directions, and the config (as a JSON string) in one .npz."""
    arrays = dict(a=cs.a, b=cs.b, labels=cs.labels, confidence=cs.confidence, F=cs.F, G=cs.G,
                  evaluated=cs.evaluated, origin=cs.plane.origin.astype(np.float32),
                  u=cs.plane.u.astype(np.float32), v=cs.plane.v.astype(np.float32))
    return npz_bytes(arrays, config, prov, meta_key="config")


def cross_section_json(cs: CrossSection, config: dict, prov: dict) -> str:
    """The config and the grid (labels, confidence, F, G) as JSON lists."""
    grid = {"a": cs.a.tolist(), "b": cs.b.tolist(), "labels": cs.labels.tolist(),
            "confidence": np.round(cs.confidence, 5).tolist(), "F": np.round(cs.F, 5).tolist(),
            "G": np.round(cs.G, 5).tolist(), "evaluated": cs.evaluated.astype(int).tolist()}
    return json_text({"config": config, "grid": grid}, prov, under="config")


def spectrum_npz(spec: CurvatureSpectrum, config: dict, prov: dict, *, directions: int = 10) -> bytes:
    """The spectrum as .npz: eigenvalues, residuals, extreme directions, point, normal and config."""
    m = min(directions, len(spec.eigenvalues))
    arrays = dict(eigenvalues=spec.eigenvalues, residuals=spec.residuals,
                  top_positive=spec.positive_directions(m), top_negative=spec.negative_directions(m),
                  point=spec.point, normal=spec.normal, x=spec.x)
    meta = {**config, "label": spec.label, "target": spec.target, "solver": spec.solver,
            "method": spec.method, "h": spec.h, "n_hvp": spec.n_hvp, "seconds": spec.seconds}
    return npz_bytes(arrays, meta, prov)


def profile_json(profile: CurvatureProfile, meta: dict, prov: dict) -> str:
    """The dataset-level profile (every image's sorted curvatures, median, band) with its configuration."""
    return json_text({"config": meta, "profile": profile.to_dict()}, prov, under="config", default=float)


def path_meta(p, ends: dict, config: dict) -> dict:
    """What reproduces a connecting path and what it found (app.app_pages.paths)."""
    from dataclasses import asdict
    return dict(config=config, label=p.label, connected=p.connected, n_segments=p.n_segments,
                length_ratio=p.length_ratio, straight_inside=p.straight_inside, check_spacing=p.check_spacing,
                x1=ends["name1"], x2=ends["name2"], verdict=p.verdict,
                certification=None if p.certification is None else asdict(p.certification))


def path_npz(p, meta: dict, prov: dict) -> bytes:
    return npz_bytes(dict(anchors=p.anchors, path_s=p.path_s, path_prob=p.path_prob), meta, prov)


def path_json(p, meta: dict, prov: dict) -> str:
    return json_text({**meta, "anchors": p.anchors.tolist()}, prov)


def comparison_json(batch_result, prov: dict) -> str:
    """The batch comparison as JSON: both profiles, detection summaries and the sentence; `prov` holds each
    model's provenance by name."""
    out = {"models": list(batch_result.names), "n_images": batch_result.n_images,
           "summary": batch_result.summary(),
           "profiles": {n: p.to_dict() for n, p in zip(batch_result.names, batch_result.profiles, strict=True)}}
    if batch_result.detection is not None:
        out["detection"] = {n: d.summary() for n, d in zip(batch_result.names, batch_result.detection,
                                                             strict=True)}
    return json_text(out, prov, default=float)
