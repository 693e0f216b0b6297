"""`eie-sim bench`: engine wall time on the EIE paper layers against the simpy engine and a scipy SpMV.

Times are medians over repeats taken in one run (the machine is shared and noisy), so the ratios are the
figures to trust. Only the engine call is timed: workload generation and encoding are done beforehand.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.engine import get_engine
from eie_sim.formats.workloads import load_workload
from eie_sim.model.reference import fixed_matrix
from eie_sim.studies.simulate import layer_jobs
from eie_sim.support.progress import progress_bar


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bench(
    workload: str = "eie-paper",
    arch: ArchConfig | None = None,
    repeats: int = 5,
    simpy_repeats: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per layer and a "suite" row: median seconds per engine and SpMV, PE-cycles/s, speed ratios."""
    arch = arch or ArchConfig()
    fast, simpy = get_engine("fast"), get_engine("simpy")
    rows = []
    jobs = layer_jobs(load_workload(workload, seed=seed), arch)
    with progress_bar(total=len(jobs), desc="bench", unit="layer", enabled=progress) as bar:
        for layer, job in jobs:
            cycles = fast(job, arch).counts.cycles
            matrix = fixed_matrix(layer, job.codebook_q).astype(np.float32)
            vectors = job.inputs.astype(np.float32).T
            rows.append(
                {
                    "layer": layer.name,
                    "shape": f"{layer.rows}x{layer.cols}",
                    "cycles": cycles,
                    "fast_s": median_seconds(lambda: fast(job, arch), repeats),
                    "simpy_s": median_seconds(lambda: simpy(job, arch), simpy_repeats) if simpy_repeats else np.nan,
                    "spmv_s": median_seconds(lambda: matrix @ vectors, repeats),
                }
            )
            bar.update(1)
    frame = pd.DataFrame(rows)
    suite = frame[["cycles", "fast_s", "simpy_s", "spmv_s"]].sum(min_count=1)
    frame = pd.concat([frame, pd.DataFrame([{"layer": "suite", "shape": "", **suite.to_dict()}])], ignore_index=True)
    frame["pe_cycles_per_s"] = frame["cycles"] * arch.n_pes / frame["fast_s"]
    frame["simpy_over_fast"] = frame["simpy_s"] / frame["fast_s"]
    frame["fast_over_spmv"] = frame["fast_s"] / frame["spmv_s"]
    return frame
