import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sample_files

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError
from eie_sim.studies.store import KEY
from eie_sim.studies.sweep import sweep, sweep_points

WORKLOAD = "lenet-300-100"
AXES = {"n_pes": [1, 4, 16], "fifo_depth": [1, 8]}


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return sweep(WORKLOAD, AXES)


def test_product_rows_and_totals(reference):
    points = sweep_points(AXES)
    assert len(points) == 6
    totals = reference[reference["name"] == "total"]
    assert len(totals) == 6 and totals["point"].tolist() == list(range(6))
    assert set(zip(totals["pes"], totals["fifo_depth_entries"])) == {(p, d) for p in [1, 4, 16] for d in [1, 8]}
    layers = reference[reference["name"] != "total"]
    assert len(layers) == 6 * 3
    # the total row of a point sums its layers' cycles
    for _, rows in reference.groupby("point"):
        assert rows.loc[rows["name"] == "total", "cycles"].item() == rows.loc[rows["name"] != "total", "cycles"].sum()


def test_bad_axis_is_a_clear_error():
    with pytest.raises(InputError, match="not an ArchConfig field"):
        sweep_points({"pez": [1]})
    with pytest.raises(InputError, match="n_pes"):
        sweep_points({"n_pes": [0]})


def test_repeated_axis_values_make_one_point():
    points = sweep_points({"n_pes": [4, 4, 8, 4], "fifo_depth": [2, 2]})
    assert [(p.index, p.arch.n_pes, p.arch.fifo_depth) for p in points] == [(0, 4, 2), (1, 8, 2)]
    assert len(sweep_points({"clock_mhz": [800, 800.0]})) == 1


def by_configuration(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by configuration then layer, without the numbering of the sweep that made them."""
    frame = frame.assign(_row=frame.groupby(KEY).cumcount())
    frame = frame.sort_values(["pes", "fifo_depth_entries", "_row"]).drop(columns=["_row", "point"])
    return frame.reset_index(drop=True)


def test_extending_a_sweep_runs_only_the_new_points(tmp_path, reference):
    out = tmp_path / "r.csv"
    sweep(WORKLOAD, {"n_pes": [1, 4]}, out=out)
    first = pd.read_csv(out)
    full = sweep(WORKLOAD, AXES, out=out, extend=True)
    assert not full.duplicated(subset=[KEY, "name"]).any()
    stored = pd.read_csv(out)
    assert len(stored) == len(reference)
    # the points of the first run were kept as they were, and keep their numbers
    pd.testing.assert_frame_equal(stored.iloc[: len(first)], first)
    assert stored.groupby("point", sort=False)["pes"].first().tolist() == [1, 4, 1, 4, 16, 16]
    pd.testing.assert_frame_equal(by_configuration(full), by_configuration(reference), check_dtype=False)
    again = sweep(WORKLOAD, AXES, out=out, extend=True)
    assert len(pd.read_csv(out)) == len(reference)
    pd.testing.assert_frame_equal(comparable(again), comparable(full))


def stored_points(store: Path) -> int:
    """Points committed to a sweep store so far, read while a sweep may be writing it."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def test_killed_sweep_leaves_a_readable_file_and_resumes(tmp_path, reference):
    out = tmp_path / "killed.csv"
    command = [
        sys.executable,
        "-m",
        "eie_sim",
        "sweep",
        WORKLOAD,
        "--pes",
        "1,4,16",
        "--fifo-depth",
        "1,8",
        "--out",
        str(out),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = out.with_name("killed.csv.sqlite")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and stored_points(store) < 1:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 1 <= stored_points(store) < 6
    assert not out.exists()  # the CSV is written once the sweep is complete, never partial
    resumed = sweep(WORKLOAD, AXES, out=out)  # the lock died with the process
    assert len(pd.read_csv(out)) == len(reference)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(reference), check_dtype=False)


def test_two_jobs_give_identical_results(reference):
    parallel = sweep(WORKLOAD, AXES, jobs=2)
    pd.testing.assert_frame_equal(comparable(parallel), comparable(reference))


def test_dask_local_cluster_gives_identical_results(reference):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_cluster = sweep(WORKLOAD, AXES, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(comparable(on_cluster), comparable(reference))


def test_a_relative_workload_path_reaches_dask_workers_elsewhere(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    sample_files.write_spec(tmp_path)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.chdir(tmp_path)  # the worker started in another directory
        on_cluster = sweep("tiny.toml", {"n_pes": [1, 2]}, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(on_cluster, sweep("tiny.toml", {"n_pes": [1, 2]}))


def _dask(*argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", f"distributed.cli.dask_{argv[0]}", *argv[1:], "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_scheduler_that_dies_mid_sweep_keeps_the_finished_points(tmp_path):
    pytest.importorskip("dask.distributed")
    address_file = tmp_path / "scheduler.json"
    scheduler = _dask("scheduler", "--scheduler-file", str(address_file), "--port", "0")
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        address = json.loads(address_file.read_text())["address"]
        worker = _dask("worker", address, "--nworkers", "1", "--nthreads", "1")
        out = tmp_path / "r.csv"
        store = tmp_path / "r.csv.sqlite"
        command = ["sweep", "vgg-6", "--pes", "1,2,4,8", "--scheduler", address, "--out", str(out)]
        process = subprocess.Popen(
            [sys.executable, "-m", "eie_sim", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        while stored_points(store) < 1 and process.poll() is None and time.monotonic() < deadline + 60:
            time.sleep(0.05)
        scheduler.kill()
        _, err = process.communicate(timeout=120)
    finally:
        for child in (scheduler, worker):
            if child is not None:
                child.kill()
                child.wait()
    assert process.returncode == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "--scheduler" in lines[0] and address in lines[0], err
    assert 1 <= stored_points(store) < 4 and not out.exists()


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(InputError, match="Dask scheduler"):
        sweep(WORKLOAD, {"n_pes": [1]}, scheduler="tcp://127.0.0.1:9")


def test_parquet_output(tmp_path, reference):
    pytest.importorskip("pyarrow")
    out = tmp_path / "r.parquet"
    returned = sweep(WORKLOAD, AXES, out=out)
    stored = pd.read_parquet(out)
    pd.testing.assert_frame_equal(stored.fillna(float("nan")), returned.fillna(float("nan")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.parquet", "r.parquet.sqlite"]
    pd.testing.assert_frame_equal(comparable(stored).fillna(float("nan")), comparable(reference), check_dtype=False)


@pytest.mark.slow
def test_weight_bits_axis_requantizes():
    frame = sweep("squeezenet", {"weight_bits": [4, 6]}, base=ArchConfig())
    totals = frame[frame["name"] != "total"].groupby("weight_bits")["code_bits"].max()
    assert totals.to_dict() == {4: 4, 6: 6}
