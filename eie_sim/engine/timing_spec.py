"""The timing rules and counters of eie-sim, one small function per rule, in plain Python loops.

The executable definition both engines are held to: slow and literal, one event at a time, so that it can be read
next to docs/timing.md and checked by hand. `layer_counts` returns the same LayerCounts as the engines;
the differential tests demand all three agree exactly.

A run is one input vector times one output tile; runs follow one another, each from empty queues, idle PEs and a
cleared line register. Cycles are numbered from 0 within a run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine.job import PIPELINE_DRAIN, LayerCounts, LayerJob


def lnzd_steps(x: np.ndarray, n_pes: int) -> list[int | None]:
    """The LNZD tree's steps over one input vector, one a cycle at best: the input vector is a sequence of register
    rows of `n_pes` activations; a row takes one step per non-zero (its column, in index order), or one step (None)
    when it holds no non-zero."""
    steps: list[int | None] = []
    for first in range(0, len(x), n_pes):
        nonzeros = [j for j in range(first, min(first + n_pes, len(x))) if x[j] != 0]
        steps.extend(nonzeros or [None])
    return steps


def queue_room(pops: list[list[int]], depth: int) -> int:
    """First cycle in which every PE's queue has room for the next broadcast: a queue holds `depth` entries, an
    entry holds its slot from its broadcast until its pop, and a slot freed in a cycle is refilled in that cycle.
    So broadcast t waits for every PE's pop of broadcast t - depth. `pops` holds the pops of the broadcasts so far."""
    t = len(pops)
    return max(pops[t - depth]) if t >= depth else 0


def step_cycle(previous: int, room: int) -> int:
    """Cycle of an LNZD step: one after the previous step, and not before its broadcast finds room (room 0 for a
    register row without non-zeros)."""
    return max(previous + 1, room)


def pop_cycle(broadcast: int, latency: int, finish: int) -> int:
    """Cycle a PE starts a slice: `latency` cycles after its broadcast entered the queue, and not before the PE has
    finished its previous slice."""
    return max(broadcast + latency, finish)


def slice_cycles(entries: int) -> int:
    """Cycles a PE spends on a column slice: one per entry (fillers included); an empty slice still takes one."""
    return max(1, entries)


def run_cycles(last_step: int, finishes: list[int]) -> int:
    """Cycles of a run: until the LNZD's last step is over and every PE has issued its last entry, then the
    arithmetic pipeline drains that entry. (A PE finishes a slice no earlier than its broadcast plus the latency,
    so the latency of the last broadcast is inside `finishes`.)"""
    return max(last_step + 1, max(finishes, default=0)) + PIPELINE_DRAIN


def spmat_word_reads(
    start: int, end: int, entries_per_word: int, line: int | None, mode: str
) -> tuple[int, int | None]:
    """Sparse-matrix SRAM reads of the slice at entry addresses [start, end), and the line register after it.

    The slice's entries stream word by word; a word is read unless it is the one in the line register (the last
    word this PE read in this run). With `mode` "per-slice" the register is cleared before every slice, so a slice
    reads every word it spans. An empty slice reads nothing and leaves the register as it was.
    """
    if mode == "per-slice":
        line = None
    reads = 0
    for address in range(start, end):
        word = address // entries_per_word
        if word != line:
            reads += 1
            line = word
    return reads, line


def pointer_reads() -> int:
    """Pointer SRAM reads per column slice: p[j] and p[j + 1], one read in each of the two banks."""
    return 2


def source_read(column: int, n_pes: int, rf_entries: int) -> str:
    """Where the LNZD reads input activation `column` (once per run): PE `column mod N`, slot `column div N`, in
    the source register file ("rf") below `rf_entries`, else in the activation SRAM ("act_sram")."""
    return "rf" if column // n_pes < rf_entries else "act_sram"


def output_write(n_tiles: int) -> str:
    """Where a finished output row is written: the register file when the layer has one tile (it is the next
    layer's source), else the activation SRAM."""
    return "rf" if n_tiles == 1 else "act_sram"


