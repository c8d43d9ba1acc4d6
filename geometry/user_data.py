"""Your own images as a sample set: an .npz (`images`, optional `labels`), a .zip of images in class folders,
or a folder of images (with or without class folders), fitted to the model's input with notes.

Archives are checked before anything is decompressed: the file size, the number of members, the total
uncompressed size (and each member is read only up to its declared size, so a member that lies about its
size cannot inflate), and member paths that would escape the archive (absolute, `..`) are refused.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import ImageError
from .images import SampleSet, decode_image, fit_image

MAX_DATASET_BYTES = 256 * 2**20  # the .npz / .zip file itself
MAX_UNCOMPRESSED_BYTES = 1 << 30  # everything inside it, as declared by the archive
MAX_MEMBERS = 20_000  # files in a .zip / folder
MAX_IMAGES = 20_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class LoadedSet:
    """A user's sample set and what was done to it (resizing, channel conversion, skipped files, labels)."""

    samples: SampleSet
    notes: tuple[str, ...]


def load_image_set(source: str | Path | bytes, input_shape: tuple[int, ...], *, name: str | None = None,
                   class_names: tuple[str, ...] | None = None) -> LoadedSet:
    """Images fitted to `input_shape` from a path (.npz, .zip or a folder) or from bytes named `name`.
    `class_names` (the model's) turn class-folder names into labels."""
    if isinstance(source, bytes):
        if name is None:
            raise ImageError("name the uploaded data set file (.npz or .zip)")
        data = _check_size(len(source), source)
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            return _from_folder(path, input_shape, class_names)
        if not path.is_file():
            raise ImageError(f"no such data set file or folder: {source}")
        name, data = path.name, _check_size(path.stat().st_size, path)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".npz":
        return _from_npz(data, input_shape, class_names)
    if suffix == ".zip":
        return _from_zip(data, input_shape, class_names)
    raise ImageError(f"{name}: a data set is an .npz (images, optional labels), a .zip of images in class "
                     "folders, or (command line) a folder")


def _check_size(n: int, source: bytes | Path) -> bytes:
    if n > MAX_DATASET_BYTES:
        raise ImageError(f"the data set file is {n / 2**20:.0f} MiB; the limit is {MAX_DATASET_BYTES >> 20} MiB")
    data = source if isinstance(source, bytes) else source.read_bytes()
    if not data:
        raise ImageError("the data set file is empty")
    return data


# --- .npz -----------------------------------------------------------------------------------------

def _from_npz(data: bytes, input_shape, class_names) -> LoadedSet:
    _open_zip(data, "the .npz file")  # an .npz is a zip: the same size checks before numpy inflates it
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            if "images" not in npz:
                raise ImageError(f"the .npz has no 'images' array (it has: {', '.join(npz.files) or 'nothing'})")
            images = npz["images"]
            labels = npz["labels"] if "labels" in npz else None
    except ValueError as error:  # object arrays need pickle, which stays off
        raise ImageError(f"the .npz cannot be read without running pickled code: {error}") from None
    if images.ndim not in (3, 4) or not len(images) or not np.issubdtype(images.dtype, np.number):
        raise ImageError(f"'images' must be a numeric array (N, H, W), (N, H, W, C) or (N, C, H, W); "
                         f"got {images.dtype} of shape {images.shape}")
    if len(images) > MAX_IMAGES:
        raise ImageError(f"the .npz holds {len(images)} images; the limit is {MAX_IMAGES}")
    labels = None if labels is None else _check_labels(labels, len(images), class_names)
    fitted, notes = _as_input(images, tuple(input_shape))
    names = tuple(f"image #{i}" + ("" if labels is None else f" (true {_label(labels[i], class_names)})")
                  for i in range(len(fitted)))
    return LoadedSet(SampleSet(fitted, labels, names), notes)


def _check_labels(labels: np.ndarray, n: int, class_names) -> np.ndarray:
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ImageError(f"'labels' must be {n} integers (one per image); got {labels.dtype} of shape {labels.shape}")
    if class_names is not None and len(labels) and not (0 <= labels.min() and labels.max() < len(class_names)):
        raise ImageError(f"'labels' range over {labels.min()}…{labels.max()}, but the model has "
                         f"{len(class_names)} classes (0…{len(class_names) - 1})")
    return labels.astype(np.int64)


def _label(i: int, class_names) -> str:
    return str(class_names[i]) if class_names is not None else str(int(i))


# --- .zip and folders ------------------------------------------------------------------------------

def _open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ImageError(f"{what} is not a readable zip archive") from None
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ImageError(f"{what} holds {len(infos)} files; the limit is {MAX_MEMBERS}")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ImageError(f"{what} would unpack to {total / 2**20:.0f} MiB; the limit is "
                         f"{MAX_UNCOMPRESSED_BYTES >> 20} MiB (possible zip bomb)")
    for info in infos:
        _safe_member(info.filename, what)
    return archive


