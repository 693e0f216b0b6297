"""Tiny layers whose timing is worked out by hand from the timing rules (`eie_sim.engine.timing_spec`), checked
on every engine and on the rules themselves.

Notation: N = 2 PEs; PE k holds rows i with i mod 2 == k as local row i // 2. len[k, j] is the length of column j's
slice in PE k (fillers included) and w = max(1, len). Steps follow the LNZD: one per non-zero of a register row
(2 activations), one for an empty row. tau = step cycle, bcast[t] = tau of non-zero t, D = queue depth,
L = broadcast latency, pop/fin per PE:
    tau[s] = max(tau[s-1] + 1, room),  room = max_k pop[k, t-D] (0 if t < D or an empty-row step)
    pop[k, t] = max(bcast[t] + L, fin[k, t-1]),  fin[k, t] = pop[k, t] + w[k, t]
    tile = max(tau[last] + 1, max_k fin[k, last]) + 3
Sparse-matrix words: "per-slice", a slice reads every word it spans; "line-register", a PE does not read again the
last word it read in the run (vector and tile). By default code c has weight c, so outputs are small integers;
every engine's outputs are checked against the reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from layer_job import make_job

from eie_sim.arch import ArchConfig
from eie_sim.engine import ENGINES, timing_spec
from eie_sim.engine.job import LayerCounts, LayerJob
from eie_sim.model.network import Layer
from eie_sim.model.reference import reference_layer


@pytest.fixture(params=[*sorted(ENGINES), "timing_spec"])
def simulate(request) -> Callable[[LayerJob, Layer, ArchConfig], LayerCounts]:
    """The counts of each engine (its outputs checked against the reference) and of the timing rules."""
    if request.param == "timing_spec":
        return lambda job, layer, arch: timing_spec.layer_counts(job, arch)
    engine = pytest.importorskip(ENGINES[request.param]).simulate_layer

    def counts(job: LayerJob, layer: Layer, arch: ArchConfig) -> LayerCounts:
        run = engine(job, arch)
        np.testing.assert_array_equal(run.outputs, reference_layer(job, layer))
        return run.counts

    return counts


def run_case(simulate, codes, inputs, arch, **job_args) -> LayerCounts:
    layer, job = make_job(np.array(codes), inputs, arch, **job_args)
    return simulate(job, layer, arch)


def check(c: LayerCounts, busy, starved, idle, **counters) -> None:
    for name, expected in counters.items():
        assert getattr(c, name) == expected, name
    np.testing.assert_array_equal(c.pe_busy, busy)
    np.testing.assert_array_equal(c.pe_starved, starved)
    np.testing.assert_array_equal(c.pe_idle, idle)


@pytest.mark.parametrize("mode", ["per-slice", "line-register"])
def test_empty_slices_and_empty_register_row(simulate, mode):
    # x = [0, 5 | 0, 0 | 7, 0]: register rows (x0,x1), (x2,x3), (x4,x5).
    # Steps: s0 = non-zero t0 (column 1), s1 = empty row, s2 = t1 (column 4).
    codes = [
        [1, 0, 0, 0, 2, 0],  # row 0: PE0 local 0
        [0, 3, 0, 0, 0, 0],  # row 1: PE1 local 0
        [0, 0, 0, 4, 5, 0],  # row 2: PE0 local 1
        [0, 6, 7, 0, 0, 0],  # row 3: PE1 local 1
    ]
    # len[0, 1] = 0 (empty, w 1), len[0, 4] = 2; len[1, 1] = 2, len[1, 4] = 0 (empty, w 1).
    # s0: tau 0 = bcast0.  PE0 pop 0 fin 1;  PE1 pop 0 fin 2.
    # s1: tau 1 (empty row).
    # s2: t1 < D: tau = max(2, 0) = 2 = bcast1.  PE0 pop max(2, 1) = 2 (starved 1) fin 4;  PE1 pop max(2, 2) = 2 fin 3.
    # tile = max(2 + 1, 4) + 3 = 7.  PE0 busy 1 + 2 = 3, starved 1, idle 3;  PE1 busy 2 + 1 = 3, starved 0, idle 4.
    # Sparse-matrix words (8 entries a word): PE0 column 4 at addresses 2-3, PE1 column 1 at 0-1: one word each,
    # in either mode (each PE reads one non-empty slice).
    # Register files: 4 MACs read+write; the LNZD reads 6 inputs; 4 outputs read and written back (one tile).
    arch = ArchConfig(n_pes=2, fifo_depth=2, broadcast_latency_cycles=0, spmat_read_mode=mode)
    run = run_case(simulate, codes, [0, 5, 0, 0, 7, 0], arch)
    check(
        run,
        busy=[3, 3],
        starved=[1, 0],
        idle=[3, 4],
        cycles=7,
        broadcasts=2,
        lnzd_rows=3,
        queue_pushes=4,
        ptr_reads=8,
        spmat_reads=2,
        codebook_lookups=4,
        useful_macs=4,
        filler_macs=0,
        empty_slices=2,
        rf_reads=4 + 6 + 4,
        rf_writes=4 + 4,
        act_sram_reads=0,
        act_sram_writes=0,
    )


@pytest.mark.parametrize("mode, spmat_reads", [("per-slice", 4), ("line-register", 2)])
def test_fillers(simulate, mode, spmat_reads):
    # 70 rows: each PE has local rows 0..34 (one tile of up to 64). Two columns, x = [3, -2]: one register row.
    codes = np.zeros((70, 2), dtype=int)
    codes[[0, 34], 0] = [1, 2]  # PE0 local 0 and 17: a gap of 16 zeros -> entries (1, z0), (filler, z15), (2, z0)
    codes[33, 0] = 3  # PE1 local 16: 16 zeros before -> (filler, z15), (3, z0)
    codes[10, 1] = 4  # PE0 local 5 -> (4, z5)
    codes[[1, 67], 1] = [5, 6]  # PE1 local 0 and 33: gap 32 -> (5, z0), (filler, z15), (filler, z15), (6, z0)
    # len[0] = [3, 1], len[1] = [2, 4].
    # t0: tau 0.  PE0 pop 0 fin 3;  PE1 pop 0 fin 2.
    # t1: tau 1.  PE0 pop max(1, 3) = 3 fin 4;  PE1 pop max(1, 2) = 2 fin 6.
    # tile = max(1 + 1, 6) + 3 = 9.  PE0 busy 4, idle 5;  PE1 busy 6, idle 3; nobody starves.
    # 10 entries, 4 of them fillers. Words: PE0 addresses 0-2 and 3, PE1 0-1 and 2-5: one word per slice, 4 reads
    # per-slice; with the line register each PE's second slice lies in the word its first one read: 2 reads.
    arch = ArchConfig(n_pes=2, fifo_depth=2, broadcast_latency_cycles=0, spmat_read_mode=mode)
    run = run_case(simulate, codes, [3, -2], arch)
    check(
        run,
        busy=[4, 6],
        starved=[0, 0],
        idle=[5, 3],
        cycles=9,
        broadcasts=2,
        lnzd_rows=1,
        queue_pushes=4,
        ptr_reads=8,
        spmat_reads=spmat_reads,
        codebook_lookups=10,
        useful_macs=6,
        filler_macs=4,
        empty_slices=0,
        rf_reads=10 + 2 + 70,
        rf_writes=10 + 70,
    )


# PE0 (rows 0, 2, 4, 6): len = [4, 1, 1, 1];  PE1 (rows 1, 3, 5, 7): len = [1, 1, 1, 3].
STALL_CODES = [
    [1, 2, 0, 0],
    [3, 0, 0, 4],
    [5, 0, 6, 0],
    [0, 7, 0, 8],
    [9, 0, 0, 1],
    [0, 0, 2, 0],
    [3, 0, 0, 0],
    [0, 0, 0, 4],
]
STALL_INPUTS = [[1, 2, 3, 4], [0, 0, 0, 5]]  # two vectors: 4 non-zeros; then an empty row and column 3


@pytest.mark.parametrize(
    "depth, cycles, busy, starved, idle",
    [
        # Vector 1, D = 1 (room for t = pop of t-1 in every PE):
        #   t0: tau 0.           PE0 pop 0 fin 4;               PE1 pop 0 fin 1.
        #   t1: tau max(1, 0).   PE0 pop 4 fin 5;               PE1 pop 1 fin 2.
        #   t2: tau max(2, 4)=4  (queue 0 holds t1 until 4; the slot is refilled in that cycle).
        #                        PE0 pop 5 fin 6;               PE1 pop 4 (starved 2) fin 5.
        #   t3: tau max(5, 5)=5. PE0 pop 6 fin 7;               PE1 pop 5 fin 8.
        #   tile = max(6, 8) + 3 = 11; PE0 busy 7 starved 0 idle 4; PE1 busy 6 starved 2 idle 3.
        # Vector 2 (either D): empty row at tau 0, t0 (column 3) at tau 1.
        #   PE0 pop 1 (starved 1) fin 2;  PE1 pop 1 (starved 1) fin 4;  tile = max(2, 4) + 3 = 7.
        #   PE0 busy 1 starved 1 idle 5;  PE1 busy 3 starved 1 idle 3.
        (1, 11 + 7, [7 + 1, 6 + 3], [0 + 1, 2 + 1], [4 + 5, 3 + 3]),
        # Vector 1, D = 2 (room for t = pop of t-2):
        #   t0: tau 0.  PE0 0 -> 4; PE1 0 -> 1.     t1: tau 1.  PE0 4 -> 5; PE1 1 -> 2.
        #   t2: tau max(2, 0) = 2.  PE0 5 -> 6; PE1 2 -> 3.
        #   t3: tau max(3, pop[0, t1] = 4) = 4.  PE0 6 -> 7; PE1 4 (starved 1) -> 7.
        #   tile = max(5, 7) + 3 = 10; PE0 busy 7 starved 0 idle 3; PE1 busy 6 starved 1 idle 3.
        (2, 10 + 7, [7 + 1, 6 + 3], [0 + 1, 1 + 1], [3 + 5, 3 + 3]),
    ],
)
@pytest.mark.parametrize("mode, spmat_reads", [("per-slice", 13), ("line-register", 10)])
def test_full_queue_stalls_the_broadcast(simulate, depth, cycles, busy, starved, idle, mode, spmat_reads):
    # Two entries a word: PE0 slices at addresses 0-3 | 4 | 5 | 6 lie in words 0-1 | 2 | 2 | 3; PE1 at
    # 0 | 1 | 2 | 3-5 in words 0 | 0 | 1 | 1-2. Vector 1, per-slice: PE0 2 + 1 + 1 + 1, PE1 1 + 1 + 1 + 2 = 10 reads;
    # with the line register PE0 does not read word 2 again for column 2 (4 reads), PE1 word 0 for column 1 and
    # word 1 for column 3 (3 reads): 7. Vector 2 (column 3 only), a new run: PE0 word 3, PE1 words 1-2: 3 reads.
    arch = ArchConfig(n_pes=2, fifo_depth=depth, spmat_width=16, broadcast_latency_cycles=0, spmat_read_mode=mode)
    run = run_case(simulate, STALL_CODES, STALL_INPUTS, arch)
    check(
        run,
        busy=busy,
        starved=starved,
        idle=idle,
        cycles=cycles,
        broadcasts=5,
        lnzd_rows=4,
        queue_pushes=10,
        ptr_reads=20,
        spmat_reads=spmat_reads,
        codebook_lookups=17,
        useful_macs=17,
        filler_macs=0,
        empty_slices=0,
        rf_reads=17 + 2 * (4 + 8),
        rf_writes=17 + 2 * 8,
    )


@pytest.mark.parametrize("mode, spmat_reads", [("per-slice", 7), ("line-register", 4)])
def test_output_batching(simulate, mode, spmat_reads):
    # rf_entries = 2: each PE's local rows 0-1 form tile 0 (rows 0-3), local row 2 tile 1 (rows 4-5).
    # x = [2, 0 | 0, 0 | 3]: t0 = column 0, an empty row, t1 = column 4; inputs 0-3 sit in the register files
    # (slots 0-1), input 4 in the activation SRAM (slot 2).
    codes = [
        [1, 0, 0, 0, 2],  # row 0: PE0 local 0, tile 0
        [0, 0, 0, 0, 0],  # row 1: PE1 local 0, tile 0
        [3, 0, 0, 0, 0],  # row 2: PE0 local 1, tile 0
        [4, 0, 0, 0, 5],  # row 3: PE1 local 1, tile 0
        [0, 0, 0, 0, 6],  # row 4: PE0 local 2, tile 1
        [7, 1, 2, 3, 4],  # row 5: PE1 local 2, tile 1
    ]
    # Tile 0: len[0] = (2, 1), len[1] = (1, 1) for columns (0, 4).
    #   tau 0: PE0 0 -> 2; PE1 0 -> 1.  tau 1: empty row.  tau 2: PE0 2 -> 3; PE1 2 (starved 1) -> 3.
    #   tile = max(3, 3) + 3 = 6; PE0 busy 3 starved 0 idle 3; PE1 busy 2 starved 1 idle 3.
    # Tile 1: len[0] = (0, 1), len[1] = (1, 1).
    #   tau 0: PE0 0 -> 1 (empty slice); PE1 0 -> 1.  tau 2: both pop 2 (starved 1) -> 3.  tile = 6.
    #   PE0 busy 2 starved 1 idle 3; PE1 busy 2 starved 1 idle 3.
    # Words: PE0 tile 0 addresses 0-1 and 2, tile 1 address 3; PE1 tile 0 0 and 1, tile 1 2 and 6: 7 slices, 7 words,
    # all of them word 0. With the line register each PE reads word 0 once per tile (a tile is a new run, even
    # though PE0's tile 1 starts in the word its tile 0 ended in): 4 reads.
    # Register files: 8 MACs; the LNZD reads 4 inputs from them per tile; 6 outputs read; with 2 tiles the
    # outputs go to the activation SRAM, which also gives input 4 once per tile.
    arch = ArchConfig(n_pes=2, fifo_depth=2, rf_entries=2, broadcast_latency_cycles=0, spmat_read_mode=mode)
    run = run_case(simulate, codes, [2, 0, 0, 0, 3], arch, bias_acc=[-20, 3, 1, -9, 4, 0], shift=1, relu=True)
    check(
        run,
        busy=[5, 4],
        starved=[1, 2],
        idle=[6, 6],
        cycles=12,
        broadcasts=4,
        lnzd_rows=6,
        queue_pushes=8,
        ptr_reads=16,
        spmat_reads=spmat_reads,
        codebook_lookups=8,
        useful_macs=8,
        filler_macs=0,
        empty_slices=1,
        rf_reads=8 + 2 * 4 + 6,
        rf_writes=8,
        act_sram_reads=2,
        act_sram_writes=6,
    )


def test_all_zero_input(simulate):
    # No non-zero: three empty register rows at tau 0, 1, 2; tile = max(2 + 1, 0) + 3 = 6; every PE idle 6 (with no
    # broadcast, the broadcast latency plays no part). Outputs are the finished biases: 5, ReLU(-3) = 0, 0, 7.
    codes = [[1, 2, 3, 4, 5], [0, 1, 0, 1, 0], [2, 0, 0, 0, 2], [0, 0, 3, 0, 0]]
    arch = ArchConfig(n_pes=2, fifo_depth=2, broadcast_latency_cycles=2)
    layer, job = make_job(np.array(codes), [0, 0, 0, 0, 0], arch, bias_acc=[5, -3, 0, 7], relu=True)
    np.testing.assert_array_equal(reference_layer(job, layer), [[5, 0, 0, 7]])
    run = simulate(job, layer, arch)
    check(
        run,
        busy=[0, 0],
        starved=[0, 0],
        idle=[6, 6],
        cycles=6,
        broadcasts=0,
        lnzd_rows=3,
        queue_pushes=0,
        ptr_reads=0,
        spmat_reads=0,
        codebook_lookups=0,
        useful_macs=0,
        filler_macs=0,
        empty_slices=0,
        rf_reads=5 + 4,
        rf_writes=4,
        act_sram_reads=0,
        act_sram_writes=0,
    )


@pytest.mark.parametrize(
    "depth, cycles, busy, starved, idle",
    [
        # Vector 1 of the stall case, L = 2, D = 1 (room for t = pop of t-1; an entry holds its slot until popped):
        #   t0: tau 0.                 PE0 pop 0+2 = 2 (starved 2) fin 6;   PE1 pop 2 (starved 2) fin 3.
        #   t1: tau max(1, 2) = 2.     PE0 pop max(4, 6) = 6 fin 7;         PE1 pop max(4, 3) = 4 (starved 1) fin 5.
        #   t2: tau max(3, 6) = 6.     PE0 pop max(8, 7) = 8 (starved 1) fin 9;  PE1 pop 8 (starved 3) fin 9.
        #   t3: tau max(7, 8) = 8.     PE0 pop max(10, 9) = 10 (starved 1) fin 11;  PE1 pop 10 (starved 1) fin 13.
        #   tile = max(8 + 1, 13) + 3 = 16 (11 with L = 0): every slot is held 2 cycles longer.
        #   PE0 busy 7 starved 4 idle 5;  PE1 busy 6 starved 7 idle 3.
        (1, 16, [7, 6], [4, 7], [5, 3]),
        # L = 2, D = 8 (the queues never fill): tau 0, 1, 2, 3.
        #   PE0: pop 2 (starved 2) fin 6; pop max(3, 6) = 6 fin 7; pop 7 fin 8; pop 8 fin 9.
        #   PE1: pop 2 (starved 2) fin 3; pop max(3, 3) = 3 fin 4; pop 4 fin 5; pop 5 fin 8.
        #   tile = max(3 + 1, 9) + 3 = 12 (10 with L = 0): the latency shows once, before the first slice.
        #   PE0 busy 7 starved 2 idle 3;  PE1 busy 6 starved 2 idle 4.
        (8, 12, [7, 6], [2, 2], [3, 4]),
    ],
)
def test_broadcast_latency(simulate, depth, cycles, busy, starved, idle):
    # Words as in the stall case, line register: 7 reads. Entries: PE0 4 + 1 + 1 + 1, PE1 1 + 1 + 1 + 3.
    arch = ArchConfig(n_pes=2, fifo_depth=depth, spmat_width=16, broadcast_latency_cycles=2)
    run = run_case(simulate, STALL_CODES, STALL_INPUTS[:1], arch)
    check(
        run,
        busy=busy,
        starved=starved,
        idle=idle,
        cycles=cycles,
        broadcasts=4,
        lnzd_rows=2,
        queue_pushes=8,
        ptr_reads=16,
        spmat_reads=7,
        codebook_lookups=7 + 6,
        useful_macs=7 + 6,
        filler_macs=0,
        empty_slices=0,
    )


@pytest.mark.parametrize("mode, spmat_reads", [("per-slice", 6 + 1), ("line-register", 4 + 1)])
def test_line_register(simulate, mode, spmat_reads):
    # One PE, three entries a word (24 bits of 8-bit entries). Slices (addresses; words):
    #   column 0: 0-1 (w0); column 1: empty; column 2: 2-3 (w0, w1); column 3: 4 (w1); column 4: 5-7 (w1, w2);
    #   column 5: 8 (w2); column 6: 9 (w3).
    # Vector 1 broadcasts columns 0, 1, 2, 4, 6 (3 and 5 are zero).
    #   per-slice: 1 + 0 + 2 + 2 + 1 = 6 reads.
    #   line register: column 0 reads w0; column 1 reads nothing and keeps w0; column 2 finds w0 in the register
    #   and reads w1; column 4 finds w1 (column 3, not sent, changes nothing) and reads w2; column 6 reads w3: 4.
    # Vector 2 broadcasts column 6 only: a new run with a cleared register reads w3 again, in either mode: 1.
    codes = [
        [1, 0, 2, 0, 3, 0, 4],
        [5, 0, 0, 6, 7, 0, 0],
        [0, 0, 8, 0, 9, 1, 0],
    ]
    inputs = [[3, 1, -2, 0, 5, 0, 7], [0, 0, 0, 0, 0, 0, 4]]
    arch = ArchConfig(n_pes=1, spmat_width=24, spmat_read_mode=mode)
    counts = run_case(simulate, codes, inputs, arch)
    assert counts.spmat_reads == spmat_reads
    assert counts.ptr_reads == 2 * 6 and counts.empty_slices == 1 and counts.codebook_lookups == 2 + 2 + 3 + 1 + 1
