"""The simpy engine against the numpy reference (outputs, bit for bit) and the README timing rules (literally)."""

from __future__ import annotations

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_job import make_job

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine.job import LayerCounts, activation_storage_counts
from eie_sim.engine.simpy_model import simulate_layer
from eie_sim.model.reference import reference_layer


def spec_timing(enc: EncodedLayer, inputs: np.ndarray, depth: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Cycles and per-PE busy/starved from README "Timing model", one step at a time."""
    n = enc.n_pes
    cycles, busy, starved = 0, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for x in inputs:
        for tile in range(enc.n_tiles):
            w = np.maximum(1, enc.slice_len[tile])
            tau, finish, pops = -1, np.zeros(n, dtype=np.int64), []
            for start in range(0, enc.cols, n):
                nonzeros = [j for j in range(start, min(start + n, enc.cols)) if x[j]]
                if not nonzeros:
                    tau += 1
                for j in nonzeros:
                    room = pops[-depth].max() if len(pops) >= depth else 0
                    tau = max(tau + 1, room)
                    pop = np.maximum(tau, finish)
                    starved += pop - finish
                    busy += w[:, j]
                    finish = pop + w[:, j]
                    pops.append(pop)
            cycles += max(tau + 1, int(finish.max())) + 3
    return cycles, busy, starved


def check_counters(counts: LayerCounts, enc: EncodedLayer, inputs: np.ndarray, codes: np.ndarray, rf_entries: int):
    """Every counter from its definition in README "Counters", over the columns each vector broadcasts."""
    n, vectors = enc.n_pes, len(inputs)
    sent = inputs != 0  # (vectors, cols)
    per_col = sent.sum(axis=0)  # times each column is broadcast, per tile
    broadcasts = enc.n_tiles * int(sent.sum())
    fillers = int((enc.slice_fillers.sum(axis=(0, 1)) * per_col).sum())
    useful = int((np.count_nonzero(codes, axis=0) * per_col).sum())
    assert counts.broadcasts == broadcasts
    assert counts.queue_pushes == broadcasts * n
    assert counts.ptr_reads == 2 * broadcasts * n
    assert counts.lnzd_rows == vectors * enc.n_tiles * -(-enc.cols // n)
    assert counts.useful_macs == useful
    assert counts.filler_macs == fillers
    assert counts.codebook_lookups == useful + fillers
    assert counts.spmat_reads == int((enc.slice_words.sum(axis=(0, 1)) * per_col).sum())
    assert counts.empty_slices == int(((enc.slice_len == 0).sum(axis=(0, 1)) * per_col).sum())
    storage = activation_storage_counts(enc, vectors, rf_entries, counts.codebook_lookups)
    assert {name: getattr(counts, name) for name in storage} == storage
    np.testing.assert_array_equal(counts.pe_busy + counts.pe_starved + counts.pe_idle, counts.cycles)
    assert counts.pe_idle.min() >= 0


@st.composite
def cases(draw):
    arch = ArchConfig(
        n_pes=draw(st.integers(1, 5)),
        fifo_depth=draw(st.integers(1, 4)),
        rf_entries=draw(st.integers(1, 12)),
        index_bits=draw(st.integers(1, 4)),
        spmat_width=draw(st.sampled_from([8, 16, 24, 64])),
    )
    rows, cols, vectors = draw(st.integers(1, 48)), draw(st.integers(1, 24)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weight_density, input_density = rng.random(2)
    # Row and column importance (as in real pruned layers) make the PEs' work uneven, so queues fill up.
    density = weight_density * np.outer(rng.random(rows), rng.random(cols)) * 4
    codes = np.where(rng.random((rows, cols)) < density, rng.integers(1, 16, (rows, cols)), 0)
    inputs = np.where(rng.random((vectors, cols)) < input_density, rng.integers(-(2**15), 2**15, (vectors, cols)), 0)
    codebook_q = np.concatenate([[0], rng.integers(-(2**15), 2**15, 15)])
    bias = rng.integers(-(2**20), 2**20, rows) if draw(st.booleans()) else None
    job_args = dict(codebook_q=codebook_q, bias_acc=bias, shift=draw(st.integers(0, 20)), relu=draw(st.booleans()))
    return arch, codes, inputs, job_args


@settings(max_examples=300, deadline=None)
@given(cases())
def test_outputs_timing_and_counters(case):
    arch, codes, inputs, job_args = case
    layer, job = make_job(codes, inputs, arch, **job_args)
    run = simulate_layer(job, arch)
    np.testing.assert_array_equal(run.outputs, reference_layer(job, layer))
    cycles, busy, starved = spec_timing(job.enc, job.inputs, arch.fifo_depth)
    assert run.counts.cycles == cycles
    np.testing.assert_array_equal(run.counts.pe_busy, busy)
    np.testing.assert_array_equal(run.counts.pe_starved, starved)
    check_counters(run.counts, job.enc, job.inputs, codes, arch.rf_entries)


def test_a_long_slice_is_one_event(monkeypatch):
    # One PE, one dense 400-row column: 400 busy cycles, but only a handful of simpy events.
    steps = []
    step = simpy.Environment.step
    monkeypatch.setattr(simpy.Environment, "step", lambda env: steps.append(env.now) or step(env))
    arch = ArchConfig(n_pes=1, rf_entries=512)
    _, job = make_job(np.ones((400, 1)), [7], arch)
    run = simulate_layer(job, arch)
    assert run.counts.cycles == 400 + 3 and run.counts.pe_busy.tolist() == [400]
    assert len(steps) < 12
