"""The Deep Compression .net reader: the real SqueezeNet release (when at hand), corrupt copies, a synthetic file."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from eie_sim.errors import InputError
from eie_sim.formats.caffe import load_caffe_net
from eie_sim.model.ops import INPUT, Concat, Flatten, Pool

FIRES = {  # fire module: (squeeze, expand) channels
    2: (16, 64),
    3: (16, 64),
    4: (32, 128),
    5: (32, 128),
    6: (48, 192),
    7: (48, 192),
    8: (64, 256),
    9: (64, 256),
}


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes = {"conv1": (96, 3, 7, 7)}
    channels = 96
    for fire, (squeeze, expand) in FIRES.items():
        shapes[f"fire{fire}/conv1x1_1"] = (squeeze, channels, 1, 1)
        shapes[f"fire{fire}/conv1x1_2"] = (expand, squeeze, 1, 1)
        shapes[f"fire{fire}/conv3x3_2"] = (expand, squeeze, 3, 3)
        channels = 2 * expand
    shapes["conv_final"] = (1000, 512, 1, 1)
    return shapes


@pytest.fixture(scope="module")
def squeezenet(real_model):
    return load_caffe_net(real_model.net, real_model.prototxt, input=np.zeros((3, 227, 227), np.float32))


def test_counts_and_stored_bytes(squeezenet, real_model):
    assert sum(layer.nnz for layer in squeezenet.layers) == 415_921
    assert sum(squeezenet.fillers.values()) == 6_162
    assert set(squeezenet.fillers) == {layer.name for layer in squeezenet.layers}
    assert squeezenet.stored_bytes == {
        "header": 26 * 4,
        "codebooks": 26_624,
        "biases": 15_904,
        "codes": 422_083,
        "indices": 211_048,
    }
    assert sum(squeezenet.stored_bytes.values()) == real_model.net.stat().st_size == 675_763


def test_layers(squeezenet):
    expected = _expected_shapes()
    assert [layer.name for layer in squeezenet.layers] == list(expected)
    for layer in squeezenet.layers:
        assert layer.shape == expected[layer.name]
        assert layer.kind == "conv" and layer.code_bits == 8 and layer.relu
        assert layer.codebook.dtype == np.float32 and len(layer.codebook) == 256 and layer.codebook[0] == 0
        assert layer.bias is not None and layer.bias.shape == (layer.rows,)
        assert layer.pad == (1 if layer.kernel == 3 or layer.name == "conv_final" else 0)
        assert layer.stride == (2 if layer.name == "conv1" else 1)
    assert squeezenet.layer("conv_final").density == pytest.approx(0.20, abs=0.002)
    assert squeezenet.layer("conv1").density == pytest.approx(0.985, abs=0.001)


def test_graph(squeezenet):
    ops = {op.name: op for op in squeezenet.ops}
    assert len(squeezenet.ops) == 26 + 8 + 4  # weighted layers, concats, pools
    assert ops["conv1"].inputs == (INPUT,)
    for fire in FIRES:
        concat = ops[f"fire{fire}/concat"]
        assert isinstance(concat, Concat)
        assert concat.inputs == (f"fire{fire}/conv1x1_2", f"fire{fire}/conv3x3_2")
        assert ops[f"fire{fire}/conv1x1_2"].inputs == ops[f"fire{fire}/conv3x3_2"].inputs == (f"fire{fire}/conv1x1_1",)
    assert ops["fire5/conv1x1_1"].inputs == ("pool4",) and ops["fire9/conv1x1_1"].inputs == ("pool8",)
    assert ops["conv_final"].inputs == ("fire9/concat",)
    for name in ("pool1", "pool4", "pool8"):
        assert ops[name] == Pool(name, "max", kernel=3, stride=2, pad=0, inputs=ops[name].inputs, output=name)
    final = ops["pool_final"]
    assert isinstance(final, Pool) and final.mode == "avg" and final.global_ and final.kernel == 15
    assert squeezenet.output == "pool_final"


def _copy(tmp_path: Path, data: bytes, name: str = "net.net") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d[:-1], "ends inside layer conv_final's indices"),
        (lambda d: d + b"\0\0\0", "3 bytes remain"),
        (lambda d: d[:50], "ends inside the header"),
        (lambda d: d[:104] + struct.pack("<f", 0.5) + d[108:], "codebook starts with 0.5"),
        (lambda d: d[: 104 + 1024] + struct.pack("<f", float("nan")) + d[1128:], "conv1's bias holds NaN"),
        (lambda d: d[:-20_000] + b"\xff" * 20_000, "conv_final's indices reach position"),
    ],
    ids=["truncated", "extra", "header-only", "codebook0", "nan-bias", "index-overflow"],
)
def test_corrupt_file(tmp_path, real_model, change, message):
    path = _copy(tmp_path, change(real_model.net.read_bytes()))
    with pytest.raises(InputError, match=message) as info:
        load_caffe_net(path, real_model.prototxt, input=np.zeros((3, 227, 227), np.float32))
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "old, new",
    [
        ("num_output: 16\n", "num_output: 17\n"),  # fire2's squeeze: a bias longer and every later layer shifted
        (  # a 27th weighted layer: the header is read one entry too long
            'layer {\n  name: "conv_final"',
            (
                'layer { name: "extra" type: "Convolution" bottom: "fire9/concat" top: "extra"\n'
                '  convolution_param { num_output: 8 kernel_size: 1 } }\nlayer {\n  name: "conv_final"'
            ),
        ),
    ],
    ids=["num_output", "extra-layer"],
)
def test_wrong_prototxt(tmp_path, real_model, old, new):
    text = real_model.prototxt.read_text()
    assert old in text
    prototxt = tmp_path / "wrong.prototxt"
    prototxt.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_caffe_net(real_model.net, prototxt, input=np.zeros((3, 227, 227), np.float32))
    assert str(real_model.net) in str(info.value) or str(prototxt) in str(info.value)


def test_prototxt_with_a_layer_fewer(tmp_path, real_model):
    text = real_model.prototxt.read_text()
    prototxt = tmp_path / "short.prototxt"
    prototxt.write_text(text[: text.index('layer {\n  name: "conv_final"')])
    with pytest.raises(
        InputError, match=f"{real_model.net}: .*: the file is corrupt, or {prototxt} does not describe it"
    ):
        load_caffe_net(real_model.net, prototxt, input=np.zeros((3, 227, 227), np.float32))


def test_prototxt_found_beside_the_file(tmp_path, real_model):
    path = _copy(tmp_path, real_model.net.read_bytes())
    with pytest.raises(InputError, match="found 0 .prototxt files"):
        load_caffe_net(path)
    (tmp_path / "a.prototxt").write_text(real_model.prototxt.read_text())
    net = load_caffe_net(path, input=np.zeros((3, 227, 227), np.float32))
    assert len(net.layers) == 26
    (tmp_path / "b.prototxt").write_text(real_model.prototxt.read_text())
    with pytest.raises(InputError, match=r"found 2 .prototxt files beside it \(a.prototxt, b.prototxt\)"):
        load_caffe_net(path)


def test_input_from_sample_photos(real_model):
    pytest.importorskip("PIL")
    pytest.importorskip("sklearn")
    from eie_sim.formats.image import load_image

    assert np.array_equal(load_caffe_net(real_model.net).input, load_image("china.jpg"))
    assert np.array_equal(load_caffe_net(real_model.net, input="flower.jpg").input, load_image("flower.jpg"))


def test_missing_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_caffe_net(tmp_path / "absent.net", tmp_path / "absent.prototxt")
    _copy(tmp_path, b"\0" * 8)
    with pytest.raises(InputError, match="absent.prototxt: no such file"):
        load_caffe_net(tmp_path / "net.net", tmp_path / "absent.prototxt")


# A small network written by the test itself: conv (8-bit codes) + pool + fire-like concat + InnerProduct (4-bit).
SYNTHETIC_PROTOTXT = """
name: "tiny"  # comments and both block spellings are allowed
input: "data"
input_shape { dim: 1 dim: 2 dim: 7 dim: 7 }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 stride: 1 } }
layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }
layer { name: "p1" type: "Pooling" bottom: "c1" top: "p1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "e1" type: "Convolution" bottom: "p1" top: "e1" convolution_param: { num_output: 3 kernel_size: 1 } }
layer { name: "e3" type: "Convolution" bottom: "p1" top: "e3"
        convolution_param { num_output: 5 kernel_h: 3 kernel_w: 3 pad: 1 } }
layer { name: "r3" type: "ReLU" bottom: "e3" top: "e3" }
layer { name: "cat" type: "Concat" bottom: "e1" bottom: "e3" top: "cat" }
layer { name: "drop" type: "Dropout" bottom: "cat" top: "cat" dropout_param { dropout_ratio: 0.5 } }
layer { name: "ip" type: "InnerProduct" bottom: "cat" top: "ip" inner_product_param { num_output: 37 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
"""

SYNTHETIC_SHAPES = {"c1": (4, 2, 3, 3), "e1": (3, 4, 1, 1), "e3": (5, 4, 3, 3), "ip": (37, 8 * 3 * 3)}


def _pack_nibbles(values: list[int]) -> bytes:
    padded = values + [0] * (len(values) % 2)
    return bytes(lo | hi << 4 for lo, hi in zip(padded[::2], padded[1::2]))


def _encode(codes: np.ndarray) -> tuple[list[int], list[int]]:
    """Entries (code, zeros before it) in flat order, with a filler entry (code 0, 15) per gap longer than 15."""
    entry_codes, steps, last = [], [], -1
    for pos in np.flatnonzero(codes.reshape(-1)):
        gap = int(pos) - last - 1
        while gap > 15:
            entry_codes.append(0)
            steps.append(15)
            gap -= 16
        entry_codes.append(int(codes.reshape(-1)[pos]))
        steps.append(gap)
        last = int(pos)
    return entry_codes, steps


def _write_synthetic(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]]]:
    rng = np.random.default_rng(7)
    layers, header, body = {}, [], b""
    for name, shape in SYNTHETIC_SHAPES.items():
        bits = 4 if name == "ip" else 8
        density = 0.03 if name == "ip" else 0.6  # sparse enough that the FC layer needs fillers
        codes = np.where(rng.random(shape) < density, rng.integers(1, 1 << bits, shape), 0).astype(np.uint8)
        codebook = np.concatenate([[0.0], rng.normal(size=(1 << bits) - 1)]).astype("<f4")
        bias = rng.normal(size=shape[0]).astype("<f4")
        entry_codes, steps = _encode(codes)
        packed_codes = bytes(entry_codes) if bits == 8 else _pack_nibbles(entry_codes)
        body += codebook.tobytes() + bias.tobytes() + packed_codes + _pack_nibbles(steps)
        header.append(len(entry_codes))
        layers[name] = (codes, codebook, bias, entry_codes.count(0))
    net = tmp_path / "tiny.net"
    net.write_bytes(struct.pack(f"<{len(header)}I", *header) + body)
    prototxt = tmp_path / "tiny.prototxt"
    prototxt.write_text(SYNTHETIC_PROTOTXT)
    return net, prototxt, layers


def test_synthetic_file(tmp_path):
    net_path, _, expected = _write_synthetic(tmp_path)
    x = np.ones((2, 7, 7), np.float32)
    net = load_caffe_net(net_path, input=x)
    assert net.name == "tiny" and np.array_equal(net.input, x)
    for name, (codes, codebook, bias, fillers) in expected.items():
        layer = net.layer(name)
        assert np.array_equal(layer.dense_codes().reshape(-1), codes.reshape(-1))
        assert np.array_equal(layer.codebook, codebook) and np.array_equal(layer.bias, bias)
        assert net.fillers[name] == fillers
    assert net.fillers["ip"] > 0
    assert net.layer("ip").kind == "fc" and net.layer("ip").code_bits == 4 and net.layer("ip").shape == (37, 72)
    assert [net.layer(n).relu for n in ("c1", "e1", "e3", "ip")] == [True, False, True, False]
    assert net.layer("e3").pad == 1 and net.layer("c1").shape == (4, 2, 3, 3)
    kinds = [type(op).__name__ for op in net.ops]
    assert kinds == ["Layer", "Pool", "Layer", "Layer", "Concat", "Flatten", "Layer"]
    flatten = net.ops[5]
    assert isinstance(flatten, Flatten) and flatten.inputs == ("cat",) and net.layer("ip").inputs == (flatten.output,)
    assert net.ops[4].inputs == ("e1", "e3") and net.output == "ip"
    assert sum(net.stored_bytes.values()) == net_path.stat().st_size
    entries = [len(_encode(e[0])[0]) for e in expected.values()]
    assert net.stored_bytes["indices"] == sum((n + 1) // 2 for n in entries)


def test_synthetic_pool_ceil_mode(tmp_path):
    net_path, prototxt, _ = _write_synthetic(tmp_path)
    # 7x7 -> pool 3/2 in ceil mode gives 3x3, so the FC sees 8 * 3 * 3 inputs; floor mode would also give 3x3,
    # so stride 3 makes the two differ: ceil((7-3)/3)+1 = 3 against floor's 2.
    prototxt.write_text(SYNTHETIC_PROTOTXT.replace("kernel_size: 3 stride: 2", "kernel_size: 3 stride: 3"))
    net = load_caffe_net(net_path, input=np.ones((2, 7, 7), np.float32))
    assert net.layer("ip").shape == (37, 72)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('top: "prob" }', 'top: "prob" }\nlayer { name: "x" type: "ReLU" bottom: "prob" top: "y" }', "Softmax prob"),
        ("pool: MAX", "pool: STOCHASTIC", "pool STOCHASTIC is not supported"),
        ('type: "Dropout"', 'type: "BatchNorm"', "type 'BatchNorm' is not supported"),
        ('bottom: "e1" bottom', 'bottom: "nothing" bottom', "reads 'nothing', which no earlier layer produces"),
        ("kernel_h: 3 kernel_w: 3", "kernel_h: 3 kernel_w: 1", "not square"),
        ("num_output: 37 }", "num_output: 37", "never closed"),
        (
            'layer { name: "r3"',
            'layer { name: "r3x" type: "Pooling" bottom: "e3" top: "q" pooling_param { pool: MAX kernel_size: 1 } }\n'
            'layer { name: "r3"',
            "read by another layer before this ReLU",
        ),
        ('name: "e1"', 'name: "c1"', "a second layer named 'c1'"),
    ],
    ids=[
        "after-softmax",
        "stochastic",
        "unsupported-type",
        "unknown-bottom",
        "non-square",
        "unclosed",
        "late-relu",
        "duplicate",
    ],
)
def test_bad_prototxt(tmp_path, old, new, message):
    net_path, prototxt, _ = _write_synthetic(tmp_path)
    assert old in SYNTHETIC_PROTOTXT
    prototxt.write_text(SYNTHETIC_PROTOTXT.replace(old, new, 1))
    with pytest.raises(InputError, match=message) as info:
        load_caffe_net(net_path, input=np.ones((2, 7, 7), np.float32))
    assert str(prototxt) in str(info.value)


def test_synthetic_input_checks(tmp_path):
    net_path, _, _ = _write_synthetic(tmp_path)
    with pytest.raises(InputError, match=r"the input has shape \(3, 7, 7\).*expects \(2, 7, 7\)"):
        load_caffe_net(net_path, input=np.ones((3, 7, 7), np.float32))
    with pytest.raises(InputError, match=r"input has shape \(2, 7, 7\); give an input array"):
        load_caffe_net(net_path)


def test_synthetic_header_larger_than_blob(tmp_path):
    net_path, _, _ = _write_synthetic(tmp_path)
    data = bytearray(net_path.read_bytes())
    data[0:4] = struct.pack("<I", 4 * 2 * 3 * 3 + 1)
    net_path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"gives layer c1 73 entries, more than its 72 weights"):
        load_caffe_net(net_path, input=np.ones((2, 7, 7), np.float32))


def test_synthetic_input_layer(tmp_path):
    net_path, prototxt, expected = _write_synthetic(tmp_path)
    header = 'input: "data"\ninput_shape { dim: 1 dim: 2 dim: 7 dim: 7 }\n'
    assert header in SYNTHETIC_PROTOTXT
    layer = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 7 dim: 7 } } }\n'
    prototxt.write_text(SYNTHETIC_PROTOTXT.replace(header, layer))
    net = load_caffe_net(net_path, input=np.ones((2, 7, 7), np.float32))
    assert net.layer("c1").inputs == (INPUT,)
    assert np.array_equal(net.layer("ip").dense_codes(), expected["ip"][0])
