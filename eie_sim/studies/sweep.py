"""Design-space sweeps: the cartesian product of ArchConfig axes, run in parallel, stored durably and resumably.

Each finished point's rows (one per layer, then a "total" row) are appended to the CSV store in one write and
fsync'd, so an interrupted sweep loses at most the points in flight; a re-run skips the points already stored
and mends a cut-off last line. Rows come back sorted by point and layer whatever the executor, so results are
identical for any number of jobs, locally or on a Dask cluster.
"""

from __future__ import annotations

import io
import itertools
import json
import multiprocessing
import os
import signal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pandas as pd

from eie_sim.arch import ArchConfig, make_arch
from eie_sim.errors import InputError
from eie_sim.model.network import Network
from eie_sim.support.files import write_atomic
from eie_sim.support.optional import require
from eie_sim.support.processes import end_with_parent
from eie_sim.support.progress import progress_bar

# ArchConfig field -> sweep column, with its unit
ARCH_COLUMNS = {
    "n_pes": "pes",
    "clock_mhz": "clock_mhz",
    "fifo_depth": "fifo_depth_entries",
    "spmat_kb": "spmat_kib",
    "spmat_width": "spmat_width_bits",
    "ptr_kb": "ptr_kib",
    "ptr_bits": "ptr_bits",
    "weight_bits": "weight_bits",
    "index_bits": "index_bits",
    "act_bits": "act_bits",
    "rf_entries": "rf_entries",
    "act_sram_kb": "act_sram_kib",
    "dram": "dram",
    "dram_gbps": "dram_gbps",
    "conv_mapping": "conv_mapping",
}
KEY = "point_key"
NUMBER_COLUMNS = {
    "point",
    "cycles",
    "compute_cycles",
    "time_us",
    "load_efficiency",
    "nnz",
    "padding",
}  # results need these


@dataclass(frozen=True)
class SweepPoint:
    """One configuration: its position in the product and its ArchConfig."""

    index: int
    arch: ArchConfig

    @property
    def key(self) -> str:
        return json.dumps(self.arch.to_dict(), sort_keys=True)


def sweep_points(axes: Mapping[str, Sequence[Any]], base: ArchConfig | None = None) -> list[SweepPoint]:
    """The cartesian product of `axes` (ArchConfig field -> values) over `base`, validated up front."""
    base = base or ArchConfig()
    for name, values in axes.items():
        if name not in ARCH_COLUMNS:
            raise InputError(f"sweep axis {name!r} is not an ArchConfig field; known: {', '.join(ARCH_COLUMNS)}")
        if not values:
            raise InputError(f"sweep axis {name}: no values given")
    names = list(axes)
    combos = itertools.product(*(axes[n] for n in names))
    return [SweepPoint(i, make_arch(**{**base.to_dict(), **dict(zip(names, combo))})) for i, combo in enumerate(combos)]


@lru_cache(maxsize=4)
def _network(workload: str, seed: int) -> Network:
    from eie_sim.formats.workloads import load_workload

    return load_workload(workload, seed=seed)


@dataclass(frozen=True)
class SweepJob:
    """What every point of one sweep shares; picklable, so workers (local or Dask) can run its points."""

    workload: str
    seed: int = 0
    engine: str = "fast"
    requantize: bool = False  # a weight_bits sweep: codebooks wider than a point's weight_bits are re-quantized

    def run(self, point: SweepPoint) -> pd.DataFrame:
        """Simulate one configuration: a row per layer and a final "total" row, with the configuration's columns."""
        from eie_sim.compress.share import requantize_network
        from eie_sim.studies.simulate import simulate

        network = _network(self.workload, self.seed)
        if self.requantize:
            network = requantize_network(network, point.arch.weight_bits)
        result = simulate(network, point.arch, engine=self.engine)
        rows = pd.concat(
            [result.layers, pd.DataFrame([{"name": "total", **result.total.to_dict()}])], ignore_index=True
        )
        config = {ARCH_COLUMNS[k]: v for k, v in point.arch.to_dict().items()}
        front = pd.DataFrame(
            {"point": point.index, KEY: point.key, "workload": self.workload, "engine": self.engine, **config},
            index=rows.index,
        )
        return pd.concat([front, rows], axis=1)


class SweepStore:
    """An append-only CSV of finished points; one fsync'd write per point."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.columns: list[str] | None = None
        self._mend()

    def _mend(self) -> None:
        """Cut a partial last line left by a kill, and drop points whose "total" row never arrived."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read sweep results ({exc.strerror})") from None
        whole = data[: data.rfind(b"\n") + 1]
        try:
            frame = pd.read_csv(io.BytesIO(whole)) if whole.strip() else pd.DataFrame(columns=[KEY, "name"])
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.path}: not a sweep results file ({exc})") from None
        if KEY not in frame or "name" not in frame:
            raise InputError(f"{self.path}: not a sweep results file (no {KEY} and name columns); choose another --out")
        kept = frame[frame[KEY].isin(set(frame.loc[frame["name"] == "total", KEY]))]
        if not kept.empty:
            self.columns = list(kept.columns)
        if len(whole) != len(data) or len(kept) != len(frame):
            write_atomic(self.path, kept.to_csv(index=False) if not kept.empty else b"")

    def finished(self) -> set[str]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return set()
        frame = pd.read_csv(self.path, usecols=[KEY, "name"])
        return set(frame.loc[frame["name"] == "total", KEY])

    def append(self, rows: pd.DataFrame) -> None:
        header = self.columns is None
        if header:
            self.columns = list(rows.columns)
        text = rows.reindex(columns=self.columns).to_csv(index=False, header=header)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write sweep results ({exc.strerror})") from None
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> pd.DataFrame:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame()
        return pd.read_csv(self.path)


