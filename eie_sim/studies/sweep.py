"""Design-space sweeps: the cartesian product of ArchConfig axes, run in parallel, stored durably and resumably.

Each finished point's rows (one per layer, then a "total" row) are committed to the sweep's store (see store.py) as
soon as it is done, so an interrupted sweep loses at most the points in flight, and the same command run again
skips the points already stored. Rows come back sorted by point and layer whatever the executor, so results are
identical for any number of jobs, locally or on a Dask cluster.
"""

from __future__ import annotations

import io
import itertools
import multiprocessing
import os
import signal
import socket
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import pandas as pd

from eie_sim.arch import ArchConfig, make_arch
from eie_sim.costs.energy import EnergyTable
from eie_sim.errors import InputError
from eie_sim.model.network import Network
from eie_sim.results.result import Result
from eie_sim.studies.simulate import EncodingKey, Session, memory_need
from eie_sim.studies.store import SweepRequest, open_store, point_key, store_path, sweep_identity
from eie_sim.support.files import write_atomic
from eie_sim.support.optional import require
from eie_sim.support.processes import end_with_parent
from eie_sim.support.progress import progress_bar

# ArchConfig field -> sweep column, with its unit
ARCH_COLUMNS = {
    "n_pes": "pes",
    "clock_mhz": "clock_mhz",
    "fifo_depth": "fifo_depth_entries",
    "broadcast_latency_cycles": "broadcast_latency_cycles",
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
    "spmat_read_mode": "spmat_read_mode",
}
NUMBER_COLUMNS = {
    "point",
    "cycles",
    "compute_cycles",
    "time_us",
    "load_efficiency",
    "nnz",
    "fillers",
}  # results need these


@dataclass(frozen=True)
class SweepPoint:
    """One configuration: its position in the product and its ArchConfig."""

    index: int
    arch: ArchConfig


def sweep_points(axes: Mapping[str, Sequence[Any]], base: ArchConfig | None = None) -> list[SweepPoint]:
    """The cartesian product of `axes` (ArchConfig field -> values) over `base`, validated up front; a configuration
    given twice (a repeated value) is one point, at its first place."""
    base = base or ArchConfig()
    for name, values in axes.items():
        if name not in ARCH_COLUMNS:
            raise InputError(f"sweep axis {name!r} is not an ArchConfig field; known: {', '.join(ARCH_COLUMNS)}")
        if not values:
            raise InputError(f"sweep axis {name}: no values given")
    names = list(axes)
    combos = itertools.product(*(axes[n] for n in names))
    archs = dict.fromkeys(make_arch(**{**base.to_dict(), **dict(zip(names, combo))}) for combo in combos)
    return [SweepPoint(i, arch) for i, arch in enumerate(archs)]


@lru_cache(maxsize=1)
def _network(workload: str, seed: int, image: str | None) -> Network:
    from eie_sim.formats.workloads import load_workload

    return load_workload(workload, seed=seed, image=image)


@lru_cache(maxsize=1)
def _session(workload: str, seed: int, image: str | None, weight_bits: int | None) -> Session:
    """This process's session for a sweep's network (re-quantized to `weight_bits` if given): the points a process
    runs share its functional results and encodings. One network and one session at a time: a sweep's processes
    hold nothing else, and sweep() lets them go when it returns."""
    from eie_sim.compress.share import requantize_network

    network = _network(workload, seed, image)
    return Session(requantize_network(network, weight_bits) if weight_bits is not None else network)


@lru_cache(maxsize=1)
def _energy_table(path: str) -> EnergyTable:
    from eie_sim.costs.energy import load_energy_table

    return load_energy_table(path)


def sweep_rows(result: Result, workload: str) -> pd.DataFrame:
    """A simulation's rows (layers, then "total") behind its workload, engine and configuration columns."""
    rows = result.rows()
    config = {ARCH_COLUMNS[k]: v for k, v in result.arch.to_dict().items()}
    front = pd.DataFrame({"workload": workload, "engine": result.engine, **config}, index=rows.index)
    return pd.concat([front, rows], axis=1)


