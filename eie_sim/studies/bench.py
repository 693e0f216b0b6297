"""`eie-sim bench`: the engines' wall time per layer, and where the time of a PE-count sweep goes.

Times are medians over repeats taken in one run (the machine may be shared and noisy), so the ratios are the
figures to trust. The per-layer table times the engine call alone (the encoding and functional results are
prepared before); the sweep table times a whole sweep in one session, phase by phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from eie_sim.arch import ArchConfig
from eie_sim.engine import get_engine
from eie_sim.formats.workloads import load_workload
from eie_sim.studies.simulate import Session
from eie_sim.support.progress import progress_bar

SWEEP_PES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench_layers(
    workload: str = "eie-paper",
    arch: ArchConfig | None = None,
    repeats: int = 5,
    simpy_repeats: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per layer and a "suite" row: median seconds of each engine and of a scipy.sparse SpMV (float32,
    the same matrix and vectors), PE-cycles simulated per second, and the speed ratios."""
    arch = arch or ArchConfig()
    fast, simpy = get_engine("fast"), get_engine("simpy")
    session = Session(load_workload(workload, seed=seed))
    rows = []
    works = list(session.layer_work(arch))
    with progress_bar(len(works), "bench", "layer", enabled=progress) as bar:
        for work in works:
            job, layer = work.jobs[0], work.layer
            values = layer.values()
            matrix = sp.csc_array((values, layer.codes.rows, layer.codes.indptr), shape=layer.codes.shape)
            vectors = job.inputs.astype(np.float32).T

            def run_fast(job=job, arch=work.arch) -> object:
                return fast(job, arch, outputs=False)

            def run_simpy(job=job, arch=work.arch) -> object:
                return simpy(job, arch)

            def run_spmv(matrix=matrix, vectors=vectors) -> object:
                return matrix @ vectors

            rows.append(
                {
                    "layer": layer.name,
                    "shape": f"{layer.rows}x{layer.cols}",
                    "cycles": fast(job, work.arch, outputs=False).counts.cycles,
                    "fast_s": median_seconds(run_fast, repeats),
                    "simpy_s": median_seconds(run_simpy, simpy_repeats) if simpy_repeats else np.nan,
                    "spmv_s": median_seconds(run_spmv, repeats),
                }
            )
            bar.update(1)
    frame = pd.DataFrame(rows)
    suite = frame[["cycles", "fast_s", "simpy_s", "spmv_s"]].sum(min_count=1)
    frame = pd.concat([frame, pd.DataFrame([{"layer": "suite", "shape": "", **suite.to_dict()}])], ignore_index=True)
    frame["cycles"] = frame["cycles"].astype(np.int64)
    frame["pe_cycles_per_s"] = frame["cycles"] * arch.n_pes / frame["fast_s"]
    frame["simpy_over_fast"] = frame["simpy_s"] / frame["fast_s"]
    frame["fast_over_spmv"] = frame["fast_s"] / frame["spmv_s"]
    return frame


def bench_sweep(
    workload: str = "eie-paper", pes: Sequence[int] = SWEEP_PES, arch: ArchConfig | None = None, seed: int = 0
) -> pd.DataFrame:
    """Where the wall time of a PE-count sweep goes, phase by phase (seconds and share of the wall time): building
    the workload, its functional results (once), the EIE encodings (once per PE count), the engine, and the memory,
    energy and table work; `other` is what no phase covers (Python between the phases)."""
    arch = arch or ArchConfig()
    start = time.perf_counter()
    network = load_workload(workload, seed=seed)
    build = time.perf_counter() - start
    session = Session(network)
    for n_pes in pes:
        session.simulate(arch.replace(n_pes=n_pes))
    wall = time.perf_counter() - start
    phases = {"workload": build, **session.seconds}
    phases["other"] = wall - sum(phases.values())
    rows = [{"phase": name, "seconds": seconds, "share_pct": 100 * seconds / wall} for name, seconds in phases.items()]
    rows.append({"phase": "total", "seconds": wall, "share_pct": 100.0})
    return pd.DataFrame(rows)
