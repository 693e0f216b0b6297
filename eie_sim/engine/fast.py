"""The `fast` engine: the timing rules and counters of `timing_spec`, computed with numpy, exact to the cycle.

Every (input vector, output tile) pair is an independent run starting from empty queues. Within a run, the
broadcast/queue dynamics are a max-plus recurrence over the broadcast order. Written with running maxima
(see `solve_schedule`), a broadcast's queue room depends only on pops `fifo_depth` broadcasts earlier, so the
recurrence is solved a block of broadcasts at a time, for all runs and all PEs at once: blocks of `fifo_depth`
broadcasts in one pass, or, when the arrays are small, blocks of several depths refined to their fixed point.
Sparse-matrix reads with the line register are found on the same (run, broadcast, tile, PE) arrays (`spmat_reads`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine.job import PIPELINE_DRAIN, LayerCounts, LayerJob, LayerRun, activation_storage_counts
from eie_sim.model import fixedpoint
from eie_sim.model.products import exact_product
from eie_sim.support.arithmetic import ceil_div

# Cells per chunk of schedule work (run x broadcast x tile x PE): bounds memory.
_CHUNK_ELEMENTS = 1 << 22
# Below this many cells, np.maximum.accumulate's lower per-call cost beats a log-step scan.
_SCAN_CELLS = 1 << 13
# Cells a block of broadcasts aims at: below it, numpy's per-call cost dominates a block's work.
_BLOCK_CELLS = 1 << 11


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


def simulate_layer(job: LayerJob, arch: ArchConfig, outputs: bool = True) -> LayerRun:
    """Run one layer on every input vector of `job` (the `fast` engine behind `get_engine`); `outputs` False
    leaves the products out when only timing and counts are wanted."""
    order = broadcast_order(job.inputs != 0, job.enc.n_pes)
    length = np.take(job.enc.slice_len.transpose(2, 0, 1), order.sent, axis=0)  # (sent column, tile, PE)
    schedule = solve_schedule(order, length, arch.fifo_depth, arch.broadcast_latency_cycles)
    words = spmat_reads(job.enc, order, arch.spmat_read_mode)
    counts = layer_counts(job.enc, order, schedule, words, arch.rf_entries)
    return LayerRun(outputs=layer_outputs(job) if outputs else None, counts=counts)


def broadcast_order(nonzero: np.ndarray, n_pes: int) -> BroadcastOrder:
    """Where each non-zero falls in the LNZD scan: register rows of `n_pes` activations, an empty row one step."""
    vectors, cols = nonzero.shape
    n_rows = ceil_div(cols, n_pes)
    padded = np.zeros((vectors, n_rows * n_pes), dtype=bool)
    padded[:, :cols] = nonzero
    empty = ~padded.reshape(vectors, n_rows, n_pes).any(axis=2)
    empty_before: np.ndarray = np.cumsum(empty, axis=1) - empty
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


def solve_schedule(order: BroadcastOrder, length: np.ndarray, depth: int, latency: int) -> Schedule:
    """Solve the step/room/pop/finish recurrence of `timing_spec` for every run, a block of broadcasts at a time.

    With g the LNZD step of each non-zero, L the broadcast latency and C[k, t] the cycles PE k spends on the
    broadcasts before t:
      bcast[t] = g[t] + delta[t],   delta[t] = max(0, max over u <= t of room[u] - g[u])
      pop[k, t] = C[k, t] + p[k, t],   p[k, t] = max(0, max over u <= t of bcast[u] + L - C[k, u])
      room[t] = max over k of pop[k, t - depth]
    p[k, t] is PE k's starvation up to t, so the last p is its starved total, its last finish is p + C (all its
    busy cycles), and the last step is at steps - 1 + the last delta. Given a block's rooms, both running maxima
    are closed forms (`_solve_chunk` says where the rooms come from). Runs are sorted by length (longest first), so
    the runs still going are a prefix, and are taken in chunks to bound memory. `length` holds the entries of
    each (sent column, tile, PE) slice.
    """
    n_tiles, n_pes = length.shape[1:]
    most = order.slot.shape[1]
    bound = int(order.steps.max(initial=0)) + most * (int(length.max(initial=1)) + 1 + latency)  # no run lasts longer
    dtype = next(t for t in (np.int16, np.int32, np.int64) if bound <= np.iinfo(t).max)
    work = np.maximum(length, 1).astype(dtype)  # w of each slice

    cycles = n_tiles * int((order.steps[order.count == 0] + PIPELINE_DRAIN).sum())
    busy = np.zeros(n_pes, dtype=np.int64)
    starved = np.zeros(n_pes, dtype=np.int64)
    for runs in _run_chunks(order, n_tiles * n_pes):
        chunk = _solve_chunk(order, runs, work, depth, latency)
        cycles += chunk.cycles
        busy += chunk.pe_busy
        starved += chunk.pe_starved
    return Schedule(cycles=cycles, pe_busy=busy, pe_starved=starved)


def _run_chunks(order: BroadcastOrder, cells_per_broadcast: int) -> Iterator[slice]:
    """The runs with at least one broadcast, longest first, in slices of about `_CHUNK_ELEMENTS` cells of
    (run, broadcast) x `cells_per_broadcast`."""
    lo, going = 0, int(np.count_nonzero(order.count))
    while lo < going:
        longest = int(order.count[lo])
        hi = min(going, lo + max(1, _CHUNK_ELEMENTS // (longest * cells_per_broadcast)))
        yield slice(lo, hi)
        lo = hi


def _solve_chunk(order: BroadcastOrder, runs: slice, work: np.ndarray, depth: int, latency: int) -> Schedule:
    """The schedule of some runs, all with at least one broadcast; arrays are (run, broadcast, tile, PE).

    Index t + 1 of `lag` and `starve` holds delta and p of broadcast t, and of `spent` the cycles spent on
    broadcasts 0..t; index 0 is the zero start.

    Small arrays make a block of `depth` broadcasts mostly numpy call overhead, so blocks then span several
    depths. Only the first `depth` rooms of such a block are known from the block before; the others start from
    a lower bound (pops with no starvation beyond the block's start) and are refined by rerunning the block with
    the rooms its own pops give. The recurrence is monotone and causal, so every pass is a lower bound, exact
    for one more depth than the pass before, and a pass whose rooms change no delta is the solution.
    """
    count, steps, slot = order.count[runs], order.steps[runs], order.slot[runs]
    most = int(count[0])
    g = order.step[runs, :most, None, None].astype(work.dtype)
    n, n_tiles, n_pes = count.size, work.shape[1], work.shape[2]
    spent = np.zeros((n, most + 1, n_tiles, n_pes), dtype=work.dtype)
    np.cumsum(np.take(work, slot[:, :most], axis=0), axis=1, out=spent[:, 1:])
    lead = g + latency - spent[:, :-1]  # bcast + L - C when delta is 0
    starve = np.zeros_like(spent)
    lag = np.zeros((n, most + 1, n_tiles, 1), dtype=work.dtype)
    span = depth * max(1, _BLOCK_CELLS // (n * depth * n_tiles * n_pes))  # broadcasts per block
    going = np.searchsorted(-count, -np.arange(0, most, span), side="left")
    valid = (np.arange(most) < count[:, None])[:, :, None, None]  # False on a run's padding past its count

    room = np.zeros((n, span, n_tiles, 1), dtype=work.dtype)
    for lo, active in zip(range(0, most, span), going):
        hi = min(lo + span, most)
        inner = hi - lo - depth  # broadcasts whose rooms come from this block's own pops
        delta, p = lag[:active, lo : hi + 1], starve[:active, lo : hi + 1]  # position 0: the carry from before
        rooms = room[:active, : hi - lo]
        if inner > 0:
            np.max(spent[:active, lo : lo + inner] + p[:, :1], axis=3, keepdims=True, out=rooms[:, depth:])
        for _ in range(0, hi - lo, depth):
            np.subtract(rooms, g[:active, lo:hi], out=delta[:, 1:])
            _running_max(delta)
            np.add(lead[:active, lo:hi], delta[:, 1:], out=p[:, 1:])
            _running_max(p)
            pops = (p[:, 1:] + spent[:active, lo:hi]).max(axis=3, keepdims=True)
            if inner <= 0:
                break
            stalls = pops[:, :inner] - g[:active, lo + depth : hi] > delta[:, depth + 1 :]
            if not np.any(stalls & valid[:active, lo + depth : hi]):
                break
            rooms[:, depth:] = pops[:, :inner]
        if hi < most:
            room[:active, :depth] = pops[:, hi - lo - depth :]

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


def _running_max(block: np.ndarray) -> None:
    """In place along axis 1: block[:, i] = max(block[:, :i + 1]).

    np.maximum.accumulate runs a scalar loop along the axis; on large blocks log2(length) whole-array maxima
    (numpy buffers each step's overlapping operands) are several times faster.
    """
    if block.size < _SCAN_CELLS:
        np.maximum.accumulate(block, axis=1, out=block)
        return
    shift = 1
    while shift < block.shape[1]:
        np.maximum(block[:, shift:], block[:, :-shift], out=block[:, shift:])
        shift *= 2


def spmat_reads(enc: EncodedLayer, order: BroadcastOrder, mode: str) -> int:
    """Sparse-matrix SRAM word reads over all runs (`timing_spec.spmat_word_reads`).

    Every sent slice reads the words it spans (per-column totals, `EncodedLayer.column_totals`, weighted by how
    often each column is broadcast), less, with the line register, one for each slice whose first word is the last
    word of the PE's previous non-empty slice in the run. A run broadcasts its columns in increasing order and a
    PE's slices lie in its SRAM in column order, so that previous slice ends in the largest last word of the
    earlier broadcasts: a running maximum over the (run, broadcast, tile, PE) array.
    """
    spanned = int(enc.column_totals[2, order.sent] @ order.times)
    if mode == "per-slice":
        return spanned
    first_word, last_word = enc.slice_line_words
    last_word = np.take(last_word, order.sent, axis=0)  # (sent column, tile, PE)
    first_word = np.concatenate([np.take(first_word, order.sent, axis=0), np.full_like(first_word[:1], -2)])
    shared = 0
    for runs in _run_chunks(order, enc.n_tiles * enc.n_pes):
        count, slot = order.count[runs], order.slot[runs]
        most = int(count[0])
        last = np.take(last_word, slot[:, : most - 1], axis=0)
        _running_max(last)
        following = np.where(np.arange(1, most) < count[:, None], slot[:, 1:most], order.sent.size)  # padding: -2
        shared += int(np.count_nonzero(np.take(first_word, following, axis=0) == last))
    return spanned - shared


def layer_counts(
    enc: EncodedLayer, order: BroadcastOrder, schedule: Schedule, spmat_words: int, rf_entries: int
) -> LayerCounts:
    """Event counters: each sent column's per-column totals (`EncodedLayer.column_totals`), weighted by how often
    the column is broadcast; sparse-matrix reads from `spmat_reads`."""
    vectors = order.count.size
    lookups, fillers, _, empty = (int(total) for total in enc.column_totals[:, order.sent] @ order.times)
    broadcasts = int(order.times.sum()) * enc.n_tiles
    storage = activation_storage_counts(enc, vectors, rf_entries, lookups)
    return LayerCounts(
        cycles=schedule.cycles,
        broadcasts=broadcasts,
        lnzd_rows=vectors * enc.n_tiles * ceil_div(enc.cols, enc.n_pes),
        queue_pushes=broadcasts * enc.n_pes,
        ptr_reads=2 * broadcasts * enc.n_pes,
        spmat_reads=spmat_words,
        codebook_lookups=lookups,
        useful_macs=lookups - fillers,
        filler_macs=fillers,
        empty_slices=empty,
        rf_reads=storage["rf_reads"],
        rf_writes=storage["rf_writes"],
        act_sram_reads=storage["act_sram_reads"],
        act_sram_writes=storage["act_sram_writes"],
        pe_busy=schedule.pe_busy,
        pe_starved=schedule.pe_starved,
        pe_idle=schedule.cycles - schedule.pe_busy - schedule.pe_starved,
    )


def layer_outputs(job: LayerJob) -> np.ndarray:
    """(vectors, rows) output activations from the encoded entries themselves (fillers add nothing and are left
    out): exact integer products, then finish."""
    row, col, codes = job.enc.real_entries
    shape = (job.enc.rows, job.enc.cols)
    acc = exact_product(shape, row, col, np.take(job.codebook_q, codes), job.inputs)
    return fixedpoint.finish(acc + job.bias_acc, job.shift, job.act_bits, job.relu)
