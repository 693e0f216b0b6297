"""Built-in workloads, spec files and .npz networks (eie_sim.formats.workloads, .spec, .npz)."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from eie_sim.errors import InputError
from eie_sim.formats.spec import SpecOp
from eie_sim.formats.workloads import builtin_specs, list_workloads, load_workload, save_npz, workload_table
from eie_sim.model.functional import functional_model
from eie_sim.model.network import Network
from eie_sim.model.ops import INPUT, Flatten
from eie_sim.studies.simulate import simulate


@cache
def loaded(name: str, seed: int = 0) -> Network:
    return load_workload(name, seed=seed)


def _weighted(name: str) -> list[SpecOp]:
    return [op for op in builtin_specs()[name].ops if op.weight_shape]


@pytest.mark.parametrize("name", ["squeezenet", "eie-paper", "lenet-300-100", "alexnet", "vgg16"])
def test_builtin_matches_its_spec(name: str) -> None:
    network = loaded(name)
    ops = _weighted(name)
    assert [layer.name for layer in network.layers] == [op.name for op in ops]
    for op, layer in zip(ops, network.layers):
        assert layer.shape == op.weight_shape
        assert layer.nnz == op.nonzeros == round(op.raw["density"] * op.weights)
        assert layer.code_bits == op.raw["bits"] and len(layer.codebook) <= 1 << layer.code_bits
        assert layer.bias is not None and layer.bias.shape == (layer.rows,)


def test_grouped_convolutions_keep_only_diagonal_blocks() -> None:
    conv2 = loaded("alexnet").layer("conv2")
    codes = conv2.dense_codes()
    assert codes.shape == (256, 96, 5, 5)
    assert not codes[:128, 48:].any() and not codes[128:, :48].any()


@pytest.mark.parametrize("name", ["squeezenet", "lenet-300-100", "eie-paper"])
def test_networks_run_end_to_end(name: str) -> None:
    network = loaded(name)
    tensors = functional_model(network, 16).float_tensors
    assert np.all(np.isfinite(tensors[network.output]))
    if name == "squeezenet":
        assert network.input.shape == (3, 227, 227)
        assert network.input.min() >= -123 and network.input.max() <= 255 - 104
        assert tensors["pool1"].shape == (96, 55, 55) and tensors["pool8"].shape == (512, 13, 13)
        assert tensors[network.output].shape == (1000, 1, 1)


def test_eie_paper_layers_have_their_own_inputs() -> None:
    network = loaded("eie-paper")
    assert set(network.extra_inputs) == {f"{op.name}/input" for op in _weighted("eie-paper")[1:]}
    for op, layer in zip(_weighted("eie-paper"), network.layers):
        x = network.input if layer.inputs == (INPUT,) else network.extra_inputs[layer.inputs[0]]
        assert x.shape == (layer.cols,)
        assert np.count_nonzero(x) == round(op.raw["input"]["density"] * layer.cols)
        assert (x.min() < 0) == op.name.startswith("nt-")


def test_standalone_layer_equals_the_same_layer_in_its_network() -> None:
    alone, network = loaded("alex-7"), loaded("eie-paper")
    assert [layer.name for layer in alone.layers] == ["alex-7"] and alone.layers[0].inputs == (INPUT,)
    np.testing.assert_array_equal(alone.layers[0].dense_codes(), network.layer("alex-7").dense_codes())
    np.testing.assert_array_equal(alone.input, network.extra_inputs["alex-7/input"])


def test_seed_determinism() -> None:
    first, again, other = loaded("squeezenet"), load_workload("squeezenet", seed=0), loaded("squeezenet", 1)
    for a, b in zip(first.layers, again.layers):
        np.testing.assert_array_equal(a.dense_codes(), b.dense_codes())
        np.testing.assert_array_equal(a.codebook, b.codebook)
    np.testing.assert_array_equal(first.input, again.input)
    assert not np.array_equal(first.layer("conv10").dense_codes(), other.layer("conv10").dense_codes())
    assert not np.array_equal(first.input, other.input)


@pytest.mark.parametrize(("name", "layer"), [("squeezenet", "conv10"), ("eie-paper", "alex-7"), ("vgg16", "conv4_2")])
def test_row_and_column_nonuniformity_well_above_uniform(name: str, layer: str) -> None:
    """Real pruned layers: non-zeros per row and per column spread 2.6x and 2.9x a uniform pattern's (SqueezeNet
    conv10)."""
    mask = loaded(name).layer(layer).codes.dense() != 0
    rows, cols = mask.shape
    density = mask.mean()
    row_ratio = mask.sum(axis=1).std() / np.sqrt(cols * density * (1 - density))
    col_ratio = mask.sum(axis=0).std() / np.sqrt(rows * density * (1 - density))
    assert row_ratio > 1.8 and col_ratio > 1.8


def test_squeezenet_conv10_matches_the_real_layer() -> None:
    """The real conv10 has non-zeros per row std 23.9, per column 36.6; busiest of 64 PEs 1.135x the mean."""
    mask = loaded("squeezenet").layer("conv10").codes.dense() != 0
    assert mask.sum(axis=1).std() == pytest.approx(23.9, rel=0.1)
    assert mask.sum(axis=0).std() == pytest.approx(36.6, rel=0.1)
    per_pe = np.bincount(np.nonzero(mask)[0] % 64, minlength=64)
    assert 1.1 < per_pe.max() / per_pe.mean() < 1.25


def test_listing() -> None:
    names = list_workloads()
    assert names[:5] == ["alexnet", "eie-paper", "lenet-300-100", "squeezenet", "vgg16"]
    assert {"alex-6", "vgg-8", "nt-we", "nt-wd", "nt-lstm"} <= set(names)
    table = workload_table()
    assert list(table["name"]) == names
    row = table.set_index("name").loc["squeezenet"]
    assert row["layers"] == 26 and row["weights"] == 1_244_448 and row["source"]


def _spec(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.toml"
    path.write_text(text)
    return str(path)


GOOD = """
name = "tiny"
[input]
shape = [2, 9, 9]
model = "image"
[[op]]
type = "conv"
name = "c1"
out = 4
kernel = 3
stride = 2
density = 0.5
bits = 3
[[op]]
type = "pool"
name = "p1"
kernel = 3
stride = 2
[[op]]
type = "flatten"
name = "flat"
[[op]]
type = "fc"
name = "f1"
out = 5
density = 1
bits = 2
relu = false
"""


def test_spec_file(tmp_path: Path) -> None:
    network = load_workload(_spec(tmp_path, GOOD), seed=3)
    assert [op.name for op in network.ops] == ["c1", "p1", "flat", "f1"] and isinstance(network.ops[2], Flatten)
    assert network.layer("f1").codes.shape == (5, 4 * 2 * 2)  # 9 -> conv 4 -> ceil-mode pool 2
    assert network.layer("c1").nnz == 36 and network.layer("f1").relu is False
    assert functional_model(network, 16).float_tensors["f1"].shape == (5,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("bits = 2\n", "bits = 2\ncolour = 1\n"), "unknown key"),
        (("density = 1\n", ""), "missing key 'density'"),
        (('type = "flatten"', 'type = "reshape"'), "type must be one of"),
        (('name = "flat"\n', 'name = "flat"\ninputs = ["nowhere"]\n'), "reads 'nowhere'"),
        (
            ('type = "flatten"\nname = "flat"\n', 'type = "concat"\nname = "flat"\ninputs = ["p1"]\n'),
            "needs a vector input",
        ),
        (("stride = 2\ndensity", 'stride = "2"\ndensity'), "stride must be int"),
        (("density = 0.5", "density = 1.5"), "out of range"),
        (("[input]", "[input"), "not valid TOML"),
        (("row_sigma", "row_sigma"), None),
    ],
)
def test_spec_errors_name_the_file(tmp_path: Path, change: tuple[str, str], message: str | None) -> None:
    text = GOOD.replace(*change)
    if message is None:
        text = GOOD.replace("bits = 3\n", "bits = 3\nrow_sigma = -1.0\n")
        message = "out of range"
    path = _spec(tmp_path, text)
    with pytest.raises(InputError, match=message) as caught:
        load_workload(path)
    assert str(tmp_path) in str(caught.value)


def test_unknown_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown workload.*squeezenet"):
        load_workload("squeezenut")
    with pytest.raises(InputError, match="no such file"):
        load_workload(str(tmp_path / "missing.toml"))


INDEPENDENT = """
name = "pair"
[[op]]
type = "fc"
name = "a"
in = 300
out = 40
density = 0.1
bits = 4
input = { density = 0.5 }
[[op]]
type = "fc"
name = "b"
in = 50
out = 70
density = 0.2
bits = 4
input = { density = 1.0, signed = true }
"""


@pytest.mark.parametrize("name", ["squeezenet", "independent layers"])
def test_save_npz_round_trip(tmp_path: Path, name: str) -> None:
    network = loaded(name) if name in builtin_specs() else load_workload(_spec(tmp_path, INDEPENDENT))
    path = tmp_path / "model.npz"
    save_npz(network, path)
    back = load_workload(str(path))
    assert [type(op) for op in back.ops] == [type(op) for op in network.ops]
    for a, b in zip(network.layers, back.layers):
        assert (a.name, a.kind, a.stride, a.pad, a.relu, a.inputs, a.output, a.code_bits) == (
            b.name, b.kind, b.stride, b.pad, b.relu, b.inputs, b.output, b.code_bits
        )  # fmt: skip
        np.testing.assert_array_equal(a.dense_codes(), b.dense_codes())
        np.testing.assert_array_equal(a.codebook, b.codebook)
        np.testing.assert_array_equal(a.bias, b.bias)
    np.testing.assert_array_equal(network.input, back.input)
    assert back.extra_inputs.keys() == network.extra_inputs.keys()
    for key, tensor in network.extra_inputs.items():
        np.testing.assert_array_equal(back.extra_inputs[key], tensor)


def test_plain_npz_chain(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    conv = np.where(rng.random((4, 2, 3, 3)) < 0.5, rng.choice([-0.5, 0.25, 1.0], (4, 2, 3, 3)), 0.0)
    fc = rng.normal(size=(3, 4 * 4 * 4)) * (rng.random((3, 64)) < 0.3)
    path = tmp_path / "plain.npz"
    np.savez(path, **{"c.weight": conv, "c.bias": np.ones(4), "f.weight": fc, "input": rng.random((2, 6, 6))})
    network = load_workload(str(path), weight_bits=3)
    c, f = network.layers
    np.testing.assert_array_equal(c.dense_weights(), conv.astype(np.float32))  # three values: kept as they are
    assert len(f.codebook) == 8 and f.code_bits == 3 and np.array_equal(f.dense_codes() == 0, fc == 0)
    assert isinstance(network.ops[1], Flatten) and c.relu and not f.relu
    assert functional_model(network, 16).float_tensors["f"].shape == (3,)


def test_float16_npz_runs_as_its_float32_copy_without_warnings(tmp_path: Path) -> None:
    """float16 values near float32's range checks must not overflow a cast (a RuntimeWarning on stderr)."""
    rng = np.random.default_rng(1)
    arrays = {
        "a.weight": rng.normal(size=(6, 5)) * 1000 * (rng.random((6, 5)) < 0.6),
        "a.bias": rng.normal(size=6),
        "b.weight": rng.normal(size=(3, 6)) * 60000 / 4,
        "input": np.abs(rng.normal(size=5)),
    }
    paths = {}
    for dtype in (np.float16, np.float32):
        paths[dtype] = tmp_path / f"{np.dtype(dtype).name}.npz"
        np.savez(paths[dtype], **{key: value.astype(np.float16).astype(dtype) for key, value in arrays.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        half, single = (simulate(load_workload(str(paths[dtype]))) for dtype in (np.float16, np.float32))
    np.testing.assert_array_equal(half.output(), single.output())


@pytest.mark.parametrize("where", ["a.weight", "a.bias", "input"])
def test_float16_infinities_are_refused(tmp_path: Path, where: str) -> None:
    arrays = {"a.weight": np.ones((3, 4), np.float16), "a.bias": np.zeros(3, np.float16), "input": np.ones(4)}
    arrays[where] = arrays[where].astype(np.float16)
    arrays[where].flat[1] = np.inf
    path = tmp_path / "inf.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match="infinite|finite"):
        load_workload(str(path))


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"c.weight": np.ones((2, 1, 3, 3))}, "add an `input` array"),
        ({"a.weight": np.ones((2, 3)), "junk": np.ones(2)}, "unexpected array"),
        ({"a.weight": np.ones((2, 3)), "a.bias": np.ones(5)}, "bias has shape"),
        ({"a.weight": np.ones((2, 3)), "input": np.ones(4)}, "does not fit layer a"),
        ({"a.weight": np.ones(3)}, "expected 2 dimensions"),
        ({"x": np.ones(3)}, "no <layer>.weight"),
    ],
)
def test_bad_npz_files(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=message) as caught:
        load_workload(str(path))
    assert str(path) in str(caught.value)


def test_corrupt_npz(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.npz"
    save_npz(loaded("lenet-300-100"), path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match=str(path)):
        load_workload(str(path))
    path.write_text("not a zip")
    with pytest.raises(InputError, match="not an .npz file"):
        load_workload(str(path))