@dataclass(frozen=True)
class SweepJob:
    """What every point of one sweep shares; picklable, so workers (local or Dask) can run its points."""

    workload: str
    seed: int = 0
    engine: str = "fast"
    requantize: bool = False  # a weight_bits sweep: codebooks wider than a point's weight_bits are re-quantized
    image: str | None = None
    energy_table: str | None = None  # a user's energy table file; None for the packaged one

    def run(self, point: SweepPoint) -> pd.DataFrame:
        """Simulate one configuration: a row per layer and a final "total" row, with the configuration's columns."""
        session = _session(self.workload, self.seed, self.image, point.arch.weight_bits if self.requantize else None)
        table = _energy_table(self.energy_table) if self.energy_table else None
        return sweep_rows(session.simulate(point.arch, engine=self.engine, energy_table=table), self.workload)

    def run_group(self, points: list[SweepPoint]) -> list[pd.DataFrame]:
        """Points that share their encodings, one after another in one process, which encodes once for all."""
        return [self.run(point) for point in points]


def encoding_groups(points: list[SweepPoint]) -> list[list[SweepPoint]]:
    """The points grouped by the configuration fields their encodings depend on, in order of first appearance: a
    group is one task, so an axis that changes no encoding (queue depth, clock, DRAM) costs engine time alone."""
    groups: dict[tuple[Any, ...], list[SweepPoint]] = {}
    for point in points:
        groups.setdefault((EncodingKey.of(point.arch), point.arch.conv_mapping), []).append(point)
    return sorted(groups.values(), key=lambda group: group[0].arch.weight_bits)  # one re-quantized network at a time


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


def _results(
    job: SweepJob, tasks: list[SweepPoint], jobs: int, scheduler: str | None
) -> Iterator[tuple[SweepPoint, pd.DataFrame]]:
    """Each point with its rows as soon as it is done, from the chosen executor."""
    if scheduler is not None:
        yield from _on_dask(job, tasks, scheduler)
    elif jobs > 1:
        others = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(os.getpid(),))
        try:
            futures = {pool.submit(job.run_group, group): group for group in encoding_groups(tasks)}
            for future in as_completed(futures):
                yield from zip(futures[future], future.result())
        except BaseException:  # an error, Ctrl-C or SIGTERM, or the caller stopping early
            _stop_now(pool, others)
            raise
        pool.shutdown()
    else:
        for group in encoding_groups(tasks):
            for point in group:
                yield point, job.run(point)


def _on_dask(job: SweepJob, tasks: list[SweepPoint], scheduler: str) -> Iterator[tuple[SweepPoint, pd.DataFrame]]:
    distributed = require("dask.distributed", "--scheduler", "dask")
    try:
        client = distributed.Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    with client:
        futures = {client.submit(job.run_group, group, pure=False): group for group in encoding_groups(tasks)}
        try:
            for future in distributed.as_completed(futures):
                yield from zip(futures[future], future.result())
        except CancelledError:  # the scheduler is gone: the client cancels every future it was waiting for
            raise InputError(
                f"--scheduler: lost the Dask scheduler at {scheduler}; the finished points are stored, "
                "run the same command again to resume"
            ) from None


