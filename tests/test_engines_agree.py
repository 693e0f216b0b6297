"""The engines' contract: on every layer, the same cycles, the same counters and the same outputs, exactly; and
the counts of both are those of the executable timing rules (`eie_sim.engine.timing_spec`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from layer_job import make_job
from random_layers import Case, cases, random_codes, random_inputs

from eie_sim.arch import ArchConfig
from eie_sim.engine import get_engine, timing_spec
from examples import examples

pytest.importorskip("eie_sim.engine.simpy_model")


def assert_engines_agree(case: Case) -> None:
    fast = get_engine("fast")(case.job, case.arch)
    slow = get_engine("simpy")(case.job, case.arch)
    spec = timing_spec.layer_counts(case.job, case.arch)
    assert fast.counts.equals(slow.counts), f"fast vs simpy: {fast.counts.differences(slow.counts)}"
    assert slow.counts.equals(spec), f"simpy vs spec: {slow.counts.differences(spec)}"
    np.testing.assert_array_equal(fast.outputs, slow.outputs)


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(work=100_000))
def test_random_layers(case: Case) -> None:
    assert_engines_agree(case)


@pytest.mark.parametrize(
    "n_pes, depth, rf_entries, latency, spmat_read_mode",
    [
        (1, 1, 4, 0, "line-register"),
        (1, 64, 64, 3, "per-slice"),
        (3, 2, 1, 1, "line-register"),
        (64, 8, 64, 2, "line-register"),
        (64, 8, 64, 0, "per-slice"),
        (64, 1, 2, 3, "line-register"),
        (256, 64, 1, 2, "per-slice"),
        (256, 1, 64, 1, "line-register"),
    ],
)
def test_extreme_configurations(n_pes: int, depth: int, rf_entries: int, latency: int, spmat_read_mode: str) -> None:
    """Skewed sparsity (fillers, uneven PEs), vectors from empty to dense, PEs and queues at their limits."""
    rng = np.random.default_rng(n_pes * 1000 + depth)
    arch = ArchConfig(
        n_pes=n_pes,
        fifo_depth=depth,
        rf_entries=rf_entries,
        broadcast_latency_cycles=latency,
        spmat_read_mode=spmat_read_mode,
    )
    rows = min(600, 8 * n_pes * rf_entries)
    inputs = np.concatenate([random_inputs(rng, 3, 120, d, 16) for d in (0.0, 0.3, 1.0)])
    layer, job = make_job(random_codes(rng, rows, 120, 0.15, True), inputs, arch, shift=2)
    assert_engines_agree(Case(layer, job, arch))
