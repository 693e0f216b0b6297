"""Every kind of bad input gives one line on stderr naming the file or option at fault, exit code 2, no traceback.

Classes: unknown workload; missing, unreadable (a directory, invalid bytes), truncated and corrupt files of every
kind; layer shapes that do not chain; NaN or infinite weights and inputs; impossible parameters; outputs that
cannot be written. The tests run as root, so file permissions cannot make a file unreadable.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sample_files

from eie_sim.cli import main
from eie_sim.support.files import TEXT_LIMIT

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # a warning would be a second stderr line


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *names: str) -> str:
    """Run the CLI in-process; it must exit 2 with one stderr line that mentions every one of `names`."""
    code = main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("eie-sim: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


def test_unknown_workload(capsys):
    line = fails(capsys, ["simulate", "lenet-300"], "lenet-300", "unknown workload")
    assert "lenet-300-100" in line  # the built-ins are listed


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        **sample_files.write_model_files(tmp_path),
        "image": sample_files.write_image(tmp_path),
        "imagenet": sample_files.write_image_npz(tmp_path),
    }


def _argv(kind: str, path: Path, files: dict[str, Path]) -> list[str]:
    """The command that reads a file of `kind` at `path`."""
    if kind == "arch":
        return ["simulate", files["spec"], "--arch", path]
    if kind == "image":
        return ["simulate", files["imagenet"], "--image", path]
    if kind == "results":
        return ["plot", path]
    return ["simulate", path]


@pytest.mark.parametrize(
    "kind, name",
    [
        ("spec", "gone.toml"),
        ("arch", "gone.toml"),
        ("plain", "gone.npz"),
        ("onnx", "gone.onnx"),
        ("net", "gone.net"),
        ("image", "gone.png"),
        ("results", "gone.csv"),
    ],
)
def test_missing_file(capsys, files, tmp_path, kind, name):
    fails(capsys, _argv(kind, tmp_path / name, files), tmp_path / name)


@pytest.mark.parametrize(
    "kind, name",
    [
        ("spec", "d.toml"),
        ("arch", "d.toml"),
        ("plain", "d.npz"),
        ("onnx", "d.onnx"),
        ("net", "d.net"),
        ("image", "d.png"),
        ("results", "d.csv"),
    ],
)
def test_directory_instead_of_a_file(capsys, files, tmp_path, kind, name):
    (tmp_path / name).mkdir()
    fails(capsys, _argv(kind, tmp_path / name, files), tmp_path / name)


@pytest.mark.parametrize("kind", ["spec", "arch", "prototxt"])
def test_invalid_bytes_in_a_text_file(capsys, files, kind):
    files[kind].write_bytes(b"\xff\xfe\x00name = \x80\n")
    fails(capsys, _argv(kind, files["net" if kind == "prototxt" else kind], files), files[kind])


@pytest.mark.parametrize("kind", ["spec", "arch", "plain", "graph", "onnx", "net", "prototxt", "image"])
@pytest.mark.parametrize("cut", ["half", "tail", "all"])
def test_truncated_file(capsys, files, kind, cut):
    path = files[kind]
    data = path.read_bytes()
    if kind == "arch" and cut == "all":
        pytest.skip("an empty architecture file is valid: every field keeps its default")
    path.write_bytes({"half": data[: len(data) // 2], "tail": data[:-40], "all": b""}[cut])
    named = files["net"] if kind in ("net", "prototxt") else path
    fails(capsys, _argv(kind, named, files), path)


@pytest.mark.parametrize("kind", ["spec", "arch", "plain", "graph", "onnx", "net", "prototxt", "image"])
def test_corrupt_file(capsys, files, kind):
    """Garbage over the structure a reader needs: the middle of a text file, the head of a binary one."""
    path = files[kind]
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if kind in ("spec", "arch", "prototxt") else 0
    data[at : at + 16] = b"\x07[{=\x00\xff" * 2 + b"\x00" * 4
    path.write_bytes(bytes(data))
    fails(capsys, _argv(kind, files["net"] if kind in ("net", "prototxt") else path, files), path)


@pytest.mark.parametrize(
    "text, named",
    [
        ("point,name,cycles\n0,total,1\n", "missing columns"),
        ("a,b\n1,2,3\n", "missing columns"),
        ("\n", "cannot read sweep results"),
    ],
)
def test_results_that_are_not_sweep_results(capsys, tmp_path, text, named):
    results = tmp_path / "results.csv"
    results.write_text(text)
    fails(capsys, ["plot", results, "--out", tmp_path / "plots"], results, named)


def test_results_with_text_in_a_number_column(capsys, tmp_path):
    from eie_sim.studies.sweep import sweep

    results = tmp_path / "results.csv"
    frame = sweep("lenet-300-100", {"n_pes": [1, 2]})
    frame.assign(cycles=frame["cycles"].astype(object).where(frame.index != 1, "many")).to_csv(results, index=False)
    fails(capsys, ["plot", results, "--out", tmp_path / "plots"], results, "column cycles holds text")


def test_real_squeezenet_truncated(capsys, tmp_path, real_model):
    net = tmp_path / "squeezenet.net"
    net.write_bytes(real_model.net.read_bytes()[:-100])
    (tmp_path / "deploy.prototxt").write_text(real_model.prototxt.read_text())
    fails(capsys, ["simulate", net], net, "ends inside")


def test_shapes_that_do_not_chain(capsys, tmp_path):
    spec = tmp_path / "chain.toml"
    spec.write_text(
        sample_files.SPEC + '\n[[op]]\ntype = "conv"\nname = "c"\nout = 2\nkernel = 3\ndensity = 0.5\nbits = 4\n'
    )
    fails(capsys, ["simulate", spec], spec, "op 'c'", "(channels, height, width)")
    npz = tmp_path / "chain.npz"
    np.savez(npz, **{"a.weight": np.ones((3, 4)), "b.weight": np.ones((2, 5))})
    fails(capsys, ["simulate", npz], npz, "layer b", "expects 5 inputs")
    np.savez(npz, **{"a.weight": np.ones((3, 4)), "input": np.ones(7)})
    fails(capsys, ["simulate", npz], npz, "does not fit layer a")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
@pytest.mark.parametrize("where", ["weight", "bias", "input"])
def test_nan_or_infinite_values_in_npz(capsys, tmp_path, bad, where):
    arrays = {"a.weight": np.ones((3, 4)), "a.bias": np.zeros(3), "input": np.ones(4)}
    arrays[f"a.{where}" if where != "input" else "input"].flat[1] = bad
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    fails(capsys, ["simulate", path], path)


def test_nan_in_a_net_codebook(capsys, files):
    data = bytearray(files["net"].read_bytes())
    data[4 * 4 + 4 : 4 * 4 + 8] = struct.pack("<f", float("nan"))  # after the 4-layer header: c1's codebook entry 1
    files["net"].write_bytes(bytes(data))
    fails(capsys, ["simulate", files["net"]], files["net"], "NaN")


def test_nan_in_onnx_weights(capsys, tmp_path):
    onnx = pytest.importorskip("onnx")
    path = sample_files.write_onnx(tmp_path)
    model = onnx.load(str(path))
    weights = onnx.numpy_helper.to_array(model.graph.initializer[0]).copy()
    weights.flat[0] = np.nan
    model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(weights, model.graph.initializer[0].name))
    onnx.save(model, str(path))
    fails(capsys, ["simulate", path], "finite")


def test_nan_density_in_a_spec(capsys, files):
    files["spec"].write_text(sample_files.SPEC.replace("density = 0.4", "density = nan"))
    fails(capsys, ["simulate", files["spec"]], files["spec"], "density")


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--pes", "0"], "n_pes"),
        (["--pes", "-4"], "n_pes"),
        (["--pes", "4097"], "n_pes"),
        (["--pes", "many"], "--pes"),
        (["--fifo-depth", "0"], "fifo_depth"),
        (["--clock-mhz", "0"], "clock_mhz"),
        (["--clock-mhz", "-800"], "clock_mhz"),
        (["--clock-mhz", "nan"], "clock_mhz"),
        (["--clock-mhz", "inf"], "clock_mhz"),
        (["--spmat-width", "0"], "spmat_width"),
        (["--spmat-width", "7"], "spmat_width"),
        (["--spmat-width", "8192"], "spmat_width"),
        (["--spmat-kb", "0"], "spmat_kb"),
        (["--spmat-kb", "0.004"], "spmat_kb"),  # 32 bits: not one 64-bit word
        (["--ptr-kb", "0.002"], "ptr_kb"),  # 16 bits: not two 16-bit pointers
        (["--weight-bits", "0"], "weight_bits"),
        (["--weight-bits", "9"], "weight_bits"),
        (["--dram-gbps", "0"], "dram_gbps"),
        (["--dram", "SDRAM"], "dram"),
        (["--conv-mapping", "rows"], "conv_mapping"),
        (["--seed", "-1"], "--seed"),
        (["--engine", "verilog"], "--engine"),
    ],
)
def test_impossible_parameters(capsys, flags, named):
    fails(capsys, ["simulate", "lenet-300-100", *flags], named)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["sweep", "lenet-300-100", "--pes", "1,0"], "n_pes"),
        (["sweep", "lenet-300-100", "--pes", "1", "--jobs", "0"], "--jobs"),
        (["sweep", "lenet-300-100", "--pes", "1", "--extend"], "--extend"),
        (["bench", "lenet-300-100", "--repeats", "0"], "--repeats"),
        (["report", "--jobs", "-1"], "--jobs"),
        (["compress-train", "digits", "--density", "0"], "--density"),
        (["compress", "lenet-300-100", "--save", "model.txt"], "--save"),
    ],
)
def test_impossible_parameters_of_other_commands(capsys, argv, named):
    fails(capsys, argv, named)


@pytest.mark.parametrize(
    "line, named",
    [
        ("rf_entries = 0", "rf_entries"),
        ("pes = 4", "pes"),
        ("n_pes = 2.5", "n_pes"),
        ('index_bits = "4"', "index_bits"),
    ],
)
def test_impossible_architecture_file(capsys, files, line, named):
    files["arch"].write_text(line + "\n")
    fails(capsys, ["simulate", files["spec"], "--arch", files["arch"]], named)


@pytest.mark.parametrize(
    "text, named",
    [
        ("arch = 3\n", "[arch]"),
        ("arch = [4, 8]\n", "[arch]"),
        ('arch = "n_pes = 4"\n', "[arch]"),
        ("[[arch]]\nn_pes = 4\n", "[arch]"),
        ("n_pes = 4\n[arch]\nfifo_depth = 2\n", "n_pes"),
        ("clock_mhz = 500.0\ndram = 'HBM2'\n[arch]\nn_pes = 4\n", "clock_mhz, dram"),
    ],
    ids=["number", "list", "string", "array-of-tables", "key-beside", "keys-beside"],
)
def test_architecture_file_with_a_misplaced_table(capsys, files, text, named):
    files["arch"].write_text(text)
    fails(capsys, ["simulate", files["spec"], "--arch", files["arch"]], files["arch"], named)
    fails(capsys, ["sweep", files["spec"], "--arch", files["arch"], "--pes", "2"], files["arch"], named)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a = ", "}")], ids=["arrays", "inline-tables"])
def test_architecture_file_nested_too_deep(capsys, files, opening, closing):
    files["arch"].write_text(f"n_pes = {opening * 5000}1{closing * 5000}\n")
    fails(capsys, ["simulate", files["spec"], "--arch", files["arch"]], files["arch"], "deep")


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a = ", "}")], ids=["arrays", "inline-tables"])
def test_workload_spec_nested_too_deep(capsys, files, opening, closing):
    files["spec"].write_text(f'name = "deep"\nx = {opening * 5000}1{closing * 5000}\n')
    fails(capsys, ["simulate", files["spec"]], files["spec"], "deep")


def test_graph_json_nested_too_deep(capsys, files):
    with np.load(files["graph"]) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["graph"] = np.array("[" * 100_000 + "]" * 100_000)
    np.savez(files["graph"], **arrays)
    fails(capsys, ["simulate", files["graph"]], files["graph"], "graph", "deep")


FC_OP = '[[op]]\nname = "f"\ntype = "fc"\nin = 4\nout = 2\ndensity = 0.5\nbits = 4\n[op.input]\ndensity = 0.5\n'


@pytest.mark.parametrize(
    "text, named",
    [
        ("op = 3\n", "[[op]]"),
        ("op = [1, 2]\n", "op #1: expected an [[op]] table"),
        ("op = [[1]]\n", "op #1: expected an [[op]] table"),
        ("weights = [1]\n" + FC_OP, "[weights]"),
        ("weights = 3\n" + FC_OP, "[weights]"),
        ("weights = {fc = [1]}\n" + FC_OP, "[weights.fc]: expected a table"),
        ("weights = {conv = 3}\n" + FC_OP, "[weights.conv]: expected a table"),
        ("input = 3\n" + FC_OP, "[input]"),
        ("input = [[1]]\n" + FC_OP, "[input]"),
        (FC_OP.replace("[op.input]\ndensity = 0.5\n", "input = [1]\n"), "input must be a table"),
    ],
    ids=["op-number", "op-list", "op-nested-list", "weights-list", "weights-number", "weights.fc-list",
         "weights.conv-number", "input-number", "input-array-of-tables", "op.input-list"],
)  # fmt: skip
def test_workload_spec_with_a_wrong_typed_table(capsys, tmp_path, text, named):
    spec = tmp_path / "typed.toml"
    spec.write_text('name = "typed"\n' + text)
    fails(capsys, ["simulate", spec], spec, named)


@pytest.mark.parametrize("kind", ["spec", "arch", "prototxt", "net"])
def test_an_endless_input_file_is_not_read_whole(capsys, files, kind):
    """A file that is /dev/zero stops at the text limit (a text file) or at the size it reports (a binary one)."""
    files[kind].unlink()
    files[kind].symlink_to("/dev/zero")
    fails(capsys, _argv(kind, files["net" if kind == "prototxt" else kind], files), files[kind])


@pytest.mark.parametrize("kind", ["spec", "arch", "prototxt"])
def test_a_text_file_beyond_the_limit_is_refused_unread(capsys, files, kind):
    with open(files[kind], "r+b") as handle:
        handle.truncate(TEXT_LIMIT + 1)  # a sparse file: nothing is written to the disk
    line = fails(capsys, _argv(kind, files["net" if kind == "prototxt" else kind], files), files[kind])
    assert "more than 16 MiB" in line


def test_arch_from_dev_zero(capsys, files):
    fails(capsys, ["simulate", files["spec"], "--arch", "/dev/zero"], "/dev/zero", "16 MiB")


@pytest.mark.parametrize("address", ["tcp://::::", "", "foo", "tcp://host", "tcp://127.0.0.1:99999", "xyz://h:1"])
def test_malformed_scheduler_address(capsys, tmp_path, address):
    out = tmp_path / "r.csv"
    start = time.perf_counter()
    fails(capsys, ["sweep", "lenet-300-100", "--pes", "1,2", "--scheduler", address, "--out", out], "--scheduler")
    assert time.perf_counter() - start < 5 and not out.exists()


def _to_full_disk(*argv: str) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "eie_sim", *argv], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120
        )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_printing_to_a_full_disk(fmt):
    done = _to_full_disk("workloads", "--format", fmt)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "standard output" in done.stderr and "No space left" in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_sweep_printing_to_a_full_disk_keeps_its_results(tmp_path):
    out = tmp_path / "r.csv"
    done = _to_full_disk("sweep", "lenet-300-100", "--pes", "2,4", "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "standard output" in done.stderr and "No space left" in done.stderr
    frame = pd.read_csv(out)
    assert frame.loc[frame["name"] == "total", "pes"].tolist() == [2, 4]


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "vgg16", "--out", "/proc/eie-sim/x.json"],
        ["simulate", "vgg16", "--format", "json", "--out", "{file}/x.json"],
        ["simulate", "vgg16", "--out", "{dir}"],
        ["compress", "vgg16", "--save", "/proc/x.npz"],
        ["workloads", "--out", "/proc/x.txt"],
        ["sweep", "vgg16", "--pes", "1,2", "--out", "/proc/x.csv"],
        ["bench", "vgg16", "--csv", "{file}/bench.csv"],
        ["plot", "{file}", "--out", "{file}"],
        ["report", "--out", "/proc/reports"],
    ],
)
def test_unwritable_output_fails_before_any_work(capsys, tmp_path, argv):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    argv = [arg.format(file=a_file, dir=tmp_path) for arg in argv]
    target = argv[argv.index(next(a for a in argv if a in ("--out", "--save", "--csv"))) + 1]
    start = time.perf_counter()
    fails(capsys, argv, target)
    assert time.perf_counter() - start < 2  # vgg16 would take far longer: nothing was loaded or simulated


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eie_sim", *argv], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["simulate", "no-such-net"], "no-such-net"),
        (["simulate", "lenet-300-100", "--fifo-depth", "0"], "fifo_depth"),
        (["simulate", "lenet-300-100", "--out", "/proc/1/x.json"], "/proc/1/x.json"),
    ],
)
def test_real_process(argv, named):
    done = _run(*argv)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and named in done.stderr and "Traceback" not in done.stderr
