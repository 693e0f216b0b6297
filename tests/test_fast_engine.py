"""The fast engine: outputs bit for bit against the numpy reference, counters against their definitions, and the
schedule's structure (independent runs add up, deeper queues never hurt, an unbounded queue is stall-free)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layer_job import make_job
from random_layers import Case, cases, random_codes, random_inputs
from spmat_words import expected_spmat_reads

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine import fast, get_engine
from eie_sim.engine.job import PIPELINE_DRAIN, LayerCounts
from eie_sim.model import fixedpoint
from eie_sim.model.reference import reference_layer
from examples import examples

SETTINGS = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_registered_as_fast() -> None:
    assert get_engine("fast") is fast.simulate_layer


@SETTINGS
@given(cases(max_vectors=8, work=10**6))
def test_outputs_match_reference(case: Case) -> None:
    run = fast.simulate_layer(case.job, case.arch)
    np.testing.assert_array_equal(run.outputs, reference_layer(case.job, case.layer))


@SETTINGS
@given(cases(max_vectors=8, work=10**6))
def test_counters_match_definitions(case: Case) -> None:
    enc, inputs, n = case.job.enc, case.job.inputs, case.arch.n_pes
    c = fast.simulate_layer(case.job, case.arch).counts
    sent = np.count_nonzero(inputs, axis=0)  # times each column is broadcast, per tile
    length = np.diff(enc.ptr, axis=1).reshape(n, enc.n_tiles, enc.cols)  # (PE, tile, column), from the pointers
    broadcasts = enc.n_tiles * int(sent.sum())
    lookups = int((length.sum(axis=(0, 1)) * sent).sum())
    useful = int((np.count_nonzero(case.layer.codes.dense(), axis=0) * sent).sum())

    assert c.broadcasts == broadcasts
    assert c.lnzd_rows == len(inputs) * enc.n_tiles * -(-enc.cols // n)
    assert c.queue_pushes == broadcasts * n and c.ptr_reads == 2 * broadcasts * n
    assert c.spmat_reads == expected_spmat_reads(enc, inputs, case.arch.spmat_read_mode)
    assert c.codebook_lookups == lookups and c.useful_macs == useful and c.filler_macs == lookups - useful
    assert c.empty_slices == int(((length == 0).sum(axis=(0, 1)) * sent).sum())
    np.testing.assert_array_equal(c.pe_busy, (np.maximum(length, 1).sum(axis=1) * sent).sum(axis=1))
    np.testing.assert_array_equal(c.pe_busy + c.pe_starved + c.pe_idle, np.full(n, c.cycles))
    runs = len(inputs) * enc.n_tiles
    assert (c.pe_starved >= 0).all() and (c.pe_idle >= runs * PIPELINE_DRAIN).all()
    assert c.cycles >= runs * PIPELINE_DRAIN + max(c.broadcasts, c.lnzd_rows)


@SETTINGS
@given(cases(max_vectors=3))
def test_storage_counts_match_simpy_events(case: Case) -> None:
    """The closed-form register-file and activation-SRAM counts equal the accesses the simpy units count one by one."""
    fast_counts = fast.simulate_layer(case.job, case.arch).counts
    simpy_counts = get_engine("simpy")(case.job, case.arch).counts
    for name in ("rf_reads", "rf_writes", "act_sram_reads", "act_sram_writes"):
        assert getattr(fast_counts, name) == getattr(simpy_counts, name), name


def add_up(parts: list[LayerCounts]) -> LayerCounts:
    """Counts of runs done one after another."""
    first = parts[0]
    return LayerCounts(**{name: sum(getattr(p, name) for p in parts) for name in vars(first)})


def assert_same(got: LayerCounts, expected: LayerCounts) -> None:
    assert got.equals(expected), got.differences(expected)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=list(HealthCheck))
@given(case=cases(max_rows=300, max_cols=200, max_vectors=40, work=10**6))
def test_vectors_are_independent_runs(case: Case) -> None:
    """A batch equals its vectors run one by one."""
    batch = fast.simulate_layer(case.job, case.arch)
    singles = [fast.simulate_layer(replace(case.job, inputs=x[None]), case.arch) for x in case.job.inputs]
    assert_same(batch.counts, add_up([s.counts for s in singles]))
    np.testing.assert_array_equal(batch.outputs, np.concatenate([s.outputs for s in singles]))


@SETTINGS
@given(cases(max_tiles=6, max_vectors=3, work=10**6))
def test_tiles_are_independent_runs(case: Case) -> None:
    """A layer in several output tiles times like the single-tile layers made of each tile's rows."""
    enc, n = case.job.enc, case.arch.n_pes
    whole = fast.simulate_layer(case.job, case.arch).counts
    per_tile = []
    for tile in range(enc.n_tiles):
        local = np.arange(tile * enc.tile_rows, (tile + 1) * enc.tile_rows)
        rows = (local[:, None] * n + np.arange(n)).ravel()
        rows = rows[rows < enc.rows]
        _, job = make_job(case.layer.codes.dense()[rows], case.job.inputs, case.arch, case.job.codebook_q)
        assert job.enc.n_tiles == 1
        per_tile.append(fast.simulate_layer(job, case.arch).counts)
    timing = ["cycles", "broadcasts", "codebook_lookups", "empty_slices", "pe_busy", "pe_starved"]
    for name in timing:
        np.testing.assert_array_equal(getattr(whole, name), sum(getattr(c, name) for c in per_tile), err_msg=name)


