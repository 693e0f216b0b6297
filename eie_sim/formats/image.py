"""Photos as the Caffe ImageNet networks saw them, so a Caffe model's activations (and their sparsity) are real.

Caffe's ImageNet pipeline (examples/imagenet/create_imagenet.sh) stored every image warped to 256x256, ignoring the
aspect ratio; at test time the data layer took the central 227x227 crop and subtracted the per-channel mean
104/117/123 (B/G/R; SqueezeNet v1.0 train_val.prototxt, transform_param), on the 0..255 scale, channels in BGR
order as OpenCV decodes them. Pillow's bilinear resize stands in for OpenCV's.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from eie_sim.errors import InputError
from eie_sim.support.optional import require

RESIZE = 256
CROP = 227
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
SAMPLES = ("china.jpg", "flower.jpg")  # scikit-learn's bundled photos, usable offline


def _pillow() -> Any:
    return require("PIL.Image", "reading images", "images")


def _open(path_or_sample: str) -> Any:
    """The RGB image at a path, or the scikit-learn sample photo of that name."""
    image_module = _pillow()
    path = Path(path_or_sample)
    if path.is_file():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", image_module.DecompressionBombWarning)  # a huge image is refused too
                with image_module.open(path) as image:
                    return image.convert("RGB")
        except (
            OSError,
            ValueError,
            SyntaxError,
            image_module.DecompressionBombError,
            image_module.DecompressionBombWarning,
        ) as exc:
            raise InputError(f"{path}: cannot read as an image ({exc})") from None
    if path_or_sample in SAMPLES:
        datasets = require("sklearn.datasets", f"the sample photo {path_or_sample}", "images")
        return image_module.fromarray(datasets.load_sample_image(path_or_sample))
    if path.exists():
        raise InputError(f"{path}: not a file")
    raise InputError(f"{path}: no such image file (sample photos: {', '.join(SAMPLES)})")


def load_image(path_or_sample: str) -> np.ndarray:
    """An image file or sample photo name -> Caffe-preprocessed input of shape (3, 227, 227), float32, BGR."""
    image = _open(path_or_sample).resize((RESIZE, RESIZE), _pillow().Resampling.BILINEAR)
    offset = (RESIZE - CROP) // 2
    rgb = np.asarray(image, dtype=np.float32)[offset : offset + CROP, offset : offset + CROP]
    bgr = rgb[:, :, ::-1] - MEAN_BGR
    return np.ascontiguousarray(bgr.transpose(2, 0, 1))
