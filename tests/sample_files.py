"""Small valid files of every kind the readers take, for the error and fuzz tests to break.

The .net file and its prototxt come from test_caffe's synthetic writer, the ONNX model from test_onnx_import's
MLP (tests that need the real Deep Compression SqueezeNet take conftest's `real_model` fixture).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eie_sim.formats.workloads import load_workload, save_npz

SPEC = """# a two-layer MLP
name = "tiny-mlp"
description = "robustness tests"

[input]
shape = [24]
density = 0.5

[[op]]
type = "fc"
name = "fc1"
out = 16
density = 0.4
bits = 4

[[op]]
type = "fc"
name = "fc2"
out = 5
density = 0.6
bits = 4
relu = false
"""

CNN_SPEC = """# a small CNN with every op and every key written out
name = "tiny-cnn"
kind = "cnn"

[input]
shape = [3, 12, 12]
model = "image"
density = 1.0
signed = false

[[op]]
type = "conv"
name = "c1"
inputs = ["input"]
out = 4
kernel = 3
stride = 1
pad = 1
groups = 1
density = 0.5
bits = 4
relu = true
row_sigma = 0.2
channel_sigma = 0.2
position_sigma = 0.1
shape_slope = 1.5
magnitude_scale = 1.0
bias_scale = 1.0

[[op]]
type = "pool"
name = "p1"
mode = "max"
kernel = 2
stride = 2
pad = 0
global = false

[[op]]
type = "conv"
name = "c2"
out = 4
kernel = 1
groups = 2
density = 0.6
bits = 3

[[op]]
type = "concat"
name = "cat"
inputs = ["p1", "c2"]

[[op]]
type = "flatten"
name = "flat"

[[op]]
type = "fc"
name = "fc"
in = 288
out = 6
density = 0.3
bits = 4
relu = false
"""

ARCH = """# a small EIE
n_pes = 4
fifo_depth = 2
clock_mhz = 500.0
spmat_width = 32
rf_entries = 8
dram = "HBM2"
"""


def write_spec(directory: Path) -> Path:
    path = directory / "tiny.toml"
    path.write_text(SPEC)
    return path


def write_arch(directory: Path) -> Path:
    path = directory / "arch.toml"
    path.write_text(ARCH)
    return path


def write_plain_npz(directory: Path, name: str = "plain.npz") -> Path:
    """The plain interchange form: <layer>.weight, <layer>.bias, input (uncompressed, so byte flips reach the data)."""
    rng = np.random.default_rng(3)
    path = directory / name
    np.savez(
        path,
        **{
            "fc1.weight": (rng.normal(size=(12, 20)) * (rng.random((12, 20)) < 0.4)).astype(np.float32),
            "fc1.bias": rng.normal(size=12).astype(np.float32),
            "fc2.weight": rng.normal(size=(6, 12)).astype(np.float32),
            "input": np.maximum(rng.normal(size=20), 0).astype(np.float32),
        },
    )
    return path


def write_graph_npz(directory: Path, name: str = "graph.npz") -> Path:
    """The compressed form save_npz writes (graph JSON, gaps, codes, codebooks), of the tiny spec."""
    path = directory / name
    save_npz(load_workload(str(write_spec(directory))), path)
    return path


def write_image_npz(directory: Path) -> Path:
    """A one-conv network that takes a 3 x 227 x 227 image, so that --image applies to it."""
    path = directory / "imagenet.npz"
    weights = np.zeros((2, 3, 3, 3), np.float32)
    weights[:, :, 1, 1] = 0.5
    np.savez(path, **{"c.weight": weights, "input": np.zeros((3, 227, 227), np.float32)})
    return path


def write_onnx(directory: Path) -> Path:
    from test_onnx_import import mlp_model

    path, _ = mlp_model(directory, np.random.default_rng(0))
    return path


def write_net(directory: Path) -> tuple[Path, Path]:
    """(.net, .prototxt) of test_caffe's synthetic network, whose input is 2 x 7 x 7."""
    from test_caffe import _write_synthetic

    net, prototxt, _ = _write_synthetic(directory)
    return net, prototxt


def write_image(directory: Path, suffix: str = ".png") -> Path:
    from PIL import Image

    pixels = (np.random.default_rng(1).random((30, 40, 3)) * 255).astype(np.uint8)
    path = directory / f"photo{suffix}"
    Image.fromarray(pixels).save(path)
    return path


def write_model_files(directory: Path) -> dict[str, Path]:
    """One valid file of every model kind a workload can come from, by kind."""
    net, prototxt = write_net(directory)
    return {
        "spec": write_spec(directory),
        "arch": write_arch(directory),
        "plain": write_plain_npz(directory),
        "graph": write_graph_npz(directory),
        "onnx": write_onnx(directory),
        "net": net,
        "prototxt": prototxt,
    }
