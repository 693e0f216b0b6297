"""Fuzzing: damaged copies of valid files fed to every reader, odd arrays and graphs in .npz files, and odd
parameter combinations on the command line. Only two outcomes are allowed: a clean InputError (one line and exit
code 2 on the command line), or a simulation whose every layer output equals the fixed-point reference.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sample_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from eie_sim import ArchConfig, simulate
from eie_sim.arch import arch_from_toml
from eie_sim.cli import main
from eie_sim.errors import InputError
from eie_sim.formats.caffe import load_caffe_net
from eie_sim.formats.workloads import load_workload
from eie_sim.model.network import Network

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy warnings are bugs here, not noise

SMALL = ArchConfig(n_pes=4, fifo_depth=2, rf_entries=8)


def fuzz(examples: int) -> Callable[[Any], Any]:
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One valid file of every kind, never modified; each example writes its damaged copy beside them."""
    directory = tmp_path_factory.mktemp("originals")
    return {
        **sample_files.write_model_files(directory),
        "png": sample_files.write_image(directory, ".png"),
        "jpg": sample_files.write_image(directory, ".jpg"),
    }


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` truncated, or with one to four bit flips, byte insertions and deletions."""
    out = bytearray(data)
    if draw(st.booleans()):
        return bytes(out[: draw(st.integers(0, len(out) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            out.insert(at, draw(st.integers(0, 255)))
        else:
            del out[at]
    return bytes(out)


def clean_or_correct(load: Callable[[], Network], arch: ArchConfig = SMALL) -> None:
    """Load and simulate; an InputError is a clean refusal, anything else must be exact to the reference."""
    try:
        network = load()
        result = simulate(network, arch, verify=True)  # every layer's engine outputs against the reference
    except InputError as exc:
        assert str(exc).strip()
        return
    assert result.total["cycles"] > 0 and np.isfinite(result.total["energy_total_pj"])


def _damaged_copy(originals: dict[str, Path], kind: str, data: bytes) -> Path:
    path = originals[kind].with_name(f"damaged{originals[kind].suffix}")
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", ["spec", "plain", "graph", "onnx"])
@fuzz(100)
@given(data=st.data())
def test_damaged_workload_files(originals, kind, data):
    path = _damaged_copy(originals, kind, data.draw(damaged(originals[kind].read_bytes())))
    clean_or_correct(lambda: load_workload(str(path)))


def simulate_with_arch_file(originals: dict[str, Path], path: Path) -> None:
    """An architecture file is either refused cleanly or simulates the sample spec correctly."""
    try:
        arch = arch_from_toml(path)
    except InputError:
        return
    spec = str(originals["spec"])
    clean_or_correct(lambda: load_workload(spec), arch)


@fuzz(80)
@given(data=st.data())
def test_damaged_architecture_file(originals, data):
    path = _damaged_copy(originals, "arch", data.draw(damaged(originals["arch"].read_bytes())))
    simulate_with_arch_file(originals, path)


@pytest.mark.parametrize("part", ["net", "prototxt"])
@fuzz(100)
@given(data=st.data())
def test_damaged_caffe_net(originals, part, data):
    damaged_part = _damaged_copy(originals, part, data.draw(damaged(originals[part].read_bytes())))
    net = damaged_part if part == "net" else originals["net"]
    prototxt = damaged_part if part == "prototxt" else originals["prototxt"]
    clean_or_correct(lambda: load_caffe_net(net, prototxt, input=np.ones((2, 7, 7), np.float32)))


@fuzz(30)
@given(data=st.data())
def test_damaged_real_squeezenet(tmp_path_factory, real_model, data):
    """The real 660 KB file: loaded only (a whole SqueezeNet frame takes seconds to simulate)."""
    path = tmp_path_factory.getbasetemp() / "damaged_squeezenet.net"
    path.write_bytes(data.draw(damaged(real_model.net.read_bytes())))
    try:
        network = load_caffe_net(path, real_model.prototxt, input=np.zeros((3, 227, 227), np.float32))
    except InputError:
        return
    assert len(network.layers) == 26 and sum(network.stored_bytes.values()) == path.stat().st_size


@pytest.mark.parametrize("kind", ["png", "jpg"])
@fuzz(60)
@given(data=st.data())
def test_damaged_image(originals, kind, data):
    from eie_sim.formats.image import load_image

    path = _damaged_copy(originals, kind, data.draw(damaged(originals[kind].read_bytes())))
    try:
        picture = load_image(str(path))
    except InputError:
        return
    assert picture.shape == (3, 227, 227) and np.all(np.isfinite(picture))


toml_values = st.one_of(
    st.integers(-2, 20).map(str), st.floats(-1.0, 3.0).map(repr),
    st.sampled_from(["0", "4097", "70000", "1e-300", "1e300", "nan", "inf", "-inf", "true", '"x"', '"image"', '"avg"',
                     '"HBM2"', '"positions"', "[]", "[0]", "[3, 8, 8]", "[2, 12, 12]", '["input"]', '["c1", "p1"]',
                     "{}"]),
)  # fmt: skip


@st.composite
def edited_toml(draw: st.DrawFn, text: str) -> str:
    """`text` with one to three `key = value` lines given odd values (names and labels are left alone)."""
    lines = text.splitlines()
    keyed = [
        i for i, line in enumerate(lines) if " = " in line and line.split(" = ")[0] not in ("name", "type", "kind")
    ]
    for at in draw(st.lists(st.sampled_from(keyed), min_size=1, max_size=3, unique=True)):
        lines[at] = f"{lines[at].split(' = ')[0]} = {draw(toml_values)}"
    return "\n".join(lines) + "\n"


@fuzz(300)
@given(data=st.data())
def test_odd_values_in_a_spec(originals, data):
    path = originals["spec"].with_name("edited.toml")
    path.write_text(data.draw(edited_toml(sample_files.CNN_SPEC)))
    clean_or_correct(lambda: load_workload(str(path)))


ARCH_FILE = "\n".join(f"{f.name} = {json.dumps(getattr(ArchConfig(), f.name))}" for f in fields(ArchConfig))


@fuzz(200)
@given(data=st.data())
def test_odd_values_in_an_architecture_file(originals, data):
    path = originals["arch"].with_name("edited_arch.toml")
    path.write_text(data.draw(edited_toml(ARCH_FILE)))
    simulate_with_arch_file(originals, path)


arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int8, np.uint8, np.int64, np.bool_, np.complex64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
)


@fuzz(200)
@given(
    contents=st.dictionaries(
        st.sampled_from(["a.weight", "a.bias", "b.weight", "b.bias", "input", "x"]), arrays, max_size=5
    )
)
def test_odd_arrays_in_a_plain_npz(originals, contents):
    path = originals["plain"].with_name("odd.npz")
    np.savez(path, **contents)
    clean_or_correct(lambda: load_workload(str(path)))


json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=True), st.text(max_size=5),
    st.lists(st.integers(-2, 40), max_size=5), st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@fuzz(200)
@given(data=st.data())
def test_odd_graph_in_a_compressed_npz(originals, data):
    """save_npz's form with one graph field or one array replaced."""
    with np.load(originals["graph"]) as archive:
        contents = {key: archive[key] for key in archive.files}
    graph = json.loads(str(contents["graph"]))
    if data.draw(st.booleans()):
        record = data.draw(st.sampled_from(graph["ops"]))
        record[data.draw(st.sampled_from([*record, "extra"]))] = data.draw(json_values)
    else:
        contents[data.draw(st.sampled_from(sorted(contents)))] = data.draw(arrays)
    contents["graph"] = np.array(json.dumps(graph))
    path = originals["graph"].with_name("odd_graph.npz")
    np.savez(path, **contents)
    clean_or_correct(lambda: load_workload(str(path)))


numbers = st.one_of(st.integers(-3, 10), st.sampled_from([63, 64, 255, 256, 4095, 4096, 4097, 65536, 65537, 10**12]))
reals = st.one_of(
    st.sampled_from([0.0, -1.0, 1e-4, 1e-3, 0.008, 1.0, 1e5, 1e6, float("nan"), float("inf")]), st.floats(1e-3, 1e5)
)
FLAGS = {
    "--pes": numbers, "--fifo-depth": numbers, "--spmat-width": numbers, "--weight-bits": numbers,
    "--clock-mhz": reals, "--spmat-kb": reals, "--ptr-kb": reals, "--dram-gbps": reals,
    "--dram": st.sampled_from(["LPDDR4", "HBM2", "DDR5", ""]),
    "--conv-mapping": st.sampled_from(["channels", "positions", "x"]),
    "--seed": numbers, "--engine": st.sampled_from(["fast", "simpy", "gpu"]),
}  # fmt: skip


@fuzz(200)
@given(flags=st.fixed_dictionaries({}, optional=FLAGS))
def test_odd_parameters_on_the_command_line(flags):
    if flags.get("--engine") == "simpy" and isinstance(flags.get("--pes"), int) and flags["--pes"] > 64:
        flags["--engine"] = "fast"  # simpy on thousands of PEs is correct but slow
    argv = ["simulate", "lenet-300-100", "--format", "json"] + [str(v) for item in flags.items() for v in item]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("eie-sim: error: ") and out.getvalue() == ""
        return
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert result["total"]["cycles"] > 0 and result["total"]["energy_pj"]["total"] > 0
    if "--pes" in flags:
        assert result["arch"]["n_pes"] == flags["--pes"]


sizes = st.one_of(st.integers(0, 12), st.sampled_from([10**5, 2**31, 2**32 + 1, 10**12, 2**62]))
npy_descrs = st.sampled_from(
    ["<f4", "<f8", "<f2", ">f4", "|u1", "<i8", "|b1", "<c8", "|O", "<U3", "|S0", "|V4", "<M8[s]", "<f16"]
)


@st.composite
def npy_file(draw: st.DrawFn, array: np.ndarray) -> bytes:
    """`array` as an .npy file (format 1.0 or 2.0) whose header may claim another shape or type and whose data may
    be cut short; the whole maybe damaged."""
    header = io.BytesIO()
    write = draw(st.sampled_from([np.lib.format.write_array_header_1_0, np.lib.format.write_array_header_2_0]))
    shape = draw(st.one_of(st.just(array.shape), st.lists(sizes, max_size=4).map(tuple)))
    descr = draw(st.one_of(st.just(array.dtype.str), npy_descrs))
    write(header, {"descr": descr, "fortran_order": draw(st.booleans()), "shape": shape})
    data = array.tobytes()
    raw = header.getvalue() + data[: draw(st.sampled_from([len(data), draw(st.integers(0, len(data)))]))]
    return draw(damaged(raw)) if draw(st.booleans()) else raw


def limited_memory(load: Callable[[], Network]) -> None:
    """clean_or_correct under a 2 GiB limit, so that a declared size the machine could hold is still refused."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EIE_SIM_MEMORY_LIMIT", "2G")
        clean_or_correct(load)


@fuzz(150)
@given(data=st.data())
def test_declared_npy_headers_in_an_npz(originals, data):
    """One array of the plain file behind a header that claims another shape or type (up to 2**62 elements), cut
    short or garbled, stored plain or deflated: refused from the header, or read as declared."""
    with np.load(originals["plain"]) as archive:
        arrays = {key: archive[key] for key in archive.files}
    chosen = data.draw(st.sampled_from(sorted(arrays)))
    path = originals["plain"].with_name("declared.npz")
    with zipfile.ZipFile(path, "w", data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))) as out:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, value)
            out.writestr(f"{key}.npy", data.draw(npy_file(value)) if key == chosen else buffer.getvalue())
    limited_memory(lambda: load_workload(str(path)))


@fuzz(150)
@given(data=st.data())
def test_declared_sizes_in_an_onnx_model(originals, data):
    """The sample ONNX model with an initializer's dims or type, the input's dims, or an initializer turned into
    external data (a real file, a missing one, /dev/zero, outside the directory; any offset and length) changed."""
    onnx = pytest.importorskip("onnx")
    directory = originals["onnx"].parent
    (directory / "weights.bin").write_bytes(np.arange(1024, dtype=np.float32).tobytes())
    if not (directory / "zero.bin").exists():
        (directory / "zero.bin").symlink_to("/dev/zero")
    model = onnx.load(str(originals["onnx"]))
    tensor = data.draw(st.sampled_from(list(model.graph.initializer)))
    change = data.draw(st.sampled_from(["dims", "type", "input", "external"]))
    if change == "dims":
        tensor.dims[:] = data.draw(st.lists(st.one_of(sizes, st.integers(-3, -1)), max_size=4))
    elif change == "type":
        tensor.data_type = data.draw(st.integers(0, 25))
    elif change == "input":
        for dim in model.graph.input[0].type.tensor_type.shape.dim:
            dim.dim_value = data.draw(st.sampled_from([-1, 0, 1, 2, 10, 10**9, 10**10, 2**40]))
    else:
        tensor.ClearField("raw_data")
        tensor.ClearField("float_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        locations = ["weights.bin", "zero.bin", "missing.bin", "../weights.bin", "/dev/zero", ""]
        tensor.external_data.add(key="location", value=data.draw(st.sampled_from(locations)))
        for key in data.draw(st.lists(st.sampled_from(["offset", "length"]), unique=True)):
            value = data.draw(st.one_of(st.integers(-8, 5000), st.sampled_from([2**34, 2**62]), st.just("x")))
            tensor.external_data.add(key=key, value=str(value))
    path = directory / "declared.onnx"
    onnx.save(model, str(path))
    limited_memory(lambda: load_workload(str(path)))


def nested(depth: int, brackets: tuple[str, str]) -> str:
    return f"{brackets[0] * depth}1{brackets[1] * depth}"


@fuzz(60)
@given(
    data=st.data(),
    kind=st.sampled_from(["spec", "arch"]),
    depth=st.integers(1, 4000),
    brackets=st.sampled_from([("[", "]"), ("{a = ", "}"), ("[{a = ", "}]")]),
)
def test_deeply_nested_values_in_toml(originals, data, kind, depth, brackets):
    """A value of the spec or architecture file replaced by arrays or inline tables nested up to 4000 deep."""
    text = sample_files.CNN_SPEC if kind == "spec" else ARCH_FILE
    lines = text.splitlines()
    at = data.draw(st.sampled_from([i for i, line in enumerate(lines) if " = " in line]))
    lines[at] = f"{lines[at].split(' = ')[0]} = {nested(depth, brackets)}"
    path = originals[kind].with_name(f"nested_{kind}.toml")
    path.write_text("\n".join(lines) + "\n")
    if kind == "arch":
        simulate_with_arch_file(originals, path)
    else:
        clean_or_correct(lambda: load_workload(str(path)))


@fuzz(40)
@given(data=st.data(), depth=st.integers(1, 200_000), brackets=st.sampled_from([("[", "]"), ('{"a": ', "}")]))
def test_deeply_nested_values_in_a_graph(originals, data, depth, brackets):
    """A field of the compressed form's graph JSON replaced by arrays or objects nested up to 200,000 deep."""
    with np.load(originals["graph"]) as archive:
        contents = {key: archive[key] for key in archive.files}
    graph = json.loads(str(contents["graph"]))
    record = data.draw(st.sampled_from(graph["ops"]))
    record[data.draw(st.sampled_from(sorted(record)))] = "NESTED"
    contents["graph"] = np.array(json.dumps(graph).replace('"NESTED"', nested(depth, brackets)))
    path = originals["graph"].with_name("nested_graph.npz")
    np.savez(path, **contents)
    clean_or_correct(lambda: load_workload(str(path)))
