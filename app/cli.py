"""The `decision-atlas` command: `ui` starts the dashboard; batch subcommands run the geometry on many images.

Each subcommand is a `_cmd_*` function registered in `_parser()`; they call the same public functions as
the app and report progress with tqdm.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

APP = Path(__file__).resolve().parent / "streamlit_app.py"


def _cmd_ui(args: argparse.Namespace) -> int:
    from geometry.loading import MAX_CHECKPOINT_BYTES
    # Streamlit's own upload cap (200 MB) would refuse large checkpoints before our checks could explain why.
    # No full garbage collection after every rerun: with PyTorch loaded it costs ~0.28 s of server CPU each.
    # The WebSocket's messages (figures, mostly) are deflated: 2.6x fewer bytes on a guided-tour walk.
    # No stack trace in the terminal for widgets whose values links and the tour set through session state.
    # (.streamlit/config.toml sets the same for `streamlit run` from the repository root.)
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(args.port),
           "--browser.gatherUsageStats", "false", "--server.maxUploadSize", str(MAX_CHECKPOINT_BYTES >> 20),
           "--runner.postScriptGC", "false", "--server.enableWebsocketCompression", "true",
           "--global.disableWidgetStateDuplicationWarning", "true"]
    if args.headless:
        cmd += ["--server.headless", "true"]
    sys.stdout.flush()
    # exec, not a child process: stopping this command (kill, Ctrl-C, a service manager) stops the server.
    os.execv(cmd[0], cmd)
    return 0  # not reached


def _cmd_models(args: argparse.Namespace) -> int:
    from geometry.loading import list_embedded, read_card
    for name in list_embedded():
        card = read_card(name)
        acc = card.get("test_accuracy", card.get("heldout_accuracy"))
        pgd = card.get("pgd_l2")
        robust = f"  PGD-L2(ε={pgd['eps']:g}) acc {pgd['accuracy']:.3f}" if pgd else ""
        print(f"{name:22s} input {tuple(card['input_shape'])!s:12s} {card.get('dataset', '-'):14s} "
              f"test acc {acc}{robust}  {card.get('description', '')}")
    return 0


MODEL_HELP = "embedded name, tv:ARCH, tv:ARCH:CHECKPOINT or file:PATH (your model; see --card)"
CARD_HELP = "model card (JSON) for a file: model; default: the .json beside the model file"
IMAGES_HELP = ("'samples' (the model's shipped set: digits, Fashion-MNIST or photos), an .npz with images "
               "(+labels), a .zip of images in class folders, or a folder")


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model and --card, the same in every subcommand that takes a model."""
    p.add_argument("--model", required=True, help=MODEL_HELP)
    p.add_argument("--card", default=None, help=CARD_HELP)


def model_from_args(args: argparse.Namespace):
    """The model that --model (and --card) name, loaded as the batch engine's workers load it."""
    from geometry.engine import load_worker_model
    return load_worker_model(args.model, card=args.card)


def load_images_arg(source: str, input_shape: tuple[int, ...], limit: int | None = None, *,
                    class_names: tuple[str, ...] | None = None, dataset: str | None = None
                    ) -> tuple[torch.Tensor, np.ndarray | None, list[str]]:
    """Images from a CLI argument: the shipped samples (`samples`, or `digits`/`photos`), an .npz with `images`
    (and `labels`), a .zip of images in class folders, or a folder (see geometry.user_data). Returns (N, *S)
    inputs, labels or None, and names; what was done to fit the images is printed to stderr."""
    from geometry.images import samples_for
    from geometry.user_data import load_image_set
    path = Path(source).expanduser()
    if source in ("digits", "photos", "samples"):
        s = samples_for(input_shape, dataset)
    elif path.is_dir() or path.suffix.lower() in (".npz", ".zip"):
        loaded = load_image_set(path, input_shape, class_names=class_names)
        s = loaded.samples
        for note in loaded.notes:
            print(f"--images: {note}", file=sys.stderr)
    else:
        raise SystemExit(f"--images: {source!r} is not 'samples', 'digits', 'photos', an .npz or .zip file or a "
                         "folder")
    x, labels, names = torch.from_numpy(s.images), s.labels, list(s.names)
    if limit is not None:
        x, names = x[:limit], names[:limit]
        labels = None if labels is None else labels[:limit]
    return x, labels, names


def write_json(path: str, payload: dict) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(obj):
    if isinstance(obj, np.ndarray | torch.Tensor):
        return np.asarray(obj.detach().cpu() if isinstance(obj, torch.Tensor) else obj).tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


