"""Images: the shipped sample sets and user uploads, fitted to a model's input with visible notes.

Uploads are checked before decoding (byte size, pixel count) so a decompression bomb or a corrupt file
gives an ImageError, never a crash or a silently wrong input.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .errors import ImageError
from .loading import ASSETS_DIR

IMAGES_DIR = ASSETS_DIR / "images"
MAX_UPLOAD_BYTES = 20 * 2**20  # 20 MiB
MAX_PIXELS = 40_000_000  # ~6300 x 6300; PIL's own bomb check is a warning below 2x its limit
ALLOWED_FORMATS = ("PNG", "JPEG")


@dataclass(frozen=True)
class FittedImage:
    """An image as the model sees it, and what was done to get it there."""

    tensor: torch.Tensor  # (1, C, H, W) in [0, 1]
    notes: tuple[str, ...]  # e.g. "resized from 640x480 to 28x28"


@dataclass(frozen=True)
class SampleSet:
    """A set of sample inputs in pixel space with their names (and true labels when known)."""

    images: np.ndarray  # (N, *S) float32 in [0, 1]
    labels: np.ndarray | None  # (N,) true class indices, or None
    names: tuple[str, ...]


def decode_image(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode PNG/JPEG bytes, refusing files that are too large, corrupt or of another format."""
    if len(data) == 0:
        raise ImageError("the file is empty")
    if len(data) > max_bytes:
        raise ImageError(f"the file is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise ImageError("not an image file PIL can read (expected PNG or JPEG)") from None
    except Image.DecompressionBombError:  # PIL refuses at open beyond twice its own pixel limit
        raise ImageError(f"the image is far above the limit of {max_pixels / 1e6:.0f} MP "
                         "(possible decompression bomb)") from None
    if img.format not in ALLOWED_FORMATS:
        raise ImageError(f"unsupported image format {img.format}; upload PNG or JPEG")
    w, h = img.size
    if w * h > max_pixels:
        raise ImageError(f"the image is {w}x{h} pixels ({w * h / 1e6:.0f} MP); the limit is "
                         f"{max_pixels / 1e6:.0f} MP (possible decompression bomb)")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageError(f"the image file is corrupt or truncated ({error})") from None
    return img


def fit_image(img: Image.Image | np.ndarray, input_shape: tuple[int, ...]) -> FittedImage:
    """Convert an image to the model's channels and size; every change is recorded as a note."""
    if len(input_shape) != 3:
        raise ImageError(f"this model takes inputs of shape {input_shape}, not images")
    c, h, w = input_shape
    if c not in (1, 3):
        raise ImageError(f"models with {c} input channels are not supported for images (1 or 3 only)")
    if isinstance(img, np.ndarray):
        img = _array_to_pil(img)
    notes: list[str] = []
    mode = "L" if c == 1 else "RGB"
    if img.mode != mode:
        notes.append(f"converted {_mode_name(img.mode)} to {_mode_name(mode)}")
        img = img.convert(mode)
    if img.size != (w, h):
        notes.append(f"resized from {img.size[0]}x{img.size[1]} to {w}x{h}")
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if c == 1 and light_background(arr):  # the 1-channel training sets are light strokes on black
        arr = 1.0 - arr
        notes.append("inverted: dark-on-white image turned white-on-black like the training images")
    arr = arr[None] if c == 1 else arr.transpose(2, 0, 1)
    return FittedImage(torch.from_numpy(np.ascontiguousarray(arr))[None], tuple(notes))


def light_background(gray: np.ndarray) -> bool:
    """Whether a grayscale image (H, W) in [0, 1] is dark on a light background: its border is mostly light."""
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    return float(np.median(border)) > 0.5


def load_upload(data: bytes, input_shape: tuple[int, ...]) -> FittedImage:
    """Uploaded bytes -> model input, with notes; ImageError on anything unusable."""
    return fit_image(decode_image(data), input_shape)


def _array_to_pil(arr: np.ndarray) -> Image.Image:
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)  # CHW -> HWC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if not np.isfinite(a).all():
        raise ImageError("the image contains NaN or infinite values")
    if a.dtype != np.uint8:
        if a.min() < 0 or a.max() > 1:
            raise ImageError(f"float images must lie in [0, 1]; got values in [{a.min():.3g}, {a.max():.3g}]")
        a = np.round(a * 255).astype(np.uint8)
    return Image.fromarray(a)


def _mode_name(mode: str) -> str:
    return {"L": "grayscale", "RGB": "RGB", "RGBA": "RGBA", "P": "palette", "1": "black-and-white"}.get(mode, mode)


def load_digits() -> SampleSet:
    """The held-out MNIST digits shipped with the embedded models (never used in training)."""
    with np.load(IMAGES_DIR / "mnist_heldout.npz") as data:
        images = data["images"].astype(np.float32) / 255.0  # (N, 28, 28) uint8 on disk
        labels = data["labels"].astype(np.int64)
    names = tuple(f"test digit #{i} (true {lab})" for i, lab in enumerate(labels))
    return SampleSet(images[:, None], labels, names)


def load_fashion(split: str = "heldout") -> SampleSet:
    """Fashion-MNIST test images shipped with the fmnist-* models ("heldout": 2,000 test images, never used
    for training or choosing parameters; "val": 1,000 training-set images never trained on, for choosing
    parameters such as thresholds)."""
    if split not in ("heldout", "val"):
        raise ImageError(f"Fashion-MNIST sample split must be 'heldout' or 'val', got {split!r}")
    with np.load(IMAGES_DIR / f"fashion_{split}.npz") as data:
        images = data["images"].astype(np.float32) / 255.0
        labels = data["labels"].astype(np.int64)
        classes = [str(c) for c in data["class_names"]]
    kind = "test" if split == "heldout" else "validation"
    names = tuple(f"{kind} image #{i} (true {classes[lab]})" for i, lab in enumerate(labels))
    return SampleSet(images[:, None], labels, names)


def load_photos() -> SampleSet:
    """The natural photos shipped under assets/images (from scikit-image), as 224x224 RGB."""
    paths = sorted(IMAGES_DIR.glob("photo_*.png"))
    arrays = [fit_image(Image.open(p), (3, 224, 224)).tensor[0].numpy() for p in paths]
    names = tuple(Path(p).stem.removeprefix("photo_") for p in paths)
    return SampleSet(np.stack(arrays), None, names)


def samples_for(input_shape: tuple[int, ...], dataset: str | None = None) -> SampleSet:
    """The sample set that fits a model: its own data set's held-out images when its card names one
    ("mnist", "fashion-mnist"), else digits for 1-channel and photos for 3-channel inputs."""
    if dataset == "fashion-mnist" and tuple(input_shape) == (1, 28, 28):
        return load_fashion()
    if len(input_shape) == 3 and input_shape[0] == 1:
        digits = load_digits()
        if input_shape[1:] == (28, 28):
            return digits
        fitted = [fit_image(im, input_shape).tensor[0].numpy() for im in digits.images]
        return SampleSet(np.stack(fitted), digits.labels, digits.names)
    if len(input_shape) == 3 and input_shape[0] == 3:
        photos = load_photos()
        if input_shape[1:] == (224, 224):
            return photos
        fitted = [fit_image(im, input_shape).tensor[0].numpy() for im in photos.images]
        return SampleSet(np.stack(fitted), None, photos.names)
    raise ImageError(f"no sample images for inputs of shape {input_shape}")