def _start_worker(parent: int) -> None:
    """In a local worker: Ctrl-C is the parent's to handle, and the parent stopping the pool (SIGTERM) or dying, even
    by SIGKILL, ends it quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    end_with_parent(parent)


def _stop_now(pool: ProcessPoolExecutor, others: set[BaseProcess]) -> None:
    """Cancel the points not started and end the workers at once, rather than wait for the points they are on
    (their work is lost, as a kill would lose it: the store keeps every finished point). The workers are this
    process's children that were not there before the pool (`others`)."""
    workers = [child for child in multiprocessing.active_children() if child not in others]
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()


def _results(job: SweepJob, tasks: list[SweepPoint], jobs: int, scheduler: str | None) -> Iterator[pd.DataFrame]:
    """Each point's rows as soon as it is done, from the chosen executor."""
    if scheduler:
        distributed = require("dask.distributed", "--scheduler", "dask")
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        with client:
            futures = [client.submit(job.run, p, pure=False) for p in tasks]
            for future in distributed.as_completed(futures):
                yield future.result()
    elif jobs > 1:
        others = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(os.getpid(),))
        try:
            futures = [pool.submit(job.run, p) for p in tasks]
            for future in as_completed(futures):
                yield future.result()
        except BaseException:  # an error, Ctrl-C or SIGTERM, or the caller stopping early
            _stop_now(pool, others)
            raise
        pool.shutdown()
    else:
        for point in tasks:
            yield job.run(point)


def sweep(
    workload: str,
    axes: Mapping[str, Sequence[Any]],
    base: ArchConfig | None = None,
    engine: str = "fast",
    seed: int = 0,
    out: str | Path | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Simulate `workload` on every configuration of the product of `axes`; tidy rows sorted by point and layer.

    With `out` (a .csv, or a .parquet written from a .csv journal beside it at the end), finished points are
    kept on disk and skipped when the same sweep runs again.
    """
    if jobs < 1:
        raise InputError(f"--jobs: must be at least 1, got {jobs}")
    points = sweep_points(axes, base)
    _network(workload, seed)  # fail fast on a bad workload, before any worker starts
    journal = _journal_path(out)
    store = SweepStore(journal) if journal else None
    done = store.finished() if store else set()
    todo = [p for p in points if p.key not in done]
    frames: list[pd.DataFrame] = []
    with progress_bar(total=len(points), desc=f"sweep {workload}", unit="point", enabled=progress) as bar:
        bar.update(len(points) - len(todo))
        for rows in _results(SweepJob(workload, seed, engine, "weight_bits" in axes), todo, jobs, scheduler):
            if store:
                store.append(rows)
            else:
                frames.append(rows)
            bar.update(1)
    frame = store.read() if store else pd.concat(frames, ignore_index=True)
    frame = _in_order(frame, points)
    if out is not None and Path(out).suffix == ".parquet":
        _write_parquet(frame, Path(out))
    return frame


def read_results(path: str | Path) -> pd.DataFrame:
    """A sweep results file (.csv or .parquet) as a DataFrame, with a clear error for anything else."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such results file") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read sweep results ({exc})") from None
    missing = {"name", *NUMBER_COLUMNS, *ARCH_COLUMNS.values()} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: not sweep results (missing columns {', '.join(sorted(missing))})")
    if frame["name"].isna().any():
        raise InputError(f"{path}: not sweep results (a row has no layer name)")
    numbers = NUMBER_COLUMNS | set(ARCH_COLUMNS.values()) - {"dram", "conv_mapping"}
    text = [
        c
        for c in frame.columns
        if (c in numbers or c.endswith(("_pj", "_bytes"))) and not pd.api.types.is_numeric_dtype(frame[c])
    ]
    if text:
        raise InputError(f"{path}: not sweep results (column {text[0]} holds text where numbers are expected)")
    return frame


def _journal_path(out: str | Path | None) -> Path | None:
    if out is None:
        return None
    out = Path(out)
    if out.suffix not in (".csv", ".parquet"):
        raise InputError(f"--out: {out} must end in .csv or .parquet")
    return out if out.suffix == ".csv" else out.with_suffix(".parquet.journal.csv")


def _in_order(frame: pd.DataFrame, points: Iterable[SweepPoint]) -> pd.DataFrame:
    """Only this sweep's points, ordered by point then by row within the point."""
    order = {p.key: p.index for p in points}
    frame = frame[frame[KEY].isin(order)].copy()
    frame["point"] = frame[KEY].map(order)
    frame["_row"] = frame.groupby(KEY).cumcount()
    return frame.sort_values(["point", "_row"], kind="stable").drop(columns="_row").reset_index(drop=True)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    require("pyarrow", "--out *.parquet", "parquet")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    write_atomic(path, buffer.getvalue())