@contextlib.contextmanager
def _progress(desc: str) -> Iterator[Callable[[float], None]]:
    """A tqdm bar in percent, as the `progress(fraction)` callback the geometry functions take."""
    from tqdm import tqdm
    with tqdm(total=100, desc=desc, unit="%", bar_format="{l_bar}{bar}| {elapsed}<{remaining}") as bar:
        yield lambda fraction: bar.update(round(100 * fraction) - bar.n)


def _cmd_curvature(args: argparse.Namespace) -> int:
    from app.batch_cli import batch_run
    from geometry.batch_jobs import merge_curvature
    model = model_from_args(args)
    x, labels, names = load_images_arg(args.images, model.input_shape, args.limit,
                                       class_names=model.class_names, dataset=model.card.dataset)
    params = {k: getattr(args, k) for k in ("at", "h", "solver", "k")}
    with batch_run(args, "curvature", params, model, x) as shards:
        rows = [{"name": names[i], "true_label": None if labels is None else labels[i], **row}
                for i, row in enumerate(merge_curvature(shards))]
        config = {k: getattr(args, k) for k in ("model", "card", "images", "limit", "at", "h", "solver", "k", "seed",
                                                "chunk_size", "threads")}
        write_json(args.out, {"config": config, "spectra": rows})
    extremes = np.array([[r["max_curvature"], r["min_curvature"]] for r in rows])
    print(f"{len(rows)} spectra; median max κ {np.median(extremes[:, 0]):+.3f}, median min κ "
          f"{np.median(extremes[:, 1]):+.3f}; wrote {args.out}")
    return 0


def _cmd_paths(args: argparse.Namespace) -> int:
    from app.batch_cli import batch_run
    from geometry.batch_jobs import merge_paths
    model = model_from_args(args)
    x, _, _ = load_images_arg(args.images, model.input_shape, args.limit,
                              class_names=model.class_names, dataset=model.card.dataset)
    params = {k: getattr(args, k) for k in ("pairs", "adversarial", "max_depth")}
    with batch_run(args, "paths", params, model, x) as shards:
        records, pairs = merge_paths(shards)  # pairs drawn inside each chunk of --chunk-size images
        write_json(args.out, {"config": {k: getattr(args, k) for k in vars(args) if k != "func"},
                              "rows": records, "pairs": pairs})
    for row in records:
        print(f"{row['pairs']:12s} connected {row['fraction_connected']:.2f}  segments {row['mean_segments']:.1f}  "
              f"length ratio {row['mean_length_ratio']:.3f}  straight inside {row['fraction_straight_inside']:.2f}")
    print(f"wrote {args.out}")
    return 0


def _cmd_detect(args: argparse.Namespace) -> int:
    from app.batch_cli import batch_run
    from geometry.attacks import ATTACKS
    from geometry.batch_jobs import merge_detect
    model = model_from_args(args)
    x, labels, names = load_images_arg(args.images, model.input_shape, args.limit,
                                       class_names=model.class_names, dataset=model.card.dataset)
    attacks = ATTACKS if args.attack == "all" else (args.attack,)
    params = {"attacks": list(attacks), "directions": args.directions, "h": args.h, "classes": args.classes}
    with batch_run(args, "detect", params, model, x) as shards:
        ev = merge_detect(shards, args.seed)  # each chunk of --chunk-size images used its own derived seed
        write_json(args.out, _detection_payload(ev, args, names, labels))
    for name, row in ev.summary(args.statistic, target_fpr=args.fpr).items():
        print(f"{name:9s} success {row['success_rate']:.2f}  AUC {row.get('auc', float('nan')):.3f}  "
              f"TPR@{args.fpr:g}FPR {row.get(f'tpr_at_{args.fpr:g}_fpr', float('nan')):.2f}  "
              f"recovery {row.get('recovery_on_detected', float('nan')):.2f}")
    print(f"wrote {args.out}")
    return 0


def _detection_payload(ev, args: argparse.Namespace, names: list[str], labels) -> dict:
    """Per-image clean and attacked scores, verdicts and recovered labels, plus the summary and config."""
    from geometry.detection import decide
    clean = ev.clean.statistic(args.statistic)
    attacks = {}
    for name, a in ev.attacks.items():
        t = args.threshold
        if t is None and a.scores is not None:
            t = a.metrics(ev.clean, args.statistic, target_fpr=args.fpr).threshold
        score = a.scores.statistic(args.statistic) if a.scores is not None else np.zeros(0)
        attacks[name] = {"params": a.params, "threshold": t, "success": a.success,
                         "image_index": np.flatnonzero(a.success), "original_label": a.original, "l2": a.l2,
                         "score": score, "flagged": decide(score, t) if t is not None else [],
                         "recovered_label": [] if a.scores is None else a.scores.recovered,
                         "class_scores": [] if a.scores is None else a.scores.oriented}
    return {"config": {**ev.config, "card": args.card, "statistic": args.statistic, "target_fpr": args.fpr,
                       "threshold": args.threshold, "images": args.images, "seconds": ev.seconds},
            "summary": ev.summary(args.statistic, target_fpr=args.fpr),
            "clean": {"names": names, "true_label": labels, "label": ev.clean.label, "score": clean,
                      "class_scores": ev.clean.oriented, "recovered_label": ev.clean.recovered},
            "attacks": attacks}


