import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError
from eie_sim.studies.sweep import KEY, SweepStore, sweep, sweep_points

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
    for point, rows in reference.groupby("point"):
        assert rows.loc[rows["name"] == "total", "cycles"].item() == rows.loc[rows["name"] != "total", "cycles"].sum()


def test_bad_axis_is_a_clear_error():
    with pytest.raises(InputError, match="not an ArchConfig field"):
        sweep_points({"pez": [1]})
    with pytest.raises(InputError, match="n_pes"):
        sweep_points({"n_pes": [0]})


def test_resume_skips_finished_points_and_adds_no_duplicates(tmp_path, reference):
    out = tmp_path / "r.csv"
    sweep(WORKLOAD, {"n_pes": [1, 4]}, out=out)
    first = pd.read_csv(out)
    full = sweep(WORKLOAD, AXES, out=out)
    assert not full.duplicated(subset=[KEY, "name"]).any()
    stored = pd.read_csv(out)
    assert len(stored) == len(reference)
    # the points of the first run were kept byte for byte, not recomputed
    pd.testing.assert_frame_equal(stored.iloc[: len(first)], first)
    pd.testing.assert_frame_equal(comparable(full), comparable(reference), check_dtype=False)
    again = sweep(WORKLOAD, AXES, out=out)
    assert len(pd.read_csv(out)) == len(reference)
    pd.testing.assert_frame_equal(comparable(again), comparable(full))


def test_a_cut_off_last_line_and_an_unfinished_point_are_mended(tmp_path, reference):
    out = tmp_path / "r.csv"
    sweep(WORKLOAD, AXES, out=out)
    text = out.read_text()
    lines = text.splitlines(keepends=True)
    # drop the last point's total row and cut its last layer row in half
    kept = "".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2]
    out.write_text(kept)
    store = SweepStore(out)
    mended = pd.read_csv(out)
    assert len(mended) == len(reference) - 4  # the unfinished point's three layer rows (one cut) are gone
    assert store.finished() == set(reference.loc[reference["name"] == "total", KEY][:-1])
    resumed = sweep(WORKLOAD, AXES, out=out)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(reference), check_dtype=False)


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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\ntotal,") + out.read_text().count(",total,") >= 1:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    SweepStore(out)  # mends whatever the kill left
    partial = pd.read_csv(out)
    assert not partial.duplicated(subset=[KEY, "name"]).any()
    resumed = sweep(WORKLOAD, AXES, out=out)
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


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(InputError, match="Dask scheduler"):
        sweep(WORKLOAD, {"n_pes": [1]}, scheduler="tcp://127.0.0.1:9")


def test_parquet_output(tmp_path, reference):
    pytest.importorskip("pyarrow")
    out = tmp_path / "r.parquet"
    returned = sweep(WORKLOAD, AXES, out=out)
    stored = pd.read_parquet(out)
    pd.testing.assert_frame_equal(stored.fillna(float("nan")), returned.fillna(float("nan")))
    assert not (out.parent / "r.parquet.journal.csv").exists() or len(
        pd.read_csv(out.parent / "r.parquet.journal.csv")
    ) == len(stored)
    pd.testing.assert_frame_equal(comparable(stored).fillna(float("nan")), comparable(reference), check_dtype=False)


def test_weight_bits_axis_requantizes():
    frame = sweep("squeezenet", {"weight_bits": [4, 6]}, base=ArchConfig())
    totals = frame[frame["name"] != "total"].groupby("weight_bits")["code_bits"].max()
    assert totals.to_dict() == {4: 4, 6: 6}
