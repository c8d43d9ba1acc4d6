"""Offline data sets: IDX files (the MNIST / Fashion-MNIST format) parsed with numpy, no download.

Fashion-MNIST comes from Debian's package `dataset-fashion-mnist` (60,000 training and 10,000 test
images, gzipped IDX under /usr/share/datasets/fashion-mnist/, MIT licence).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .errors import AtlasError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# IDX type codes (third byte of the magic number) -> numpy dtype, big-endian as the format stores them.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(AtlasError):
    """A data set is missing or malformed."""


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a numpy array of its stored shape.

    The format: two zero bytes, a type code, the number of dimensions, one big-endian uint32 per
    dimension, then the data in C order.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{path.name}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path.name}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(f"{path.name}: IDX header announces shape {shape} ({expected} bytes of data) "
                           f"but the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def fashion_mnist(split: str, root: str | Path = FASHION_DIR) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images (uint8, N×28×28) and labels (int64) of split "train" or "test"."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise DatasetError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    files = [root / f"{prefix}-{kind}-idx{n}-ubyte.gz" for kind, n in (("images", 3), ("labels", 1))]
    if not all(f.exists() for f in files):
        raise DatasetError(f"Fashion-MNIST not found under {root}: install Debian's package "
                           "`dataset-fashion-mnist` (sudo apt-get install dataset-fashion-mnist)")
    images, labels = (read_idx(f) for f in files)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DatasetError(f"Fashion-MNIST {split}: images {images.shape} and labels {labels.shape} disagree")
    return images.astype(np.uint8), labels.astype(np.int64)
