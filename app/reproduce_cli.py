"""`decision-atlas reproduce`: the paper's four claims on one model, written as DIR/report.json and a
self-contained DIR/report.html (geometry/reproduce.py computes, app/figures/report.py draws)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

DEFAULT_LIMIT = 20  # images: small, so a first run is quick; seconds per claim for N = 100 in bench/reproduce.py
SHIPPED = ("samples", "digits", "fashion", "fashion-val")
IMAGES_HELP = ("'samples' (the model's own held-out set), 'digits', 'fashion', 'fashion-val' (the validation "
               "split), an .npz with images (+labels), a .zip of class folders, or a folder")


def add_reproduce(sub) -> None:
    """Register the subcommand on the CLI's subparsers."""
    from geometry.reproduce import CLAIMS, ReproduceConfig
    d = ReproduceConfig()
    p = sub.add_parser("reproduce", help="the paper's four claims measured on a model, against the paper's "
                                         "numbers and baselines (report.html + report.json)")
    p.add_argument("--model", required=True, help="embedded name, tv:ARCH, tv:ARCH:CHECKPOINT or file:PATH")
    p.add_argument("--card", default=None, help="model card (JSON) for a file: model")
    p.add_argument("--images", default="samples", help=IMAGES_HELP)
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="number of images N (default %(default)s)")
    p.add_argument("--start", type=int, default=0, help="first image of the set (default 0)")
    p.add_argument("--out", required=True, help="output folder for report.html and report.json")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--claims", nargs="+", default=list(CLAIMS), choices=CLAIMS, help="which experiments to run")
    g = p.add_argument_group("experiment parameters")
    g.add_argument("--pairs", type=int, default=d.pairs, help="same-class pairs (paths)")
    g.add_argument("--adversarial", type=int, default=d.adversarial_pairs, help="adversarial ↔ natural pairs")
    g.add_argument("--curvature-h", type=float, default=d.curvature_h, help="FD step of the spectra (ReLU)")
    g.add_argument("--flat", type=float, default=d.flat_relative,
                   help="'flat' means |κ| below this fraction of the image's largest |κ|")
    g.add_argument("--subspace-dim", type=int, default=d.subspace_dim, help="m, the curved subspace's dimension")
    g.add_argument("--budget", type=float, default=d.subspace_budget,
                   help="restricted DeepFool counts within budget × ‖r(x)‖")
    g.add_argument("--directions", type=int, default=d.directions, help="detection: random directions T")
    g.add_argument("--h", type=float, default=d.detection_h, help="detection: FD step h (ReLU nets)")
    g.add_argument("--toward-boundary", type=float, default=d.toward_boundary,
                   help="detection: evaluate a fraction of the way to the boundary (0: at x, Algorithm 2)")
    g.add_argument("--classes", type=int, default=d.classes, help="detection: top-K other classes (default all)")
    g.add_argument("--statistic", default=d.statistic, choices=("mean", "min"), help="detection statistic")
    g.add_argument("--fpr", type=float, default=d.target_fpr, help="false-positive rate of the operating point")
    g.add_argument("--threshold", type=float, default=None,
                   help="detection threshold chosen elsewhere, e.g. on a validation split (default: at --fpr "
                        "on these same clean images, which the report states)")
    g.add_argument("--attacks", nargs="+", default=list(d.attacks), help="attacks for detection")
    from app.batch_cli import add_engine_args
    add_engine_args(p)  # one unit of work per claim (each over all N images); --chunk-size does not act
    p.set_defaults(func=cmd_reproduce)


def config_from_args(args: argparse.Namespace):
    from geometry.reproduce import ReproduceConfig
    return ReproduceConfig(seed=args.seed, pairs=args.pairs, adversarial_pairs=args.adversarial,
                           curvature_h=args.curvature_h, flat_relative=args.flat, subspace_dim=args.subspace_dim,
                           subspace_budget=args.budget, directions=args.directions, detection_h=args.h,
                           toward_boundary=args.toward_boundary, classes=args.classes, statistic=args.statistic,
                           target_fpr=args.fpr, threshold=args.threshold, attacks=tuple(args.attacks))


def load_images(source: str, model, start: int, limit: int) -> torch.Tensor:
    """The shipped sets by name (the model's own for 'samples'), else app.cli.load_images_arg's formats."""
    from geometry.errors import AtlasError
    from geometry.images import load_digits, load_fashion, samples_for
    if limit < 1 or start < 0:
        raise AtlasError(f"--limit must be ≥ 1 and --start ≥ 0, got {limit} and {start}")
    if source in SHIPPED:
        s = {"samples": lambda: samples_for(model.input_shape, model.card.dataset), "digits": load_digits,
             "fashion": load_fashion, "fashion-val": lambda: load_fashion("val")}[source]()
        x = torch.from_numpy(s.images)
    else:
        from app.cli import load_images_arg
        x = load_images_arg(source, model.input_shape)[0]
    if start >= len(x):
        raise AtlasError(f"--start {start} is past the end of the set ({len(x)} images)")
    x = x[start : start + limit]
    if tuple(x.shape[1:]) != tuple(model.input_shape):
        raise AtlasError(f"the images have shape {tuple(x.shape[1:])}, the model takes {model.input_shape}")
    return x


def cmd_reproduce(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from app.batch_cli import batch_run
    from app.figures.report import report_html
    from geometry.batch_jobs import merge_reproduce
    from geometry.engine import load_worker_model
    model = load_worker_model(args.model, card=args.card)
    x = load_images(args.images, model, args.start, args.limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images = f"{args.images}[{args.start}:{args.start + len(x)}]"
    config = json.loads(json.dumps(asdict(config_from_args(args))))
    # one claim per unit of work (--engine ray: claims in parallel; --resume: finished claims kept)
    with batch_run(args, "reproduce", {"claims": list(args.claims), "config": config, "images": images},
                   model, x) as shards:
        rep = merge_reproduce(shards, model, x, images=images, config=config)
        payload = rep.to_dict()
        (out / "report.json").write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")
        (out / "report.html").write_text(report_html(payload), encoding="utf-8")
    for name, claim in rep.claims.items():
        print(f"{name:10s} {claim['verdict']:14s} {claim['why']}")
    print(f"wrote {out / 'report.html'} and {out / 'report.json'} ({rep.seconds:.0f} s)", file=sys.stderr)
    return 0


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
