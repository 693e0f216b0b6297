"""The sweep store gives back only results of the same sweep: every point is keyed by all that determines its
result, a store made by another command is refused (unless --extend adds points to it), and one sweep at a time
writes it."""

from __future__ import annotations

import fcntl
import importlib.metadata
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import pandas as pd
import pytest
import sample_files
from test_cli_errors import fails

from eie_sim.arch import CONV_MAPPINGS, DRAM_TYPES, SPMAT_READ_MODES, ArchConfig, make_arch
from eie_sim.cli import main
from eie_sim.errors import InputError
from eie_sim.studies.store import point_key, sweep_identity

WORKLOAD = "lenet-300-100"


def store_of(out: Path) -> Path:
    return out.with_name(out.name + ".sqlite")


def sweeps(capsys: pytest.CaptureFixture[str], *argv: object) -> None:
    """Run `eie-sim sweep ...`, which must succeed."""
    code = main(["sweep", *(str(arg) for arg in argv)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()


def totals(out: Path) -> pd.DataFrame:
    frame = pd.read_csv(out)
    return frame[frame["name"] == "total"].reset_index(drop=True)


@pytest.mark.parametrize(
    "second, named",
    [
        (["alex-8"], ["lenet-300-100", "alex-8"]),
        ([WORKLOAD, "--seed", "1"], ["--seed 0", "--seed 1"]),
        ([WORKLOAD, "--engine", "simpy"], ["--engine fast", "--engine simpy"]),
    ],
    ids=["workload", "seed", "engine"],
)
def test_another_sweep_into_the_same_store_is_refused(capsys, tmp_path, second, named):
    out = tmp_path / "m.csv"
    sweeps(capsys, WORKLOAD, "--pes", "4,8", "--out", out)
    before = out.read_bytes()
    fails(capsys, ["sweep", *second, "--pes", "4,8", "--out", out], store_of(out), *named)
    assert out.read_bytes() == before  # the results of the first sweep, untouched


def test_another_version_of_the_simulator_is_refused(capsys, tmp_path, monkeypatch):
    out = tmp_path / "m.csv"
    sweeps(capsys, WORKLOAD, "--pes", "4,8", "--out", out)
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0" if name == "eie-sim" else real(name))
    fails(capsys, ["sweep", WORKLOAD, "--pes", "4,8", "--out", out], store_of(out), "eie-sim", "99.0")


def test_a_changed_workload_file_is_refused(capsys, tmp_path):
    spec = sample_files.write_spec(tmp_path)
    out = tmp_path / "m.csv"
    sweeps(capsys, spec, "--pes", "2,4", "--out", out)
    spec.write_text(sample_files.SPEC.replace("density = 0.4", "density = 0.3"))
    fails(capsys, ["sweep", spec, "--pes", "2,4", "--out", out], store_of(out), spec.name)


def test_the_workload_identity_is_the_content_not_the_path(tmp_path):
    spec = sample_files.write_spec(tmp_path)
    moved = tmp_path / "elsewhere" / "moved.toml"
    moved.parent.mkdir()
    moved.write_bytes(spec.read_bytes())
    assert sweep_identity(str(spec)).content == sweep_identity(str(moved)).content
    moved.write_text(sample_files.SPEC + "\n# a comment\n")
    assert sweep_identity(str(spec)).content != sweep_identity(str(moved)).content
    assert sweep_identity("alex-8").content != sweep_identity("alex-7").content


def test_a_net_file_is_identified_with_its_prototxt(tmp_path):
    net, prototxt = sample_files.write_net(tmp_path)
    before = sweep_identity(str(net)).content
    prototxt.write_text(prototxt.read_text() + "\n# edited\n")
    assert sweep_identity(str(net)).content != before


def test_the_image_is_part_of_the_identity(tmp_path):
    photo = sample_files.write_image(tmp_path)
    identities = {
        sweep_identity("squeezenet"),
        sweep_identity("squeezenet", image="china.jpg"),
        sweep_identity("squeezenet", image="flower.jpg"),
        sweep_identity("squeezenet", image=str(photo)),
    }
    assert len(identities) == 4
    with_photo = sweep_identity("squeezenet", image=str(photo))
    photo.write_bytes(photo.read_bytes() + b"\0")
    assert sweep_identity("squeezenet", image=str(photo)) != with_photo


def test_the_point_key_covers_every_field_seed_engine_and_version():
    identity = sweep_identity(WORKLOAD)
    arch = ArchConfig()
    keys = {point_key(identity, arch, requantize=False)}
    keys.add(point_key(identity, arch, requantize=True))
    for change in [
        {"seed": 1},
        {"engine": "simpy"},
        {"version": "99.0"},
        {"content": "x"},
        {"image": "x"},
        {"energy_table": "x"},
    ]:
        keys.add(point_key(replace(identity, **change), arch, requantize=False))
    for field in fields(ArchConfig):
        keys.add(point_key(identity, another_value(arch, field.name), requantize=False))
    assert len(keys) == 2 + 6 + len(fields(ArchConfig))


def another_value(arch: ArchConfig, name: str) -> ArchConfig:
    """`arch` with field `name` changed to some other valid value."""
    value = getattr(arch, name)
    choices = {"dram": DRAM_TYPES, "conv_mapping": CONV_MAPPINGS, "spmat_read_mode": SPMAT_READ_MODES}
    for candidate in choices.get(name) or [value * 2, value / 2, value + 1]:
        if candidate != value:
            try:
                return arch.replace(**{name: candidate})
            except InputError:
                continue
    pytest.fail(f"no other valid value for {name}")


@pytest.mark.parametrize(
    "axes, named",
    [
        (["--pes", "4,8,16"], "n_pes=4,8,16"),
        (["--pes", "4,8", "--fifo-depth", "2"], "fifo_depth=2"),
    ],
)
def test_other_axes_need_extend(capsys, tmp_path, axes, named):
    out = tmp_path / "m.csv"
    sweeps(capsys, WORKLOAD, "--pes", "4,8", "--out", out)
    fails(capsys, ["sweep", WORKLOAD, *axes, "--out", out], store_of(out), named, "n_pes=4,8", "--extend")
    assert len(totals(out)) == 2


def test_another_base_architecture_needs_extend(capsys, tmp_path):
    out = tmp_path / "m.csv"
    arch = tmp_path / "arch.toml"
    arch.write_text("fifo_depth = 4\n")
    sweeps(capsys, WORKLOAD, "--pes", "4,8", "--out", out)
    fails(capsys, ["sweep", WORKLOAD, "--pes", "4,8", "--arch", arch, "--out", out], store_of(out), "fifo_depth")


def test_extend_adds_points_and_keeps_the_file_consistent(capsys, tmp_path):
    out = tmp_path / "m.csv"
    sweeps(capsys, WORKLOAD, "--pes", "4,8", "--out", out)
    first = totals(out)
    sweeps(capsys, WORKLOAD, "--pes", "8,16", "--extend", "--out", out)
    sweeps(capsys, WORKLOAD, "--fifo-depth", "2", "--extend", "--out", out)
    extended = totals(out)
    assert extended["point"].tolist() == [0, 1, 2, 3]
    assert list(zip(extended["pes"], extended["fifo_depth_entries"])) == [(4, 8), (8, 8), (16, 8), (64, 2)]
    pd.testing.assert_frame_equal(extended.iloc[:2], first)  # the first points, kept as they were
    assert list(pd.read_csv(out).columns) == list(pd.read_csv(out, nrows=0).columns)
    assert not pd.read_csv(out).duplicated(subset=["point_key", "name"]).any()
    # the same command again resumes: nothing is added
    sweeps(capsys, WORKLOAD, "--fifo-depth", "2", "--extend", "--out", out)
    pd.testing.assert_frame_equal(totals(out), extended)


@pytest.mark.parametrize("second", [["--seed", "1"], ["--engine", "simpy"]])
def test_extend_does_not_mix_sweeps_of_another_identity(capsys, tmp_path, second):
    out = tmp_path / "m.csv"
    sweeps(capsys, WORKLOAD, "--pes", "4,8", "--out", out)
    fails(capsys, ["sweep", WORKLOAD, "--pes", "16", *second, "--extend", "--out", out], store_of(out), second[1])


def test_repeated_axis_values_run_once(capsys, tmp_path):
    out = tmp_path / "m.csv"
    sweeps(capsys, WORKLOAD, "--pes", "4,4,8,4", "--out", out)
    frame = pd.read_csv(out)
    assert totals(out)["pes"].tolist() == [4, 8]
    assert not frame.duplicated(subset=["point_key", "name"]).any()


def _held(store: Path) -> bool:
    """Whether a process holds the store's lock now."""
    if not store.exists():
        return False
    with open(store, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@pytest.mark.slow
def test_a_second_sweep_on_the_same_output_is_refused_at_once(tmp_path):
    out = tmp_path / "m.csv"
    command = [sys.executable, "-m", "eie_sim", "sweep", "vgg-6", "--pes", "1,2,4,8", "--engine", "simpy"]
    command += ["--out", str(out)]  # the slow engine: the first sweep is still running when the second one starts
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _held(store_of(out)) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _held(store_of(out)), "the first sweep never locked its store"
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first sweep ended before the second one tried"
        assert second.returncode == 2 and second.stdout == "", second.stderr
        lines = second.stderr.splitlines()
        assert len(lines) == 1 and str(store_of(out)) in lines[0] and "another sweep" in lines[0], lines
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not _held(store_of(out))  # a killed sweep's lock is gone with it


def test_a_full_disk_while_storing_is_one_line(capsys, tmp_path, monkeypatch):
    """SQLite's own full-database error, from a database allowed too few pages for one point."""
    connect = sqlite3.connect

    def small(path: str, *args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(path, *args, **kwargs)
        connection.execute("PRAGMA max_page_count = 6")
        return connection

    monkeypatch.setattr(sqlite3, "connect", small)
    out = tmp_path / "m.csv"
    fails(capsys, ["sweep", WORKLOAD, "--pes", "4,8", "--out", out], store_of(out), "full")
    assert not out.exists()


def test_the_store_file_respects_the_umask(capsys, tmp_path):
    previous = os.umask(0o027)
    try:
        sweeps(capsys, WORKLOAD, "--pes", "4", "--out", tmp_path / "m.csv")
    finally:
        os.umask(previous)
    assert (tmp_path / "m.csv").stat().st_mode & 0o777 == 0o640
    assert store_of(tmp_path / "m.csv").stat().st_mode & 0o777 == 0o640


def test_a_number_written_as_an_integer_or_a_float_is_the_same_point():
    identity = sweep_identity(WORKLOAD)
    as_float = point_key(identity, make_arch(clock_mhz=800.0, dram_gbps=25.0), requantize=False)
    assert point_key(identity, make_arch(clock_mhz=800, dram_gbps=25), requantize=False) == as_float


def test_a_store_that_is_not_one_is_refused(capsys, tmp_path):
    out = tmp_path / "m.csv"
    store_of(out).write_text("point,name\n0,total\n")
    fails(capsys, ["sweep", WORKLOAD, "--pes", "4", "--out", out], store_of(out), "not a database")
    store_of(out).unlink()
    with sqlite3.connect(store_of(out)) as other:
        other.execute("CREATE TABLE results (x)")
    other.close()
    fails(capsys, ["sweep", WORKLOAD, "--pes", "4", "--out", out], store_of(out), "not a sweep store")
    assert not out.exists()
