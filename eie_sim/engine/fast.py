"""The `fast` engine: the README's timing model and counters computed with numpy, exact to the cycle.

Every (input vector, output tile) pair is an independent run starting from empty queues. Within a run, the
broadcast/queue dynamics are a max-plus recurrence over the broadcast order. Written with running maxima
(see `solve_schedule`), a broadcast's queue room depends only on pops `fifo_depth` broadcasts earlier, so the
recurrence is solved one block of `fifo_depth` broadcasts at a time, for all runs and all PEs at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import fixedpoint
from ..arch import ArchConfig
from ..compress.encode import EncodedLayer
from .counts import PIPELINE_DRAIN, LayerCounts, LayerJob, LayerRun, activation_storage_counts

# Cells per chunk of work (schedule: run x broadcast x tile x PE; outputs: repeated inputs): bounds memory.
_CHUNK_ELEMENTS = 1 << 22
# Below this many cells per block, np.maximum.accumulate's lower per-call cost beats a log-step scan.
_SCAN_CELLS = 1 << 13


@dataclass(frozen=True)
class BroadcastOrder:
    """The non-zero activations of each input vector in LNZD order; vectors sorted by non-zeros, most first."""

    sent: np.ndarray  # (columns sent,) input columns non-zero in at least one vector
    times: np.ndarray  # (columns sent,) vectors in which each sent column is non-zero
    slot: np.ndarray  # (vectors, most non-zeros) index into `sent` of each non-zero's column, padded with 0
    step: np.ndarray  # (vectors, most non-zeros) LNZD step that broadcasts each non-zero
    count: np.ndarray  # (vectors,) non-zeros, in decreasing order
    steps: np.ndarray  # (vectors,) LNZD steps in all: one per non-zero plus one per empty register row


@dataclass(frozen=True)
class Schedule:
    """Timing summed over all runs."""

    cycles: int
    pe_busy: np.ndarray  # (n_pes,)
    pe_starved: np.ndarray  # (n_pes,)


def simulate_layer(job: LayerJob, arch: ArchConfig) -> LayerRun:
    """Run one layer on every input vector of `job` (the `fast` engine behind `get_engine`)."""
    order = broadcast_order(job.inputs != 0, job.enc.n_pes)
    length = np.take(job.enc.slice_len, order.sent, axis=2)  # (tile, PE, sent column) entries per slice
    schedule = solve_schedule(order, length, arch.fifo_depth)
    counts = layer_counts(job.enc, order, length, schedule, arch.rf_entries)
    return LayerRun(outputs=layer_outputs(job, order.sent), counts=counts)


def broadcast_order(nonzero: np.ndarray, n_pes: int) -> BroadcastOrder:
    """Where each non-zero falls in the LNZD scan: register rows of `n_pes` activations, an empty row one step."""
    vectors, cols = nonzero.shape
    n_rows = -(-cols // n_pes)
    padded = np.zeros((vectors, n_rows * n_pes), dtype=bool)
    padded[:, :cols] = nonzero
    empty = ~padded.reshape(vectors, n_rows, n_pes).any(axis=2)
    empty_before = np.cumsum(empty, axis=1) - empty
    count = np.count_nonzero(nonzero, axis=1)
    steps = count + np.count_nonzero(empty, axis=1)

    rank = np.argsort(-count, kind="stable")
    count, steps, empty_before = count[rank], steps[rank], empty_before[rank]
    vec, col = np.nonzero(nonzero[rank])
    first = np.cumsum(count) - count
    t = np.arange(vec.size) - np.repeat(first, count)
    sent = np.flatnonzero(nonzero.any(axis=0))
    position = np.zeros(cols, dtype=np.intp)
    position[sent] = np.arange(sent.size)
    most = int(count[0]) if vectors else 0
    slot = np.zeros((vectors, most), dtype=np.intp)
    step = np.zeros((vectors, most), dtype=np.int64)
    slot[vec, t] = position[col]
    step[vec, t] = t + empty_before[vec, col // n_pes]
    times = np.count_nonzero(nonzero, axis=0)[sent]
    return BroadcastOrder(sent=sent, times=times, slot=slot, step=step, count=count, steps=steps)


def solve_schedule(order: BroadcastOrder, length: np.ndarray, depth: int) -> Schedule:
    """Solve the README's tau/room/bcast/pop/finish recurrence for every run, `depth` broadcasts at a time.

    With g the LNZD step of each non-zero and C[k, t] the cycles PE k spends on the broadcasts before t:
      bcast[t] = g[t] + delta[t],   delta[t] = max(0, max over u <= t of room[u] - g[u])
      pop[k, t] = C[k, t] + p[k, t],   p[k, t] = max(0, max over u <= t of bcast[u] - C[k, u])
      room[t] = max over k of pop[k, t - depth]
    p[k, t] is PE k's starvation up to t, so the last p is its starved total, its last finish is p + C (all its
    busy cycles), and the last tau is steps - 1 + the last delta. A block's rooms come from the previous block's
    pops; inside a block both running maxima are closed forms. Runs are sorted by length (longest first), so the
    runs still going are a prefix, and are taken in chunks to bound memory. `length` holds the entries of each
    (tile, PE, sent column) slice.
    """
    n_tiles, n_pes = length.shape[:2]
    most = order.slot.shape[1]
    bound = int(order.steps.max(initial=0)) + most * (int(length.max(initial=1)) + 1)  # no run lasts longer
    dtype = next(t for t in (np.int16, np.int32, np.int64) if bound <= np.iinfo(t).max)
    work = np.maximum(length, 1).transpose(2, 0, 1).astype(dtype)  # (sent column, tile, PE): w of each slice

    cycles = n_tiles * int((order.steps[order.count == 0] + PIPELINE_DRAIN).sum())
    busy = np.zeros(n_pes, dtype=np.int64)
    starved = np.zeros(n_pes, dtype=np.int64)
    lo, going = 0, int(np.count_nonzero(order.count))
    while lo < going:
        longest = int(order.count[lo])
        hi = min(going, lo + max(1, _CHUNK_ELEMENTS // (longest * n_tiles * n_pes)))
        chunk = _solve_chunk(order, slice(lo, hi), work, depth)
        cycles += chunk.cycles
        busy += chunk.pe_busy
        starved += chunk.pe_starved
        lo = hi
    return Schedule(cycles=cycles, pe_busy=busy, pe_starved=starved)


def _solve_chunk(order: BroadcastOrder, runs: slice, work: np.ndarray, depth: int) -> Schedule:
    """The schedule of some runs, all with at least one broadcast; arrays are (run, broadcast, tile, PE).

    Index t + 1 of `lag` and `starve` holds delta and p of broadcast t, and of `spent` the cycles spent on
    broadcasts 0..t; index 0 is the zero start.
    """
    count, steps, slot = order.count[runs], order.steps[runs], order.slot[runs]
    most = int(count[0])
    g = order.step[runs, :most, None, None].astype(work.dtype)
    n, n_tiles, n_pes = count.size, work.shape[1], work.shape[2]
    spent = np.zeros((n, most + 1, n_tiles, n_pes), dtype=work.dtype)
    np.cumsum(np.take(work, slot[:, :most], axis=0), axis=1, out=spent[:, 1:])
    lead = g - spent[:, :-1]  # bcast - C when delta is 0
    starve = np.zeros_like(spent)
    lag = np.zeros((n, most + 1, n_tiles, 1), dtype=work.dtype)
    going = np.searchsorted(-count, -np.arange(0, most, depth), side="left")
    running_max = _log_step_max if n * depth * n_tiles * n_pes >= _SCAN_CELLS else _accumulate_max

    room = np.zeros((n, depth, n_tiles, 1), dtype=work.dtype)
    for lo, active in zip(range(0, most, depth), going):
        hi = min(lo + depth, most)
        delta, p = lag[:active, lo : hi + 1], starve[:active, lo : hi + 1]  # position 0: the carry from before
        np.subtract(room[:active, : hi - lo], g[:active, lo:hi], out=delta[:, 1:])
        running_max(delta)
        np.add(lead[:active, lo:hi], delta[:, 1:], out=p[:, 1:])
        running_max(p)
        room = (p[:, 1:] + spent[:active, lo:hi]).max(axis=3, keepdims=True)

    run = np.arange(n)
    run_busy = spent[run, count].astype(np.int64)
    run_starved = starve[run, count].astype(np.int64)
    finish = (run_busy + run_starved).max(axis=2)
    lnzd_end = steps[:, None] + lag[run, count, :, 0]
    return Schedule(
        cycles=int((np.maximum(lnzd_end, finish) + PIPELINE_DRAIN).sum()),
        pe_busy=run_busy.sum(axis=(0, 1)),
        pe_starved=run_starved.sum(axis=(0, 1)),
    )


def _accumulate_max(block: np.ndarray) -> None:
    """In place along axis 1: block[:, i] = max(block[:, :i + 1])."""
    np.maximum.accumulate(block, axis=1, out=block)


def _log_step_max(block: np.ndarray) -> None:
    """As _accumulate_max, by log2(length) whole-array maxima (numpy buffers each step's overlapping operands):
    several times faster on large blocks, where np.maximum.accumulate runs a scalar loop along the axis."""
    shift = 1
    while shift < block.shape[1]:
        np.maximum(block[:, shift:], block[:, :-shift], out=block[:, shift:])
        shift *= 2


def layer_counts(
    enc: EncodedLayer, order: BroadcastOrder, length: np.ndarray, schedule: Schedule, rf_entries: int
) -> LayerCounts:
    """Event counters: each sent column's slices, summed per column and weighted by how often it is broadcast.
    `length` holds the entries of each (tile, PE, sent column) slice."""
    vectors = order.count.size

    def per_broadcast(per_sent_slice: np.ndarray) -> int:
        return int(order.times @ per_sent_slice.sum(axis=(0, 1), dtype=np.int64))

    broadcasts = int(order.times.sum()) * enc.n_tiles
    lookups = per_broadcast(length)
    fillers = per_broadcast(np.take(enc.slice_fillers, order.sent, axis=2))
    storage = activation_storage_counts(enc, vectors, rf_entries, lookups)
    return LayerCounts(
        cycles=schedule.cycles,
        broadcasts=broadcasts,
        lnzd_rows=vectors * enc.n_tiles * -(-enc.cols // enc.n_pes),
        queue_pushes=broadcasts * enc.n_pes,
        ptr_reads=2 * broadcasts * enc.n_pes,
        spmat_reads=per_broadcast(np.take(enc.slice_words, order.sent, axis=2)),
        codebook_lookups=lookups,
        useful_macs=lookups - fillers,
        filler_macs=fillers,
        empty_slices=per_broadcast(length == 0),
        rf_reads=storage["rf_reads"],
        rf_writes=storage["rf_writes"],
        act_sram_reads=storage["act_sram_reads"],
        act_sram_writes=storage["act_sram_writes"],
        pe_busy=schedule.pe_busy,
        pe_starved=schedule.pe_starved,
        pe_idle=schedule.cycles - schedule.pe_busy - schedule.pe_starved,
    )


def layer_outputs(job: LayerJob, sent: np.ndarray) -> np.ndarray:
    """(vectors, rows) output activations from the encoded entries of the `sent` columns (those non-zero in some
    vector): exact int64 accumulation, then finish."""
    enc = job.enc
    weights = broadcast_slices(enc, job.codebook_q, sent)
    vectors = job.inputs.shape[0]
    acc = np.empty((vectors, enc.rows), dtype=np.int64)
    copies = enc.n_pes * enc.n_tiles
    per_chunk = max(1, _CHUNK_ELEMENTS // max(1, copies * sent.size))
    for lo in range(0, vectors, per_chunk):
        x = job.inputs[lo : lo + per_chunk, sent].T.astype(np.int64)
        acc[lo : lo + per_chunk] = (weights @ np.tile(x, (copies, 1))).T
    return fixedpoint.finish(acc + job.bias_acc, job.shift, job.act_bits, job.relu)


def broadcast_slices(enc: EncodedLayer, codebook_q: np.ndarray, sent: np.ndarray) -> sp.csc_matrix:
    """The slices of the broadcast columns, one matrix column per (PE, tile, column) as the PEs store them.

    Reading the entries in storage order keeps the gathers sequential; the product with the inputs repeated
    once per (PE, tile) adds each slice into its PE's rows.
    """
    column = (np.arange(enc.n_tiles)[:, None] * enc.cols + sent).ravel()
    first = np.take(enc.ptr, column, axis=1)
    length = (np.take(enc.ptr, column + 1, axis=1) - first).ravel()
    first = (first + enc.pe_start[:-1, None]).ravel()
    stored = length > 0
    entry = _ranges(first[stored], length[stored])
    weight = codebook_q.astype(np.int64)
    weight[0] = 0  # code 0 means 0: fillers add nothing
    index = np.int32 if entry.size < 2**31 else np.int64  # scipy's own index type: no conversion pass
    # every index is in range; mode="clip" only skips numpy's bounds-checking pass
    data = np.take(weight, np.take(enc.codes, entry, mode="clip"), mode="clip")
    rows = np.take(enc.entry_row, entry, mode="clip").astype(index)
    pointers = np.concatenate([[0], np.cumsum(length)]).astype(index)
    return sp.csc_matrix((data, rows, pointers), shape=(enc.rows, length.size))


def _ranges(first: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Concatenated arange(first[i], first[i] + length[i]) for positive lengths: one cumsum of unit steps."""
    if first.size == 0:
        return np.zeros(0, dtype=np.intp)
    ends = np.cumsum(length)
    jump = np.ones(int(ends[-1]), dtype=np.intp)
    jump[0] = first[0]
    jump[ends[:-1]] = first[1:] - first[:-1] - length[:-1] + 1
    return np.cumsum(jump)