def _check_scheduler(address: str) -> None:
    """Fail before any work on an address Dask cannot use (PROTOCOL://HOST:PORT, tcp:// if left out), or on a TCP
    address where nothing listens."""
    comm = require("distributed.comm", "--scheduler", "dask")
    try:
        protocol, location = comm.parse_address(address)
        comm.registry.get_backend(protocol)
        if protocol == "inproc":  # a cluster in this process: no host or port
            return
        host, port = comm.parse_host_port(location)
    except ValueError as exc:
        raise InputError(f"--scheduler: {address!r} is not a Dask scheduler address ({exc})") from None
    if not host or not 0 < port < 65536:
        raise InputError(
            f"--scheduler: {address!r} is not a Dask scheduler address (no host, or a port not in 1..65535)"
        )
    if protocol == "tcp":  # a refused connection is known at once; Dask would retry it until its timeout
        try:
            socket.create_connection((host, port), timeout=10).close()
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise InputError(f"--scheduler: cannot reach the Dask scheduler at {address} ({reason})") from None


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
    image: str | None = None,
    extend: bool = False,
    energy_table: str | Path | None = None,
) -> pd.DataFrame:
    """Simulate `workload` on every configuration of the product of `axes`; tidy rows sorted by point and layer.

    With `out` (a .csv or .parquet), the finished points are kept in a store beside it (`out` + ".sqlite"), and the
    same sweep run again skips them; `out` itself is written once every point is done. A store made by another
    sweep is refused; with `extend`, one of the same workload, image, seed, engine, energy table and version takes
    this sweep's points too, and `out` gets all its points. `energy_table` prices the actions with a user's table
    (costs.energy.load_energy_table) instead of the packaged 45 nm one.
    """
    if jobs < 1:
        raise InputError(f"--jobs: must be at least 1, got {jobs}")
    if scheduler is not None:
        _check_scheduler(scheduler)
    if out is not None and Path(out).suffix not in (".csv", ".parquet"):
        raise InputError(f"--out: {out} must end in .csv or .parquet")
    if out is not None and Path(out).suffix == ".parquet":
        require("pyarrow", "--out *.parquet", "parquet")
    if extend and out is None:
        raise InputError("--extend: adds points to the store of an --out file; give --out")
    base = base or ArchConfig()
    points = sweep_points(axes, base)
    table = os.path.abspath(energy_table) if energy_table else None
    job = SweepJob(_absolute(workload), seed, engine, "weight_bits" in axes, image and _absolute(image), table)
    if table:
        _energy_table(table)  # a bad table fails here, before any point runs
    try:
        network = _network(job.workload, seed, job.image)  # fail fast on a bad workload, before any worker starts
        _check_memory(network, points, jobs if scheduler is None else 1)
        identity = sweep_identity(workload, image, seed, engine, table)
        keys = [point_key(identity, p.arch, job.requantize) for p in points]
        request = SweepRequest(tuple(keys), _taken(axes, points), base.to_dict())
        with open_store(store_path(out) if out is not None else None, identity, request, extend) as store:
            done = store.finished()
            todo = [p for p in points if keys[p.index] not in done]
            with progress_bar(total=len(points), desc=f"sweep {workload}", unit="point", enabled=progress) as bar:
                bar.update(len(points) - len(todo))
                for point, rows in _results(job, todo, jobs, scheduler):
                    store.add(keys[point.index], rows)
                    bar.update(1)
            frame = store.read()
            if out is not None:
                _export(frame, Path(out))
        return frame
    finally:  # the network and its encodings are this sweep's: a caller's process does not keep them
        _session.cache_clear()
        _network.cache_clear()
        _energy_table.cache_clear()


def _check_memory(network: Network, points: list[SweepPoint], workers: int) -> None:
    """Refuse a sweep whose workers together would need more memory than the machine has: each holds the network
    and the encodings of its largest point."""
    largest = max((memory_need(network, p.arch) for p in points), key=lambda need: need.bytes)
    workers = min(workers, len(points))
    largest.times(workers).check(f"sweep of {network.name} on {workers} worker{'s' * (workers > 1)}")


def _absolute(name: str) -> str:
    """A file named by a relative path as an absolute one, so that workers in another directory (Dask) find it;
    built-in workloads and sample photos by their names."""
    from eie_sim.formats.workloads import list_workloads

    return os.path.abspath(name) if name not in list_workloads() and Path(name).exists() else name


def _taken(axes: Mapping[str, Sequence[Any]], points: list[SweepPoint]) -> dict[str, list[Any]]:
    """Each axis's distinct values, in order, as the points took them."""
    return {name: list(dict.fromkeys(getattr(p.arch, name) for p in points)) for name in axes}


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
    numbers = NUMBER_COLUMNS | set(ARCH_COLUMNS.values()) - {"dram", "conv_mapping", "spmat_read_mode"}
    text = [
        c
        for c in frame.columns
        if (c in numbers or c.endswith(("_pj", "_bytes"))) and not pd.api.types.is_numeric_dtype(frame[c])
    ]
    if text:
        raise InputError(f"{path}: not sweep results (column {text[0]} holds text where numbers are expected)")
    return frame


def _export(frame: pd.DataFrame, path: Path) -> None:
    """The results file, written whole in one step (never a partial one)."""
    if path.suffix == ".csv":
        write_atomic(path, frame.to_csv(index=False))
        return
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    write_atomic(path, buffer.getvalue())
