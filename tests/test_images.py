"""Image loading: sample sets, fitting to the model's input with notes, refusals of bad files."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import geometry as g
from geometry.images import decode_image, fit_image, load_upload


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: what a decompression bomb looks like before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_digits_are_the_held_out_split(digits):
    assert digits.images.shape == (500, 1, 28, 28)
    assert digits.images.dtype == np.float32 and 0 <= digits.images.min() and digits.images.max() <= 1
    assert np.bincount(digits.labels).tolist() == [50] * 10


def test_photos_fit_imagenet_models():
    photos = g.load_photos()
    assert photos.images.shape[1:] == (3, 224, 224) and len(photos.names) >= 4


def test_rgb_upload_to_a_grayscale_model_is_converted_with_notes():
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 40, 3), dtype=np.uint8))
    fitted = load_upload(_png(img), (1, 28, 28))
    assert fitted.tensor.shape == (1, 1, 28, 28)
    assert fitted.notes == ("converted RGB to grayscale", "resized from 40x60 to 28x28")


def test_grayscale_upload_to_an_rgb_model_is_converted_with_notes():
    img = Image.fromarray(np.full((224, 224), 128, dtype=np.uint8))
    fitted = load_upload(_png(img), (3, 224, 224))
    assert fitted.tensor.shape == (1, 3, 224, 224)
    assert fitted.notes == ("converted grayscale to RGB",)
    assert abs(float(fitted.tensor.mean()) - 128 / 255) < 1e-6


def test_exact_fit_has_no_notes():
    img = Image.fromarray(np.zeros((28, 28), dtype=np.uint8))
    assert load_upload(_png(img), (1, 28, 28)).notes == ()


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(g.ImageError, match="decompression bomb"):
        decode_image(_png_claiming_size(40000, 40000))
    with pytest.raises(g.ImageError, match="8000x8000 pixels"):  # below PIL's own limit, above ours
        decode_image(_png_claiming_size(8000, 8000))


def test_truncated_and_corrupt_files_are_refused():
    data = _png(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8)))
    with pytest.raises(g.ImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])
    with pytest.raises(g.ImageError, match="not an image file"):
        decode_image(b"definitely not an image")
    with pytest.raises(g.ImageError, match="empty"):
        decode_image(b"")


def test_huge_upload_and_other_formats_are_refused():
    with pytest.raises(g.ImageError, match="limit is 1 MiB"):
        decode_image(b"\0" * (2 * 2**20), max_bytes=2**20)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="BMP")
    with pytest.raises(g.ImageError, match="unsupported image format BMP"):
        decode_image(buf.getvalue())


def test_fit_rejects_non_image_models_and_bad_arrays():
    with pytest.raises(g.ImageError, match="not images"):
        fit_image(np.zeros((28, 28), np.uint8), (2,))
    with pytest.raises(g.ImageError, match="NaN"):
        fit_image(np.full((28, 28), np.nan, np.float32), (1, 28, 28))
    with pytest.raises(g.ImageError, match=r"lie in \[0, 1\]"):
        fit_image(np.full((28, 28), 3.0, np.float32), (1, 28, 28))
