"""Weight sharing by 1-D k-means (Deep Compression, Han et al., ICLR 2016, Section 3).

The non-zero weights of a layer are clustered into 2**B - 1 shared values (code 0 is reserved for the pruned
weights); the centroids start evenly spaced over [min, max] of the surviving weights (the paper's "linear
initialization", which keeps the rare large weights represented) and follow Lloyd's iterations. The centroids are
then rounded to the 16-bit fixed point of EIE's codebook, and every weight takes the code of the nearest rounded
value. Weights that already take at most 2**B - 1 distinct non-zero values are kept exactly: those values become
the codebook.

The weights are first rounded to the 16-bit grid of the layer's largest one (the resolution of the codebook they
end up in); the clustering runs on their histogram and each grid value takes the code of its nearest centroid, so
sharing costs a few passes over the weights, whatever their number. Lloyd's algorithm
in one dimension needs no distance matrix: each cluster is a run of bins between two midpoints, found by
np.searchsorted, and its mean comes from prefix sums.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np

from eie_sim.errors import InputError
from eie_sim.model.fixedpoint import frac_bits_for, qmax, to_fixed, to_float
from eie_sim.model.network import Network
from eie_sim.model.ops import Layer, within_float32
from eie_sim.model.sparse import SparseCodes, code_dtype

VALUE_BITS = 16  # EIE's codebook values are 16-bit fixed point (Han et al. 2016, Section IV)
ITERATIONS = 50
EXACT_SAMPLE = 4096  # values inspected first when looking for an already shared layer


def kmeans_1d(values: np.ndarray, counts: np.ndarray, k: int, iterations: int = ITERATIONS) -> np.ndarray:
    """k ascending centroids of the distinct ascending `values` weighted by `counts` (linear initialization)."""
    values = np.asarray(values, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    mass = np.concatenate([[0.0], np.cumsum(counts)])
    moment = np.concatenate([[0.0], np.cumsum(values * counts)])
    centroids = np.linspace(values[0], values[-1], k)
    previous = None
    for _ in range(iterations):
        cut = np.searchsorted(values, (centroids[:-1] + centroids[1:]) / 2, side="right")
        if previous is not None and np.array_equal(cut, previous):
            break
        previous = cut
        edges = np.concatenate([[0], cut, [values.size]])
        size = mass[edges[1:]] - mass[edges[:-1]]
        total = moment[edges[1:]] - moment[edges[:-1]]
        centroids = np.sort(np.divide(total, size, out=centroids.copy(), where=size > 0))
    return centroids


def round_codebook(centroids: np.ndarray, bits: int = VALUE_BITS) -> np.ndarray:
    """Centroids rounded to `bits`-bit fixed point with the most fractional bits that fit the largest one."""
    frac = frac_bits_for(float(np.max(np.abs(centroids))), bits)
    return to_float(to_fixed(centroids, frac, bits), frac)


def grid_values(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(index of each value on the 16-bit grid of the largest one, counted from the grid's bottom; its frac bits)."""
    frac = frac_bits_for(float(np.max(np.abs(values))), VALUE_BITS)
    index = to_fixed(values, frac, VALUE_BITS)
    index += qmax(VALUE_BITS) + 1
    return index, frac


