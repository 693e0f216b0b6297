"""Huffman coding and the Deep Compression stored size of a layer (Han et al., ICLR 2016, Section 4).

Deep Compression stores a pruned, shared layer as a stream of entries over its weights flattened in Caffe order
(out, in, kh, kw): each entry is a code (`code_bits`) and a relative index (`index_bits`: the zeros before it); a
run of zeros longer than 2**index_bits - 1 is broken by filler entries (code 0, index 2**index_bits - 1), each
standing for 2**index_bits positions. The file also holds per layer an entry count (uint32), the codebook
(2**code_bits float32) and the biases (float32): the layout of the released compressed SqueezeNet
(songhan/SqueezeNet-Deep-Compression). Huffman coding then replaces the fixed-width codes and indices by
variable-length ones, one table per layer and stream; only the code lengths matter for the size, so only they are
computed (the tables themselves, a few bytes per layer, are not counted).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from eie_sim.model.ops import Layer

HEADER_BYTES = 4  # uint32 entry count per layer
FLOAT_BYTES = 4  # codebook values and biases are stored as float32


def code_lengths(counts: np.ndarray) -> np.ndarray:
    """Huffman code length in bits of each symbol, from its count (0 for absent symbols; a lone symbol gets 1)."""
    counts = np.asarray(counts)
    lengths = np.zeros(counts.size, dtype=np.int64)
    present = [int(s) for s in np.flatnonzero(counts > 0)]
    if len(present) == 1:
        lengths[present[0]] = 1
    heap = [(int(counts[s]), order, [s]) for order, s in enumerate(present)]
    heapq.heapify(heap)
    order = len(heap)
    while len(heap) > 1:
        weight_a, _, symbols_a = heapq.heappop(heap)
        weight_b, _, symbols_b = heapq.heappop(heap)
        merged = symbols_a + symbols_b
        lengths[merged] += 1
        heapq.heappush(heap, (weight_a + weight_b, order, merged))
        order += 1
    return lengths


def huffman_bits(counts: np.ndarray) -> int:
    """Total bits of a stream with these symbol counts after Huffman coding."""
    counts = np.asarray(counts, dtype=np.int64)
    return int(np.dot(counts, code_lengths(counts)))


def entry_histograms(layer: Layer, index_bits: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(code counts, relative-index counts, fillers) of the layer's Deep Compression entry stream."""
    position, codes = layer.codes.row_major()
    gap = np.diff(position, prepend=-1) - 1
    span = 1 << index_bits
    fillers = int((gap // span).sum())
    code_hist = np.bincount(codes, minlength=1 << layer.code_bits).astype(np.int64)
    index_hist = np.bincount(gap % span, minlength=span).astype(np.int64)
    code_hist[0] += fillers
    index_hist[span - 1] += fillers
    return code_hist, index_hist, fillers


def stored_size(layer: Layer, index_bits: int = 4) -> dict[str, int]:
    """The layer's Deep Compression file size by part, in bytes, with and without Huffman coding."""
    code_hist, index_hist, fillers = entry_histograms(layer, index_bits)
    entries = int(code_hist.sum())
    return {
        "dc_entries": entries,
        "dc_fillers": fillers,
        "dc_header_bytes": HEADER_BYTES,
        "dc_codes_bytes": math.ceil(entries * layer.code_bits / 8),
        "dc_codes_huffman_bytes": math.ceil(huffman_bits(code_hist) / 8),
        "dc_index_bytes": math.ceil(entries * index_bits / 8),
        "dc_index_huffman_bytes": math.ceil(huffman_bits(index_hist) / 8),
        "dc_codebook_bytes": FLOAT_BYTES << layer.code_bits,
        "dc_bias_bytes": FLOAT_BYTES * layer.rows if layer.bias is not None else 0,
    }
