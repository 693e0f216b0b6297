"""The simpy engine against the numpy reference (outputs, bit for bit), the executable timing rules
(`eie_sim.engine.timing_spec`) and the counters' definitions."""

from __future__ import annotations

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st
from layer_job import make_job
from spmat_words import expected_spmat_reads

from eie_sim.arch import SPMAT_READ_MODES, ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine import timing_spec
from eie_sim.engine.job import LayerCounts, activation_storage_counts
from eie_sim.engine.simpy_model import simulate_layer
from eie_sim.model.reference import reference_layer
from examples import examples


def check_counters(counts: LayerCounts, enc: EncodedLayer, inputs: np.ndarray, codes: np.ndarray, arch: ArchConfig):
    """Every counter from its definition in docs/timing.md, "Counters", over the columns each vector broadcasts."""
    n, vectors = enc.n_pes, len(inputs)
    sent = inputs != 0  # (vectors, cols)
    per_col = sent.sum(axis=0)  # times each column is broadcast, per tile
    broadcasts = enc.n_tiles * int(sent.sum())
    fillers = int((np.bincount(enc.entry_col[enc.codes == 0], minlength=enc.cols) * per_col).sum())
    useful = int((np.count_nonzero(codes, axis=0) * per_col).sum())
    assert counts.broadcasts == broadcasts
    assert counts.queue_pushes == broadcasts * n
    assert counts.ptr_reads == 2 * broadcasts * n
    assert counts.lnzd_rows == vectors * enc.n_tiles * -(-enc.cols // n)
    assert counts.useful_macs == useful
    assert counts.filler_macs == fillers
    assert counts.codebook_lookups == useful + fillers
    assert counts.spmat_reads == expected_spmat_reads(enc, inputs, arch.spmat_read_mode)
    assert counts.empty_slices == int(((enc.length == 0).sum(axis=(1, 2)) * per_col).sum())
    storage = activation_storage_counts(enc, vectors, arch.rf_entries, counts.codebook_lookups)
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
        broadcast_latency_cycles=draw(st.integers(0, 3)),
        spmat_read_mode=draw(st.sampled_from(SPMAT_READ_MODES)),
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
    shift, relu = draw(st.integers(0, 20)), draw(st.booleans())
    job_args = {"codebook_q": codebook_q, "bias_acc": bias, "shift": shift, "relu": relu}
    return arch, codes, inputs, job_args


@settings(max_examples=examples(300), deadline=None)
@given(cases())
def test_outputs_timing_and_counters(case):
    arch, codes, inputs, job_args = case
    layer, job = make_job(codes, inputs, arch, **job_args)
    run = simulate_layer(job, arch)
    np.testing.assert_array_equal(run.outputs, reference_layer(job, layer))
    spec = timing_spec.layer_counts(job, arch)
    assert run.counts.equals(spec), run.counts.differences(spec)
    check_counters(run.counts, job.enc, job.inputs, codes, arch)


def test_a_long_slice_is_one_event(monkeypatch):
    # One PE, one dense column: `rows` busy cycles after the 2-cycle broadcast latency, then the 3-cycle drain; the
    # simpy events are a handful, as many for 400 rows as for 4.
    steps = []
    step = simpy.Environment.step
    monkeypatch.setattr(simpy.Environment, "step", lambda env: steps.append(env.now) or step(env))
    arch = ArchConfig(n_pes=1, rf_entries=512, broadcast_latency_cycles=2)
    events = []
    for rows in (4, 400):
        steps.clear()
        _, job = make_job(np.ones((rows, 1)), [7], arch)
        run = simulate_layer(job, arch)
        assert run.counts.cycles == 2 + rows + 3 and run.counts.pe_busy.tolist() == [rows]
        events.append(len(steps))
    assert events[0] == events[1] < 13
