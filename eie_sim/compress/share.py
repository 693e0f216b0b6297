"""Weight sharing by 1-D k-means (Deep Compression, Han et al., ICLR 2016, Section 3).

The non-zero weights of a layer are clustered into 2**B - 1 shared values (code 0 is reserved for the pruned
weights); the centroids start evenly spaced over [min, max] of the surviving weights (the paper's "linear
initialization", which keeps the rare large weights represented) and follow Lloyd's iterations. The centroids are
then rounded to the 16-bit fixed point of EIE's codebook, and every weight takes the code of the nearest rounded
value. Weights that already take at most 2**B - 1 distinct non-zero values are kept exactly: those values become
the codebook.

Lloyd's algorithm in one dimension needs no distance matrix: with the data sorted, each cluster is a contiguous run
between two midpoints, found by np.searchsorted, and its mean comes from prefix sums.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np

from eie_sim.errors import InputError
from eie_sim.model.fixedpoint import frac_bits_for, to_fixed, to_float
from eie_sim.model.network import FLOAT32_MAX, Layer, Network

VALUE_BITS = 16  # EIE's codebook values are 16-bit fixed point (Han et al. 2016, Section IV)
ITERATIONS = 50
_CHUNK = 1 << 22


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


def _nearest_code(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """1 + index of the nearest of the ascending centroids (a tie goes to the smaller one)."""
    return np.searchsorted((centroids[:-1] + centroids[1:]) / 2, values, side="left") + 1


def _code_dtype(bits: int) -> type:
    return np.uint8 if bits <= 8 else np.uint16


def _check_bits(bits: int, name: str) -> None:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
        raise InputError(f"{name}: weight bits must be an integer in [1, 16], got {bits!r}")


def share(weights: np.ndarray, bits: int, name: str = "weights") -> tuple[np.ndarray, np.ndarray]:
    """(codes, codebook) of a float weight array: codes have the array's shape, codebook[0] == 0."""
    _check_bits(bits, name)
    weights = np.asarray(weights)
    if weights.dtype.kind not in "fiu" or not np.all(np.abs(weights) <= FLOAT32_MAX):  # False for NaN too
        raise InputError(f"{name}: weights must be finite numbers within float32 range")
    nonzero = weights != 0
    values = weights[nonzero]
    codes = np.zeros(weights.shape, dtype=_code_dtype(bits))
    if values.size == 0:
        return codes, np.zeros(1)
    distinct, counts = np.unique(values, return_counts=True)
    if distinct.size <= (1 << bits) - 1:
        centroids = distinct.astype(np.float64)
        codes[nonzero] = np.searchsorted(distinct, values) + 1
    else:
        centroids = round_codebook(kmeans_1d(distinct, counts, (1 << bits) - 1))
        codes[nonzero] = _nearest_code(values, centroids)
    return codes, np.concatenate([[0.0], centroids])


def make_layer(
    name: str,
    kind: Literal["fc", "conv"],
    weights: np.ndarray,
    bits: int,
    bias: np.ndarray | None = None,
    **fields: Any,
) -> Layer:
    """A Layer from float weights (outputs x inputs, or out x in x kh x kw), shared to `bits`-bit codes."""
    codes, codebook = share(weights, bits, name=f"layer {name}")
    return Layer(name=name, kind=kind, codes=codes, codebook=codebook, bias=bias, code_bits=bits, **fields)


def code_counts(codes: np.ndarray, size: int) -> np.ndarray:
    """How often each code occurs, counted in chunks (a bincount of a 100M-entry code matrix at once needs 800 MB)."""
    flat = codes.reshape(-1)
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, flat.size, _CHUNK):
        counts += np.bincount(flat[start : start + _CHUNK], minlength=size)[:size]
    return counts


def requantize(layer: Layer, bits: int) -> Layer:
    """The layer with at most 2**bits codes: k-means over its codebook values weighted by how often each is used.

    Code 0 stays 0. A layer that already fits in `bits` is returned unchanged.
    """
    _check_bits(bits, f"layer {layer.name}")
    if layer.code_bits <= bits:
        return layer
    counts = code_counts(layer.codes, len(layer.codebook))
    used = np.flatnonzero(counts[1:]) + 1
    values = np.asarray(layer.codebook, dtype=np.float64)[used]
    lut = np.zeros(len(layer.codebook), dtype=_code_dtype(bits))
    distinct, inverse = np.unique(values, return_inverse=True)
    if distinct.size <= (1 << bits) - 1:
        centroids = distinct
        lut[used] = inverse + 1
    else:
        weight = np.bincount(inverse, weights=counts[used])
        centroids = round_codebook(kmeans_1d(distinct, weight, (1 << bits) - 1))
        lut[used] = _nearest_code(values, centroids)
    return replace(layer, codes=lut[layer.codes], codebook=np.concatenate([[0.0], centroids]), code_bits=bits)


def requantize_network(network: Network, bits: int) -> Network:
    """Every layer with wider codes than `bits` re-quantized to `bits` (e.g. 8-bit SqueezeNet on 4-bit EIE)."""
    wide = {layer.name: requantize(layer, bits) for layer in network.layers if layer.code_bits > bits}
    return network.with_layers(wide) if wide else network