def _add_detect(sub) -> None:
    from app.batch_cli import add_engine_args
    from geometry.attacks import ATTACKS
    from geometry.detection import DEFAULT_DETECTION_STEP, DEFAULT_DIRECTIONS, STATISTICS
    p = sub.add_parser("detect", help="curvature-based detection of perturbed images "
                                      "(docs/paper_notes.md §7, Algorithm 2)")
    add_model_args(p)
    p.add_argument("--images", default="samples", help=IMAGES_HELP)
    p.add_argument("--attack", default="deepfool", choices=(*ATTACKS, "all"))
    p.add_argument("--out", required=True, help="JSON file for per-image scores and the summary")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")
    p.add_argument("--directions", type=int, default=DEFAULT_DIRECTIONS, help="random directions T")
    p.add_argument("--h", type=float, default=DEFAULT_DETECTION_STEP, help="FD step (ReLU nets)")
    p.add_argument("--classes", type=int, default=None,
                   help="score only the top-K other classes by logit (default: all L-1, the paper's rho)")
    p.add_argument("--statistic", default="mean", choices=STATISTICS,
                   help="mean: Algorithm 2's -rho; min: min over classes of the oriented scores")
    p.add_argument("--threshold", type=float, default=None, help="flag when score >= t (default: 5%% FPR)")
    p.add_argument("--fpr", type=float, default=0.05, help="false-positive rate for the reported TPR")
    p.add_argument("--seed", type=int, default=0)
    add_engine_args(p)
    p.set_defaults(func=_cmd_detect)


def _add_batch_commands(sub) -> None:
    from app.batch_cli import add_engine_args
    from geometry.decision import DEFAULT_FD_STEP
    c = sub.add_parser("curvature", help="principal curvatures of the boundary near each image "
                                         "(docs/paper_notes.md §5)")
    p = sub.add_parser("paths", help="connecting paths over random same-class and adversarial pairs "
                                     "(docs/paper_notes.md §3)")
    for q in (c, p):
        add_model_args(q)
        q.add_argument("--images", default="samples", help=IMAGES_HELP)
        q.add_argument("--out", required=True, help="JSON file for the results and the config")
        q.add_argument("--limit", type=int, default=None, help="use only the first N images")
        q.add_argument("--seed", type=int, default=0)
        add_engine_args(q)
    c.add_argument("--at", default="boundary", choices=("boundary", "input"), help="z = x + r(x), or x itself")
    c.add_argument("--h", type=float, default=DEFAULT_FD_STEP, help="FD step (ReLU nets)")
    c.add_argument("--solver", default="auto", choices=("auto", "full", "lanczos"))
    c.add_argument("--k", type=int, default=10, help="curvatures at each end (Lanczos)")
    c.set_defaults(func=_cmd_curvature)
    p.add_argument("--pairs", type=int, default=10, help="random same-class pairs")
    p.add_argument("--adversarial", type=int, default=5, help="adversarial-image ↔ natural-image pairs")
    p.add_argument("--max-depth", type=int, default=8, help="recursion depth budget")
    p.set_defaults(func=_cmd_paths)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decision-atlas",
                                     description="Geometry of deep classifiers in input space")
    sub = parser.add_subparsers(dest="command", required=True)
    ui = sub.add_parser("ui", help="start the dashboard")
    ui.add_argument("--port", type=int, default=8501)
    ui.add_argument("--headless", action="store_true", help="do not open a browser")
    ui.set_defaults(func=_cmd_ui)
    models = sub.add_parser("models", help="list the embedded models")
    models.set_defaults(func=_cmd_models)
    _add_detect(sub)
    _add_batch_commands(sub)
    from app.reproduce_cli import add_reproduce
    add_reproduce(sub)  # the paper's four claims, report.html + report.json (app/reproduce_cli.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    from geometry.errors import AtlasError
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AtlasError as error:
        print(f"decision-atlas: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
