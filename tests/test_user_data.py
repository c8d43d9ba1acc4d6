"""Your own images as a sample set (.npz, .zip of class folders, a folder), and a clear message for each bad
archive: zip bombs, paths escaping the archive, too many files, wrong contents."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

import geometry.user_data as user_data
from geometry import ImageError
from geometry.user_data import load_image_set
from tests.user_models import CIFAR_CLASSES, INPUT_SHAPE


def _png(color, size=(32, 32), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_npz_in_the_models_shape_is_used_as_it_is():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, *INPUT_SHAPE), dtype=np.uint8)
    out = load_image_set(_npz(images=images, labels=np.array([3, 1, 0, 9])), INPUT_SHAPE, name="mine.npz",
                         class_names=CIFAR_CLASSES)
    assert np.array_equal(out.samples.images, images.astype(np.float32) / 255) and out.notes == ()
    assert out.samples.labels.tolist() == [3, 1, 0, 9] and "true cat" in out.samples.names[0]


def test_npz_of_other_size_and_channels_is_fitted_with_notes():
    images = np.zeros((3, 40, 40, 3), np.uint8)
    images[..., 0] = 255  # pure red
    out = load_image_set(_npz(images=images), (1, 28, 28), name="red.npz")
    assert out.samples.images.shape == (3, 1, 28, 28) and out.samples.labels is None
    assert set(out.notes) == {"3 of 3 images: converted RGB to grayscale", "3 of 3 images: resized from 40x40 to 28x28"}
    assert np.allclose(out.samples.images, round(0.299 * 255) / 255, atol=1 / 255)  # PIL's luma of red


def test_zip_of_class_folders_gives_labels_by_class_name_or_number():
    members = {"data/cat/a.png": _png((255, 0, 0)), "data/cat/b.png": _png((0, 255, 0)),
               "data/9/c.png": _png((0, 0, 255), size=(64, 48)), "data/readme.txt": b"hello",
               "__MACOSX/data/cat/._a.png": b"junk"}
    out = load_image_set(_zip(members), INPUT_SHAPE, name="set.zip", class_names=CIFAR_CLASSES)
    s = out.samples
    assert s.names == ("data/9/c.png", "data/cat/a.png", "data/cat/b.png")
    assert s.labels.tolist() == [9, 3, 3]
    assert np.allclose(s.images[1][:, 0, 0], [1, 0, 0]) and s.images.shape == (3, *INPUT_SHAPE)
    assert "skipped 1 files that are not PNG or JPEG" in out.notes
    assert "1 of 3 images: resized from 64x48 to 32x32" in out.notes


def test_unknown_class_folders_leave_the_labels_unknown_with_a_note():
    out = load_image_set(_zip({"kittens/a.png": _png(1), "b.png": _png(2)}), INPUT_SHAPE, name="x.zip",
                         class_names=CIFAR_CLASSES)
    assert out.samples.labels is None
    assert any("'kittens'" in n and "(top level)" in n for n in out.notes)


def test_folder_with_class_subfolders(tmp_path):
    for cls, color in (("dog", 10), ("ship", 200)):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "x.png").write_bytes(_png((color, color, color)))
    out = load_image_set(tmp_path, INPUT_SHAPE, class_names=CIFAR_CLASSES)
    assert out.samples.labels.tolist() == [5, 8] and out.samples.names == ("dog/x.png", "ship/x.png")


# --- bad archives ----------------------------------------------------------------------------------

def test_zip_bomb_is_refused_before_unpacking(monkeypatch):
    monkeypatch.setattr(user_data, "MAX_UNCOMPRESSED_BYTES", 10 * 2**20)
    bomb = _zip({"a/big.png": bytes(20 * 2**20)})  # 20 MiB of zeros deflate to ~20 KiB
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match=r"would unpack to 20 MiB; the limit is 10 MiB \(possible zip bomb\)"):
        load_image_set(bomb, INPUT_SHAPE, name="bomb.zip")


def test_member_larger_than_declared_is_refused():
    data = bytearray(_zip({"a/x.png": _png(7)}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # claim 10 bytes uncompressed
    with pytest.raises(ImageError, match="'a/x.png' is (larger than the archive declares|corrupt or does not match)"):
        load_image_set(bytes(data), INPUT_SHAPE, name="liar.zip")


@pytest.mark.parametrize("member", ["../evil.png", "/etc/evil.png", "a/../../evil.png", "C:/evil.png",
                                    "a\\..\\..\\evil.png"])
def test_paths_escaping_the_archive_are_refused(member):
    with pytest.raises(ImageError, match="points outside the archive; refused"):
        load_image_set(_zip({"ok/a.png": _png(1), member: _png(2)}), INPUT_SHAPE, name="escape.zip")


def test_too_many_files_and_too_large_files(monkeypatch):
    monkeypatch.setattr(user_data, "MAX_MEMBERS", 2)
    with pytest.raises(ImageError, match="holds 3 files; the limit is 2"):
        load_image_set(_zip({f"c/{i}.png": _png(i) for i in range(3)}), INPUT_SHAPE, name="many.zip")
    monkeypatch.setattr(user_data, "MAX_DATASET_BYTES", 100)
    with pytest.raises(ImageError, match="the data set file is 0 MiB; the limit is 0 MiB"):
        load_image_set(_zip({"c/0.png": _png(0)}), INPUT_SHAPE, name="big.zip")


@pytest.mark.parametrize(("data", "name", "message"), [
    (_npz(pixels=np.zeros((2, 32, 32))), "a.npz", "the .npz has no 'images' array .*pixels"),
    (_npz(images=np.zeros((2, 3, 32, 32)) + 2), "a.npz", r"float images must lie in \[0, 1\]"),
    (_npz(images=np.zeros((2, 32, 32, 3)), labels=np.array([1, 2, 3])), "a.npz", "'labels' must be 2 integers"),
    (_npz(images=np.zeros((2, 3, 32, 32)), labels=np.array([1, 12])), "a.npz", r"range over 1…12, but the model"),
    (_npz(images=np.array([None, None], dtype=object)), "a.npz", "cannot be read without running pickled code"),
    (_zip({"a/notes.txt": b"x"}), "a.zip", "holds no PNG or JPEG images"),
    (_zip({"a/x.png": b"not a png"}), "a.zip", r"a/x.png: not an image file"),
    (b"not a zip", "a.zip", "is not a readable zip archive"),
    (b"whatever", "a.tar", "a data set is an .npz"),
])
def test_bad_data_sets_get_a_message(data, name, message):
    with pytest.raises(ImageError, match=message):
        load_image_set(data, INPUT_SHAPE, name=name, class_names=CIFAR_CLASSES)