def layer_counts(job: LayerJob, arch: ArchConfig) -> LayerCounts:
    """Every counter of one layer over all its input vectors and output tiles, event by event."""
    n = job.enc.n_pes
    events: Counter[str] = Counter()
    busy, starved = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    cycles = 0
    for x in job.inputs:
        for tile in range(job.enc.n_tiles):
            _scan(job.enc, events)
            cycles += _broadcasts(job.enc, arch, x, tile, events, busy, starved)
            _finish_outputs(job.enc, tile, events)
    counters = [f.name for f in fields(LayerCounts) if f.name != "cycles" and not f.name.startswith("pe_")]
    return LayerCounts(
        cycles=cycles,
        **{name: events[name] for name in counters},
        pe_busy=busy,
        pe_starved=starved,
        pe_idle=cycles - busy - starved,
    )


def _scan(enc: EncodedLayer, events: Counter) -> None:
    """The LNZD reads every input activation once per run, a register row of N at a time."""
    for first in range(0, enc.cols, enc.n_pes):
        events["lnzd_rows"] += 1
        for column in range(first, min(first + enc.n_pes, enc.cols)):
            events[f"{source_read(column, enc.n_pes, enc.tile_rows)}_reads"] += 1


def _broadcasts(
    enc: EncodedLayer,
    arch: ArchConfig,
    x: np.ndarray,
    tile: int,
    events: Counter,
    busy: np.ndarray,
    starved: np.ndarray,
) -> int:
    """The LNZD steps and every PE's slices of one run: counts their events, adds the PEs' busy and starved cycles,
    and returns the run's cycles."""
    n = enc.n_pes
    finish = [0] * n
    line: list[int | None] = [None] * n  # each PE's line register
    pops: list[list[int]] = []
    cycle = -1
    for column in lnzd_steps(x, n):
        if column is None:
            cycle = step_cycle(cycle, 0)
            continue
        cycle = step_cycle(cycle, queue_room(pops, arch.fifo_depth))
        events["broadcasts"] += 1
        pops.append([])
        slot = tile * enc.cols + column
        for k in range(n):
            events["queue_pushes"] += 1
            pop = pop_cycle(cycle, arch.broadcast_latency_cycles, finish[k])
            pops[-1].append(pop)
            starved[k] += pop - finish[k]
            start, end = int(enc.ptr[k, slot]), int(enc.ptr[k, slot + 1])
            events["ptr_reads"] += pointer_reads()
            reads, line[k] = spmat_word_reads(start, end, enc.entries_per_word, line[k], arch.spmat_read_mode)
            events["spmat_reads"] += reads
            _entries(enc, k, start, end, events)
            busy[k] += slice_cycles(end - start)
            finish[k] = pop + slice_cycles(end - start)
    return run_cycles(cycle, finish)


def _entries(enc: EncodedLayer, k: int, start: int, end: int, events: Counter) -> None:
    """A slice's entries through the arithmetic unit: a codebook lookup each, and a read and a write of the
    destination accumulator in the register file; code 0 is a filler (no useful MAC)."""
    if start == end:
        events["empty_slices"] += 1
    for address in range(start, end):
        code = enc.codes[enc.pe_start[k] + address]
        events["codebook_lookups"] += 1
        events["filler_macs" if code == 0 else "useful_macs"] += 1
        events["rf_reads"] += 1
        events["rf_writes"] += 1


def _finish_outputs(enc: EncodedLayer, tile: int, events: Counter) -> None:
    """At the end of a run each output row of the tile is read from its accumulator and written back."""
    for k in range(enc.n_pes):
        local_rows = range(k, enc.rows, enc.n_pes)[tile * enc.tile_rows : (tile + 1) * enc.tile_rows]
        events["rf_reads"] += len(local_rows)
        events[f"{output_write(enc.n_tiles)}_writes"] += len(local_rows)