@SETTINGS
@given(cases(max_vectors=3, work=10**6), st.integers(1, 63))
def test_deeper_queues_never_slower(case: Case, extra: int) -> None:
    shallow = fast.simulate_layer(case.job, case.arch).counts
    deep = fast.simulate_layer(case.job, case.arch.replace(fifo_depth=case.arch.fifo_depth + extra)).counts
    assert deep.cycles <= shallow.cycles
    np.testing.assert_array_equal(deep.pe_busy, shallow.pe_busy)


def lnzd_steps(x: np.ndarray, n_pes: int) -> tuple[np.ndarray, int]:
    """The LNZD step of each non-zero of x, and the steps in all (a register row: one per non-zero, or one)."""
    step, steps = [], 0
    for start in range(0, len(x), n_pes):
        found = np.count_nonzero(x[start : start + n_pes])
        step.extend(range(steps, steps + found))
        steps += max(1, found)
    return np.array(step, dtype=np.int64), steps


def stall_free_cycles(enc: EncodedLayer, x: np.ndarray, latency: int) -> int:
    """The timing rules when no queue ever fills (bcast = LNZD step), in closed form: finish[k, t] = C[k, t] +
    max over u <= t of (step[u] + latency - C[k, u - 1]), C the running sum of w over broadcasts."""
    step, steps = lnzd_steps(x, enc.n_pes)
    total = 0
    for tile in range(enc.n_tiles):
        w = np.maximum(enc.length[np.flatnonzero(x), tile].T, 1)  # (PE, non-zero)
        done = np.cumsum(w, axis=1)
        finish = done + np.maximum.accumulate(step + latency - (done - w), axis=1)
        total += max(steps, int(finish[:, -1].max()) if step.size else 0) + PIPELINE_DRAIN
    return total


@SETTINGS
@given(cases(max_vectors=1, work=10**6))
def test_unbounded_queue_is_stall_free(case: Case) -> None:
    x = case.job.inputs[0]
    arch = case.arch.replace(fifo_depth=max(1, int(np.count_nonzero(x))))
    expected = stall_free_cycles(case.job.enc, x, arch.broadcast_latency_cycles)
    assert fast.simulate_layer(case.job, arch).counts.cycles == expected


@pytest.mark.parametrize("n_pes, rf_entries", [(1, 3), (7, 2), (64, 64)])
def test_all_zero_input(n_pes: int, rf_entries: int) -> None:
    """Only the LNZD scan and the drain take time; outputs are the finished bias."""
    rng = np.random.default_rng(0)
    arch = ArchConfig(n_pes=n_pes, rf_entries=rf_entries)
    bias = rng.integers(-1 << 20, 1 << 20, 50)
    codes = random_codes(rng, 50, 30, 0.5, True)
    _, job = make_job(codes, np.zeros((3, 30)), arch, bias_acc=bias, shift=4, relu=True)
    run = fast.simulate_layer(job, arch)
    assert run.counts.cycles == 3 * job.enc.n_tiles * (-(-30 // n_pes) + PIPELINE_DRAIN)
    assert run.counts.pe_busy.sum() == run.counts.pe_starved.sum() == run.counts.broadcasts == 0
    np.testing.assert_array_equal(run.outputs, np.tile(fixedpoint.finish(bias, 4, 16, True), (3, 1)))


def test_many_conv_positions_at_once() -> None:
    """A convolution-sized batch (thousands of positions of different densities) against the reference."""
    rng = np.random.default_rng(1)
    arch = ArchConfig()
    inputs = random_inputs(rng, 3000, 144, 0.4, 16)
    inputs[::7] = 0
    layer, job = make_job(random_codes(rng, 64, 144, 0.35, True), inputs, arch, shift=3, relu=True)
    run = fast.simulate_layer(job, arch)
    np.testing.assert_array_equal(run.outputs, reference_layer(job, layer))
    assert run.counts.broadcasts == np.count_nonzero(inputs)
