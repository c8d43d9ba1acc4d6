"""The model card of a user's model file: what the tool must know besides the weights, validated field by field.

A card is a JSON object, e.g.

    {"name": "cifar-lenet", "input_shape": [3, 32, 32], "channel_order": "RGB",
     "mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261],
     "class_names": ["airplane", "automobile", ...], "smooth": false}

Pixels reach the model in [0, 1]; `mean`/`std` (per channel, in the model's channel order) are applied inside
the wrapper, and `channel_order: "BGR"` reverses the channels first. Class names come inline, from a text file
(`class_names_file`, one name a line, relative to the card) or as a count (`num_classes`, names "class i").
`arch` names a torchvision architecture when the file is a checkpoint (a state_dict) rather than a program.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ModelLoadError

MAX_CARD_BYTES = 1 << 20  # a card with a million bytes of class names is not a card
MAX_CLASSES = 100_000
MAX_INPUT_ELEMENTS = 3 * 1024 * 1024
CHANNEL_ORDERS = ("RGB", "BGR")
FIELDS = ("name", "input_shape", "channel_order", "mean", "std", "class_names", "class_names_file",
          "num_classes", "smooth", "description", "dataset", "arch")


@dataclass(frozen=True)
class UserCard:
    """A validated model card."""

    input_shape: tuple[int, int, int]  # (C, H, W)
    class_names: tuple[str, ...]
    name: str = ""
    channel_order: str = "RGB"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    smooth: bool | None = None
    description: str = ""
    dataset: str | None = None
    arch: str | None = None

    def to_json(self) -> str:
        """The card as JSON (class names inline), e.g. for the app's download button."""
        out = {k: v for k, v in asdict(self).items() if v not in (None, "")}
        out["input_shape"], out["class_names"] = list(self.input_shape), list(self.class_names)
        return json.dumps(out, indent=2) + "\n"


def read_card(source: str | Path | bytes | dict | UserCard) -> UserCard:
    """A validated card from a JSON file, its bytes, a dict or a UserCard; ModelLoadError on any bad field."""
    if isinstance(source, UserCard):
        return source
    base_dir = None
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"model card: no such file: {source}")
        source, base_dir = path.read_bytes(), path.parent
    if isinstance(source, bytes):
        source = _parse_json(source)
    return parse_card(source, base_dir=base_dir)


def _parse_json(data: bytes) -> dict:
    if len(data) > MAX_CARD_BYTES:
        raise ModelLoadError(f"model card: {len(data) / 2**20:.1f} MiB is too large for a card "
                             f"(limit {MAX_CARD_BYTES >> 20} MiB); put long class lists in class_names_file")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"model card: not valid JSON ({error})") from None


def parse_card(obj: dict, *, base_dir: Path | None = None) -> UserCard:
    """Validate a card given as a dict; `base_dir` resolves class_names_file."""
    if not isinstance(obj, dict):
        raise ModelLoadError(f"model card: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise ModelLoadError(f"model card: unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    shape = _input_shape(obj.get("input_shape"))
    order = obj.get("channel_order", "RGB")
    if order not in CHANNEL_ORDERS:
        raise ModelLoadError(f"model card: channel_order must be one of {', '.join(CHANNEL_ORDERS)}, got {order!r}")
    if order == "BGR" and shape[0] != 3:
        raise ModelLoadError(f"model card: channel_order BGR needs 3 input channels, the card has {shape[0]}")
    return UserCard(
        input_shape=shape, class_names=_class_names(obj, base_dir), name=_text(obj, "name"), channel_order=order,
        mean=_per_channel(obj, "mean", shape[0]), std=_per_channel(obj, "std", shape[0], positive=True),
        smooth=_smooth(obj.get("smooth")), description=_text(obj, "description"),
        dataset=_text(obj, "dataset") or None, arch=_text(obj, "arch") or None)


def _input_shape(v) -> tuple[int, int, int]:
    ok = (isinstance(v, list | tuple) and len(v) == 3
          and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in v))
    if not ok:
        raise ModelLoadError(f"model card: input_shape must be [channels, height, width] of positive integers, "
                             f"got {v!r}")
    if v[0] not in (1, 3):
        raise ModelLoadError(f"model card: input_shape has {v[0]} channels; image models take 1 or 3")
    if math.prod(v) > MAX_INPUT_ELEMENTS:
        raise ModelLoadError(f"model card: input_shape {list(v)} has {math.prod(v):,} values; "
                             f"the limit is {MAX_INPUT_ELEMENTS:,}")
    return tuple(v)


