"""The `fast` engine: the timing rules and counters of `timing_spec`, compiled (numba), exact to the cycle.

Every (input vector, output tile) pair is an independent run starting from empty queues. A run is the recurrence
of `timing_spec` written as one loop over the LNZD's steps, with the broadcast's PEs as the inner loop: a step
waits for queue room (the pops `fifo_depth` broadcasts earlier), then every PE pops it when its previous slice is
done. The inner loop over PEs has no branch, so it runs on vector instructions. Counters that do not depend on the
schedule are products of per-column totals with how often each column is broadcast.
"""

from __future__ import annotations

import numba
import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine.job import PIPELINE_DRAIN, LayerCounts, LayerJob, LayerRun, activation_storage_counts
from eie_sim.model import fixedpoint
from eie_sim.model.products import exact_product
from eie_sim.support.arithmetic import ceil_div


def simulate_layer(job: LayerJob, arch: ArchConfig, outputs: bool = True) -> LayerRun:
    """Run one layer on every input vector of `job` (the `fast` engine behind `get_engine`); `outputs` False
    leaves the products out when only timing and counts are wanted."""
    enc = job.enc
    nonzero = job.inputs != 0
    cycles, finished, shared = _runs(
        nonzero, enc.slice_cycles, enc.first_word, enc.last_word, arch.fifo_depth,
        arch.broadcast_latency_cycles, arch.spmat_read_mode == "line-register",
    )  # fmt: skip
    times = np.count_nonzero(nonzero, axis=0)
    counts = layer_counts(enc, len(nonzero), times, cycles, finished, shared, arch.rf_entries)
    return LayerRun(outputs=layer_outputs(job) if outputs else None, counts=counts)


@numba.njit(cache=True, nogil=True)
def _runs(nonzero, work, first_word, last_word, depth, latency, line_register):
    """Every run's schedule: (cycles summed over runs, (n_pes,) last finish summed over runs, sparse-matrix words
    shared through the line register).

    nonzero is (vectors, cols); work, first_word and last_word are (cols, n_tiles, n_pes): the cycles of each slice
    (max(1, entries)) and its first and last word (empty: -2, -1). Per `timing_spec`: a register row without
    non-zeros is one step; a non-zero's step is one after the previous and not before every queue has room;
    each PE pops a broadcast `latency` cycles after its step and not before finishing its previous slice. A PE's
    slices in a run come in column order, so its line register holds the largest last word so far.
    """
    vectors, cols = nonzero.shape
    n_tiles, n_pes = work.shape[1], work.shape[2]
    finish = np.zeros(n_pes, np.int64)
    finished = np.zeros(n_pes, np.int64)
    line = np.zeros(n_pes, np.int32)
    pops = np.zeros(depth, np.int64)  # a ring: the latest pop of each of the last `depth` broadcasts
    cycles = 0
    shared = 0
    for v in range(vectors):
        x = nonzero[v]
        for tile in range(n_tiles):
            finish[:] = 0
            line[:] = -1
            step = -1
            sent = 0
            for row in range(0, cols, n_pes):
                empty_row = True
                for col in range(row, min(row + n_pes, cols)):
                    if not x[col]:
                        continue
                    empty_row = False
                    room = pops[sent % depth] if sent >= depth else 0
                    step = max(step + 1, room)
                    arrival = step + latency
                    w, first, last = work[col, tile], first_word[col, tile], last_word[col, tile]
                    latest = 0
                    same = 0
                    for k in range(n_pes):
                        pop = max(arrival, finish[k])
                        finish[k] = pop + w[k]
                        latest = max(latest, pop)
                        same += first[k] == line[k]
                        line[k] = max(line[k], last[k])
                    pops[sent % depth] = latest
                    sent += 1
                    if line_register:
                        shared += same
                if empty_row:
                    step += 1
            end = step + 1
            for k in range(n_pes):
                end = max(end, finish[k])
                finished[k] += finish[k]
            cycles += end + PIPELINE_DRAIN
    return cycles, finished, shared


def layer_counts(
    enc: EncodedLayer, vectors: int, times: np.ndarray, cycles: int, finished: np.ndarray, shared: int, rf_entries: int
) -> LayerCounts:
    """Event counters: each column's totals (`EncodedLayer.column_totals`) weighted by `times`, the vectors that
    broadcast it; busy cycles likewise per PE; a PE's starvation is the rest of its finishes (a run's last finish
    is its busy plus starved cycles)."""
    lookups, fillers, spanned, empty = (int(total) for total in enc.column_totals @ times)
    broadcasts = int(times.sum()) * enc.n_tiles
    busy = np.einsum("jbk,j->k", enc.slice_cycles, times, dtype=np.int64)
    storage = activation_storage_counts(enc, vectors, rf_entries, lookups)
    return LayerCounts(
        cycles=cycles,
        broadcasts=broadcasts,
        lnzd_rows=vectors * enc.n_tiles * ceil_div(enc.cols, enc.n_pes),
        queue_pushes=broadcasts * enc.n_pes,
        ptr_reads=2 * broadcasts * enc.n_pes,
        spmat_reads=spanned - shared,
        codebook_lookups=lookups,
        useful_macs=lookups - fillers,
        filler_macs=fillers,
        empty_slices=empty,
        rf_reads=storage["rf_reads"],
        rf_writes=storage["rf_writes"],
        act_sram_reads=storage["act_sram_reads"],
        act_sram_writes=storage["act_sram_writes"],
        pe_busy=busy,
        pe_starved=finished - busy,
        pe_idle=cycles - finished,
    )


def layer_outputs(job: LayerJob) -> np.ndarray:
    """(vectors, rows) output activations from the encoded entries themselves (fillers add nothing and are left
    out): exact integer products, then finish."""
    row, col, codes = job.enc.real_entries
    shape = (job.enc.rows, job.enc.cols)
    acc = exact_product(shape, row, col, np.take(job.codebook_q, codes), job.inputs)
    return fixedpoint.finish(acc + job.bias_acc, job.shift, job.act_bits, job.relu)
