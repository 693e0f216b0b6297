"""Fuzzing: damaged copies of valid files fed to every reader, odd arrays and graphs in .npz files, and odd
parameter combinations on the command line. Only two outcomes are allowed: a clean InputError (one line and exit
code 2 on the command line), or a simulation whose every layer output equals the fixed-point reference.
"""

from __future__ import annotations

import contextlib
import io
import json
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
                     '"HBM2"', '"positions"', "[]", "[0]", "[3, 8, 8]", "[2, 12, 12]", '["input"]', '["c1", "p1"]', "{}"]),
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
    st.lists(st.integers(-2, 40), max_size=5), st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
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
    "--dram": st.sampled_from(["LPDDR4", "HBM2", "DDR5", ""]), "--conv-mapping": st.sampled_from(["channels", "positions", "x"]),
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