def _per_channel(obj: dict, key: str, channels: int, *, positive: bool = False) -> tuple[float, ...] | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, int | float) and not isinstance(v, bool):
        v = [v] * channels
    ok = (isinstance(v, list | tuple) and len(v) == channels
          and all(isinstance(a, int | float) and not isinstance(a, bool) and math.isfinite(a) for a in v))
    if not ok:
        raise ModelLoadError(f"model card: {key} must be a number or a list of {channels} numbers "
                             f"(one per channel), got {v!r}")
    if positive and min(v) <= 0:
        raise ModelLoadError(f"model card: {key} must be positive, got {list(v)}")
    return tuple(float(a) for a in v)


def _class_names(obj: dict, base_dir: Path | None) -> tuple[str, ...]:
    given = [k for k in ("class_names", "class_names_file", "num_classes") if obj.get(k) is not None]
    if len(given) != 1:
        raise ModelLoadError("model card: give exactly one of class_names (a list), class_names_file (a text "
                             f"file, one name a line) or num_classes; got {', '.join(given) or 'none'}")
    if given[0] == "num_classes":
        n = obj["num_classes"]
        if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= MAX_CLASSES:
            raise ModelLoadError(f"model card: num_classes must be an integer from 2 to {MAX_CLASSES}, got {n!r}")
        return tuple(f"class {i}" for i in range(n))
    names = obj["class_names"] if given[0] == "class_names" else _names_file(obj["class_names_file"], base_dir)
    if not isinstance(names, list | tuple) or not all(isinstance(s, str) and s.strip() for s in names):
        raise ModelLoadError("model card: class_names must be a list of non-empty strings")
    if not 2 <= len(names) <= MAX_CLASSES:
        raise ModelLoadError(f"model card: {len(names)} class names; a classifier needs 2 to {MAX_CLASSES}")
    dup = sorted(s for s, n in Counter(names).items() if n > 1)
    if dup:
        raise ModelLoadError(f"model card: class names repeat ({', '.join(dup[:5])})")
    return tuple(s.strip() for s in names)


def _names_file(name, base_dir: Path | None) -> list[str]:
    if not isinstance(name, str) or not name:
        raise ModelLoadError(f"model card: class_names_file must be a file name, got {name!r}")
    if base_dir is None:
        raise ModelLoadError("model card: class_names_file can only be read from a card on disk; "
                             "list class_names in the card instead")
    path = (base_dir / name).expanduser()
    if not path.is_file():
        raise ModelLoadError(f"model card: class_names_file {name!r} not found next to the card ({path})")
    if path.stat().st_size > 16 * MAX_CARD_BYTES:
        raise ModelLoadError(f"model card: class_names_file {name!r} is too large")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _smooth(v) -> bool | None:
    if v is not None and not isinstance(v, bool):
        raise ModelLoadError(f"model card: smooth must be true (C² activations such as softplus, tanh), "
                             f"false (ReLU, max-pooling) or absent (probed), got {v!r}")
    return v


def _text(obj: dict, key: str) -> str:
    v = obj.get(key, "")
    if v is None:
        return ""
    if not isinstance(v, str):
        raise ModelLoadError(f"model card: {key} must be a string, got {v!r}")
    return v.strip()
