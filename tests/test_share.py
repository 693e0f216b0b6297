"""Weight sharing (Deep Compression, ICLR 2016): linear-initialized 1-D k-means, fixed-point codebooks,
re-quantization."""

from __future__ import annotations

import numpy as np
import pytest

from eie_sim.compress.share import kmeans_1d, make_layer, requantize, requantize_network, share
from eie_sim.errors import InputError
from eie_sim.model.fixedpoint import frac_bits_for, to_fixed, to_float
from eie_sim.model.network import fc_chain
from eie_sim.model.ops import Layer


def _pruned_laplacian(shape: tuple[int, ...], density: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    weights = rng.laplace(scale=0.05, size=shape)
    return np.where(rng.random(shape) < density, weights, 0.0)


def test_kmeans_reaches_a_lloyd_fixed_point() -> None:
    values = np.sort(np.random.default_rng(3).normal(size=5000))
    centroids = kmeans_1d(values, np.ones(values.size), 7)
    assert np.all(np.diff(centroids) > 0)
    cluster = np.searchsorted((centroids[:-1] + centroids[1:]) / 2, values)
    means = np.array([values[cluster == c].mean() for c in range(7)])
    np.testing.assert_allclose(centroids, means, rtol=0, atol=1e-9)


def test_linear_initialization_keeps_rare_large_weights() -> None:
    """A density-based start would spend every cluster on the bulk; a linear one keeps the outliers (ICLR 2016,
    Fig. 4)."""
    values = np.concatenate([np.linspace(-0.1, 0.1, 10_000), [1.0, 1.01]])
    centroids = kmeans_1d(values, np.ones(values.size), 3)
    assert centroids[-1] == pytest.approx(1.005)


def test_weighted_kmeans_equals_repeated_values() -> None:
    values, counts = np.array([0.1, 0.2, 0.5, 0.9, 1.0]), np.array([5, 1, 3, 2, 8])
    np.testing.assert_allclose(
        kmeans_1d(values, counts, 2), kmeans_1d(np.repeat(values, counts), np.ones(counts.sum()), 2)
    )


@pytest.mark.parametrize("bits", [2, 4, 5, 8])
def test_share_codebook(bits: int) -> None:
    values = _pruned_laplacian((300, 200), 1.0).ravel()
    codes, codebook = share(values, bits)
    assert len(codebook) == 1 << bits and codebook[0] == 0 and codes.min() >= 1
    frac = frac_bits_for(float(np.abs(codebook).max()), 16)
    np.testing.assert_array_equal(to_float(to_fixed(codebook, frac, 16), frac), codebook)
    # each weight, rounded to the 16-bit grid of the largest one, takes its nearest shared value
    grid = frac_bits_for(float(np.abs(values).max()), 16)
    rounded = to_float(to_fixed(values, grid, 16), grid)
    error = np.abs(rounded - codebook[codes])
    nearest = np.abs(rounded[:, None] - codebook[None, 1:]).min(axis=1)
    np.testing.assert_allclose(error, nearest, atol=1e-12)


def test_share_is_deterministic_and_quantizes_finely() -> None:
    values = _pruned_laplacian((100, 100), 1.0, seed=5).ravel()
    first, second = share(values, 4), share(values, 4)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    error = values - first[1][first[0]]
    assert np.sqrt(np.mean(error**2)) < 0.2 * values.std()  # 15 clusters over [min, max]


def test_few_distinct_values_are_kept_exactly() -> None:
    values = np.array([0.3, -1.7, 0.3, 2.5e-7])
    codes, codebook = share(values, 2)
    np.testing.assert_array_equal(codebook[codes], values)
    spread = np.repeat([0.5, -0.25, 7.0], 5000)  # beyond the first sample, the last value appears late
    spread[-1] = 3.0
    codes, codebook = share(spread, 3)
    np.testing.assert_array_equal(codebook[codes], spread)
    weights = np.array([[0.0, 0.3, -1.7], [0.3, 0.0, 2.5e-7]])
    layer = make_layer("fc", "fc", weights, bits=4)
    np.testing.assert_array_equal(layer.dense_weights(), weights.astype(np.float32))
    assert layer.code_bits == 4


def test_share_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="finite"):
        share(np.array([1.0, np.inf]), 4)
    with pytest.raises(InputError, match="bits"):
        share(np.ones(3), 0)


def test_requantize_keeps_zeros_and_maps_codes_consistently() -> None:
    layer = make_layer("conv", "conv", _pruned_laplacian((32, 16, 3, 3), 0.33), bits=8)
    narrow = requantize(layer, 4)
    assert narrow.code_bits == 4 and len(narrow.codebook) == 16 and narrow.codebook[0] == 0
    np.testing.assert_array_equal(narrow.codes.rows, layer.codes.rows)
    np.testing.assert_array_equal(narrow.codes.indptr, layer.codes.indptr)
    pairs = np.unique(np.stack([layer.codes.codes, narrow.codes.codes]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1]  # each old code goes to exactly one new code
    assert requantize(narrow, 6) is narrow


def test_requantize_network_only_touches_wide_layers() -> None:
    wide = make_layer("a", "fc", _pruned_laplacian((20, 30), 0.5), bits=8)
    few_codes = np.tile(np.array([[1, 0], [2, 1]], dtype=np.uint8), (1, 10))  # 2 x 20: reads wide's 20 outputs
    few = Layer.from_codes("b", "fc", few_codes, np.array([0.0, 0.5, -0.5]), code_bits=8)
    network = requantize_network(fc_chain("net", [wide, few], np.ones(30)), 4)
    assert [layer.code_bits for layer in network.layers] == [4, 4]
    np.testing.assert_array_equal(network.layers[1].dense_weights(), few.dense_weights())
