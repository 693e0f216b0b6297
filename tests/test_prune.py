"""Magnitude pruning (Han et al., NIPS 2015): to a density, or below quality x std."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eie_sim.compress.prune import prune_by_quality, prune_to_density
from eie_sim.errors import InputError
from examples import examples


@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 2000), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_prune_to_density_keeps_the_largest(size: int, density: float, seed: int) -> None:
    weights = np.random.default_rng(seed).laplace(size=size).astype(np.float32)
    pruned = prune_to_density(weights, density)
    kept = pruned != 0
    assert pruned.dtype == weights.dtype and pruned.shape == weights.shape
    assert kept.sum() == round(density * size)
    np.testing.assert_array_equal(pruned[kept], weights[kept])
    if 0 < kept.sum() < size:
        assert np.abs(weights[kept]).min() >= np.abs(weights[~kept]).max()


def test_prune_to_density_edges_and_shapes() -> None:
    weights = np.arange(1, 13, dtype=np.float64).reshape(3, 4) * np.array([1, -1, 1, -1])
    assert not prune_to_density(weights, 0.0).any()
    np.testing.assert_array_equal(prune_to_density(weights, 1.0), weights)
    np.testing.assert_array_equal(prune_to_density(weights, 0.25)[2], [0, -10, 11, -12])
    with pytest.raises(InputError, match="density"):
        prune_to_density(weights, 1.5)
    with pytest.raises(InputError, match="NaN"):
        prune_to_density(np.array([1.0, np.nan]), 0.5)


def test_prune_by_quality_threshold() -> None:
    rng = np.random.default_rng(1)
    weights = rng.standard_normal(200_000)
    threshold = np.std(weights)
    pruned = prune_by_quality(weights, 1.0)
    kept = pruned != 0
    assert np.all(np.abs(weights[kept]) > threshold) and np.all(np.abs(weights[~kept]) <= threshold)
    assert kept.mean() == pytest.approx(0.3173, abs=0.005)  # P(|z| > 1) for a normal distribution
    np.testing.assert_array_equal(prune_by_quality(weights, 0.0), weights)
    with pytest.raises(InputError, match="quality"):
        prune_by_quality(weights, -1.0)
