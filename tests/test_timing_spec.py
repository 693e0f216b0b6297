"""The timing rules one at a time (`eie_sim.engine.timing_spec`): the facts each encodes, on the smallest cases."""

from __future__ import annotations

import numpy as np
import pytest

from eie_sim.engine import timing_spec as spec


def test_lnzd_takes_a_step_per_non_zero_and_one_per_empty_row() -> None:
    assert spec.lnzd_steps(np.array([0, 5, 0, 0, 7, 0]), 2) == [1, None, 4]
    assert spec.lnzd_steps(np.array([1, 2, 3]), 2) == [0, 1, 2]  # a short last row
    assert spec.lnzd_steps(np.zeros(3), 4) == [None]


def test_a_queue_of_depth_d_holds_d_entries() -> None:
    pops = [[4, 1], [5, 2]]  # two PEs popped broadcast 0 at 4 and 1, broadcast 1 at 5 and 2
    assert spec.queue_room(pops[:1], depth=2) == 0  # broadcast 1: the second slot is free
    assert spec.queue_room(pops, depth=2) == 4  # broadcast 2 takes the slot broadcast 0 frees, in that cycle
    assert spec.queue_room(pops, depth=1) == 5
    assert spec.step_cycle(previous=3, room=0) == 4 and spec.step_cycle(previous=3, room=5) == 5


def test_a_slice_starts_after_the_broadcast_latency_and_the_previous_slice() -> None:
    assert spec.pop_cycle(broadcast=3, latency=2, finish=4) == 5
    assert spec.pop_cycle(broadcast=3, latency=2, finish=7) == 7
    assert spec.slice_cycles(0) == 1 and spec.slice_cycles(5) == 5


def test_a_run_ends_after_the_scan_and_the_last_slice_and_drains() -> None:
    assert spec.run_cycles(last_step=2, finishes=[]) == 3 + 3
    assert spec.run_cycles(last_step=2, finishes=[9, 4]) == 9 + 3


@pytest.mark.parametrize(
    "start, end, line, reads, line_after",
    [
        (0, 0, 3, 0, 3),  # empty slice: no read, the register is kept
        (0, 3, None, 1, 0),  # entries 0-2, one word
        (2, 10, 0, 2, 2),  # entries 2-9: word 0 is in the register, words 1 and 2 are read
        (8, 9, 0, 1, 2),  # another word
    ],
)
def test_the_line_register_saves_rereading_the_last_word(start, end, line, reads, line_after) -> None:
    assert spec.spmat_word_reads(start, end, 4, line, "line-register") == (reads, line_after)


def test_per_slice_reads_every_word_a_slice_spans() -> None:
    assert spec.spmat_word_reads(2, 10, 4, 0, "per-slice") == (3, 2)
    assert spec.spmat_word_reads(3, 3, 4, 0, "per-slice") == (0, None)


def test_pointer_reads_and_activation_homes() -> None:
    assert spec.pointer_reads() == 2  # one per bank
    assert spec.source_read(column=127, n_pes=2, rf_entries=64) == "rf"
    assert spec.source_read(column=128, n_pes=2, rf_entries=64) == "act_sram"
    assert spec.output_write(n_tiles=1) == "rf" and spec.output_write(n_tiles=2) == "act_sram"
