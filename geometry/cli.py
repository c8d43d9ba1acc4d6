"""The `decision-atlas` command: `ui` starts the dashboard; batch subcommands run the geometry on many images.

Each subcommand is a `_cmd_*` function registered in `_parser()`; they call the same public functions as
the app and report progress with tqdm.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"


def _cmd_ui(args: argparse.Namespace) -> int:
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(args.port),
           "--browser.gatherUsageStats", "false"]
    if args.headless:
        cmd += ["--server.headless", "true"]
    return subprocess.call(cmd)


def _cmd_models(args: argparse.Namespace) -> int:
    from .loading import list_embedded, read_card
    for name in list_embedded():
        card = read_card(name)
        print(f"{name:24s} input {tuple(card['input_shape'])!s:14s} held-out acc {card.get('heldout_accuracy')}  "
              f"{card.get('description', '')}")
    return 0


def load_model_arg(spec: str, device: str | None = None):
    """A model from a CLI argument: an embedded name, `tv:ARCH` (pretrained) or `tv:ARCH:CHECKPOINT`."""
    from .loading import load_embedded, load_torchvision
    if spec.startswith("tv:"):
        _, arch, *rest = spec.split(":", 2)
        return load_torchvision(arch, checkpoint=rest[0] if rest else None, device=device)
    return load_embedded(spec, device=device)


def load_images_arg(source: str, input_shape: tuple[int, ...], limit: int | None = None
                    ) -> tuple[torch.Tensor, np.ndarray | None, list[str]]:
    """Images from a CLI argument: `digits`/`photos` (shipped), an .npz with `images` (and `labels`), or a
    folder of PNG/JPEG files. Returns (N, *S) inputs, labels or None, and names."""
    from .images import fit_image, load_upload, samples_for
    path = Path(source)
    if source in ("digits", "photos", "samples"):
        s = samples_for(input_shape)
        x, labels, names = torch.from_numpy(s.images), s.labels, list(s.names)
    elif path.suffix == ".npz":
        with np.load(path) as data:
            arr, labels = data["images"], data["labels"] if "labels" in data else None
        arr = arr.astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0)
        x = torch.cat([fit_image(a, input_shape).tensor for a in arr])
        names = [f"{path.stem}[{i}]" for i in range(len(x))]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        x = torch.cat([load_upload(p.read_bytes(), input_shape).tensor for p in files])
        labels, names = None, [p.name for p in files]
    else:
        raise SystemExit(f"--images: {source!r} is not 'digits', 'photos', an .npz file or a folder")
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="decision-atlas", description="Geometry of deep classifiers in input space")
    sub = parser.add_subparsers(dest="command", required=True)
    ui = sub.add_parser("ui", help="start the dashboard")
    ui.add_argument("--port", type=int, default=8501)
    ui.add_argument("--headless", action="store_true", help="do not open a browser")
    ui.set_defaults(func=_cmd_ui)
    models = sub.add_parser("models", help="list the embedded models")
    models.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .errors import AtlasError
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AtlasError as error:
        print(f"decision-atlas: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
