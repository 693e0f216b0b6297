"""Caffe preprocessing of photos: sample photos, user files, and the errors for unreadable ones."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from eie_sim.errors import InputError
from eie_sim.formats.image import MEAN_BGR, load_image

Image = pytest.importorskip("PIL.Image", reason="Pillow (the 'images' extra) is not installed")


@pytest.mark.parametrize("sample", ["china.jpg", "flower.jpg"])
def test_sample_photos(sample):
    pytest.importorskip("sklearn", reason="scikit-learn (the 'images' extra) is not installed")
    x = load_image(sample)
    assert x.shape == (3, 227, 227) and x.dtype == np.float32 and x.flags.c_contiguous
    pixels = x + MEAN_BGR[:, None, None]
    assert pixels.min() >= 0 and pixels.max() <= 255
    assert pixels.std() > 20  # a photo, not a flat image


def test_user_png_is_bgr_and_mean_subtracted(tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (80, 50), (10, 20, 30)).save(path)
    x = load_image(str(path))
    assert x.shape == (3, 227, 227) and x.dtype == np.float32
    for channel, value in enumerate((30 - 104, 20 - 117, 10 - 123)):  # B, G, R
        assert np.all(x[channel] == value)


def test_center_crop_of_256(tmp_path):
    rows, cols = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    rgb = np.stack([rows, cols, np.zeros_like(rows)], axis=2).astype(np.uint8)
    path = tmp_path / "ramp.png"
    Image.fromarray(rgb).save(path)
    x = load_image(str(path)) + MEAN_BGR[:, None, None]
    assert x[2, 0, 0] == 14 and x[2, -1, 0] == 14 + 226  # red holds the row: the crop starts at (256 - 227) // 2
    assert x[1, 0, 0] == 14 and x[1, 0, -1] == 14 + 226  # green holds the column
    assert np.all(x[0] == 0)


def test_grayscale_and_alpha_images(tmp_path):
    gray, rgba = tmp_path / "gray.png", tmp_path / "rgba.png"
    Image.new("L", (30, 40), 200).save(gray)
    Image.new("RGBA", (30, 40), (1, 2, 3, 0)).save(rgba)
    assert np.all(load_image(str(gray)) + MEAN_BGR[:, None, None] == 200)
    assert np.all(load_image(str(rgba))[0] == 3 - 104)


@pytest.mark.parametrize("content", [b"not an image at all", None], ids=["garbage", "truncated-png"])
def test_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.png"
    if content is None:
        Image.new("RGB", (64, 64), (1, 2, 3)).save(path)
        content = path.read_bytes()[:60]
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.png: cannot read as an image"):
        load_image(str(path))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match=r"absent.jpg: no such image file \(sample photos: china.jpg, flower.jpg\)"):
        load_image(str(tmp_path / "absent.jpg"))
    with pytest.raises(InputError, match="not a file"):
        load_image(str(tmp_path))


def test_missing_pillow_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(InputError, match=r"pip install 'eie-sim\[images\]'"):
        load_image("china.jpg")


def test_missing_scikit_learn_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        InputError, match=r"the sample photo china.jpg needs scikit-learn: pip install 'eie-sim\[images\]'"
    ):
        load_image("china.jpg")