def _nearest_code(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """1 + index of the nearest of the ascending centroids (a tie goes to the smaller one)."""
    return np.searchsorted((centroids[:-1] + centroids[1:]) / 2, values, side="left") + 1


def _check_bits(bits: int, name: str) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 16:
        raise InputError(f"{name}: weight bits must be an integer in [1, 16], got {bits!r}")


def _few_distinct(values: np.ndarray, k: int) -> np.ndarray | None:
    """The distinct values ascending when there are at most k of them, else None; each pass over the values
    finds at least one more, and continuous weights stop at the first sample."""
    found = np.unique(values[:EXACT_SAMPLE])
    while found.size <= k:
        missing = values[~np.isin(values, found)]
        if missing.size == 0:
            return found
        found = np.union1d(found, missing[:EXACT_SAMPLE])
    return None


def share(values: np.ndarray, bits: int, name: str = "weights") -> tuple[np.ndarray, np.ndarray]:
    """(codes, codebook) of non-zero float weights: a code (1 ..) per value, in their shape; codebook[0] == 0."""
    _check_bits(bits, name)
    shape = np.shape(values)
    values = np.asarray(values).reshape(-1)
    if values.dtype.kind not in "fiu" or not within_float32(values):
        raise InputError(f"{name}: weights must be finite numbers within float32 range")
    if values.size == 0:
        return np.zeros(shape, dtype=code_dtype(bits)), np.zeros(1)
    k = (1 << bits) - 1
    exact = _few_distinct(values, k)
    if exact is not None:
        centroids, codes = exact.astype(np.float64), np.searchsorted(exact, values) + 1
    else:
        index, frac = grid_values(values)
        weight = np.bincount(index, minlength=1 << VALUE_BITS)
        grid = to_float(np.arange(1 << VALUE_BITS) - (qmax(VALUE_BITS) + 1), frac)
        occupied = np.flatnonzero(weight)
        centroids = round_codebook(kmeans_1d(grid[occupied], weight[occupied], k))
        codes = _nearest_code(grid, centroids).astype(code_dtype(bits))[index]
    return codes.astype(code_dtype(bits), copy=False).reshape(shape), np.concatenate([[0.0], centroids])


def make_layer(
    name: str,
    kind: Literal["fc", "conv"],
    weights: np.ndarray,
    bits: int,
    bias: np.ndarray | None = None,
    **fields: Any,
) -> Layer:
    """A Layer from dense float weights (outputs x inputs, or out x in x kh x kw), shared to `bits`-bit codes."""
    weights = np.asarray(weights)
    if weights.ndim not in (2, 4) or weights.size == 0:
        raise InputError(f"layer {name}: weights must have 2 or 4 non-empty dimensions, got shape {weights.shape}")
    matrix = weights.reshape(weights.shape[0], -1)
    col, row = np.nonzero(matrix.T)
    codes, codebook = share(matrix.T[col, row], bits, name=f"layer {name}")
    return Layer(
        name=name,
        kind=kind,
        shape=weights.shape,
        codes=SparseCodes.from_column_order(matrix.shape, row, col, codes),
        codebook=codebook,
        bias=bias,
        code_bits=bits,
        **fields,
    )


def requantize(layer: Layer, bits: int) -> Layer:
    """The layer with at most 2**bits codes: k-means over its codebook values weighted by how often each is used.

    Code 0 stays 0. A layer that already fits in `bits` is returned unchanged.
    """
    _check_bits(bits, f"layer {layer.name}")
    if layer.code_bits <= bits:
        return layer
    counts = np.bincount(layer.codes.codes, minlength=len(layer.codebook))
    used = np.flatnonzero(counts[1:]) + 1
    values = np.asarray(layer.codebook, dtype=np.float64)[used]
    lut = np.zeros(len(layer.codebook), dtype=code_dtype(bits))
    distinct, inverse = np.unique(values, return_inverse=True)
    if distinct.size <= (1 << bits) - 1:
        centroids = distinct
        lut[used] = inverse + 1
    else:
        weight = np.bincount(inverse, weights=counts[used])
        centroids = round_codebook(kmeans_1d(distinct, weight, (1 << bits) - 1))
        lut[used] = _nearest_code(values, centroids)
    return replace(
        layer,
        codes=layer.codes.with_codes(lut[layer.codes.codes]),
        codebook=np.concatenate([[0.0], centroids]),
        code_bits=bits,
    )


def requantize_network(network: Network, bits: int) -> Network:
    """Every layer with wider codes than `bits` re-quantized to `bits` (e.g. 8-bit SqueezeNet on 4-bit EIE)."""
    wide = {layer.name: requantize(layer, bits) for layer in network.layers if layer.code_bits > bits}
    return network.with_layers(wide) if wide else network