def _safe_member(name: str, what: str) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise ImageError(f"{what}: the member {name!r} points outside the archive; refused")


def _from_zip(data: bytes, input_shape, class_names) -> LoadedSet:
    archive = _open_zip(data, "the .zip file")
    files = []
    for info in archive.infolist():
        if info.is_dir() or _ignored(PurePosixPath(info.filename)):
            continue
        try:
            with archive.open(info) as f:
                raw = f.read(info.file_size + 1)  # never more than declared (+1 to catch a lying header)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
            raise ImageError(f"the .zip member {info.filename!r} is corrupt or does not match the size the "
                             f"archive declares ({error}); refused") from None
        if len(raw) > info.file_size:
            raise ImageError(f"the .zip member {info.filename!r} is larger than the archive declares; refused")
        files.append((PurePosixPath(info.filename), raw))
    return _from_files(files, input_shape, class_names, "the .zip file")


def _from_folder(folder: Path, input_shape, class_names) -> LoadedSet:
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    if len(paths) > MAX_MEMBERS:
        raise ImageError(f"the folder holds {len(paths)} files; the limit is {MAX_MEMBERS}")
    files = [(PurePosixPath(p.relative_to(folder).as_posix()), p.read_bytes()) for p in paths
             if not _ignored(PurePosixPath(p.relative_to(folder).as_posix()))]
    return _from_files(files, input_shape, class_names, f"the folder {folder}")


def _ignored(p: PurePosixPath) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in p.parts)


def _from_files(files: list[tuple[PurePosixPath, bytes]], input_shape, class_names, what: str) -> LoadedSet:
    images = sorted((p, raw) for p, raw in files if p.suffix.lower() in IMAGE_SUFFIXES)
    notes = [f"skipped {len(files) - len(images)} files that are not PNG or JPEG"] if len(images) < len(files) else []
    if not images:
        raise ImageError(f"{what} holds no PNG or JPEG images")
    if len(images) > MAX_IMAGES:
        raise ImageError(f"{what} holds {len(images)} images; the limit is {MAX_IMAGES}")
    decoded = []
    for p, raw in images:
        try:
            decoded.append(decode_image(raw))
        except ImageError as error:
            raise ImageError(f"{p}: {error}") from None
    fitted, fit_notes = _fit_all(decoded, input_shape)
    labels, label_notes = _folder_labels([p.parent.name for p, _ in images], class_names)
    names = tuple(str(p) for p, _ in images)
    return LoadedSet(SampleSet(fitted, labels, names), (*notes, *fit_notes, *label_notes))


def _folder_labels(folders: list[str], class_names) -> tuple[np.ndarray | None, list[str]]:
    """Labels from class-folder names: a class name of the model (any case) or a class number."""
    if class_names is None:
        return None, []
    lookup = {c.lower(): i for i, c in enumerate(class_names)}
    lookup.update({str(i): i for i in range(len(class_names))})
    unknown = sorted({f for f in folders if f.lower() not in lookup})
    if unknown:
        shown = ", ".join(repr(f) if f else "(top level)" for f in unknown[:5])
        return None, [f"no true labels: folder(s) {shown} are not classes of the model (folders named by class "
                      "name or number give labels)"]
    return np.array([lookup[f.lower()] for f in folders], dtype=np.int64), []


# --- fitting ---------------------------------------------------------------------------------------

def _as_input(images: np.ndarray, input_shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """An array already in the model's shape is used as it is (no 8-bit round trip); others are fitted."""
    if images.ndim == 3 and input_shape[0] == 1:
        images = images[:, None]
    if tuple(images.shape[1:]) == input_shape:
        if images.dtype == np.uint8:
            return images.astype(np.float32) / 255, ()
        arr = images.astype(np.float32)
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ImageError("float images must lie in [0, 1] (or be uint8 in 0…255); got values in "
                             f"[{np.nanmin(arr):.3g}, {np.nanmax(arr):.3g}]" + ("" if np.isfinite(arr).all()
                                                                               else " with NaN or inf"))
        return arr, ()
    return _fit_all(list(images), input_shape)


def _fit_all(images: list, input_shape) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each image fitted to the model's input; the notes say how many needed which change."""
    out: list[np.ndarray] = []
    counts: Counter[str] = Counter()
    for im in images:
        f = fit_image(im, tuple(input_shape))
        out.append(f.tensor[0].numpy())
        counts.update(f.notes)
    notes = tuple(f"{n} of {len(images)} images: {note}" for note, n in counts.items())
    return np.stack(out).astype(np.float32), notes
