"""Huffman code lengths and the Deep Compression stored size."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from eie_sim.compress.huffman import code_lengths, huffman_bits, stored_size
from eie_sim.model.ops import Layer
from examples import examples


def test_dyadic_distribution_is_coded_at_its_entropy() -> None:
    counts = np.array([8, 4, 2, 1, 1])
    np.testing.assert_array_equal(code_lengths(counts), [1, 2, 3, 4, 4])
    p = counts / counts.sum()
    assert huffman_bits(counts) == counts.sum() * -(p * np.log2(p)).sum()


def test_uniform_absent_and_lone_symbols() -> None:
    np.testing.assert_array_equal(code_lengths(np.array([5, 5, 5, 5])), [2, 2, 2, 2])
    np.testing.assert_array_equal(code_lengths(np.array([0, 7, 0])), [0, 1, 0])
    np.testing.assert_array_equal(code_lengths(np.zeros(4, dtype=int)), [0, 0, 0, 0])


@settings(max_examples=examples(80), deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=2, max_size=256))
def test_huffman_is_a_complete_prefix_code_no_longer_than_fixed_width(counts: list[int]) -> None:
    counts_array = np.array(counts)
    lengths = code_lengths(counts_array)
    present = counts_array > 0
    if present.sum() >= 2:
        assert sum(2.0 ** -lengths[present]) == 1.0  # Kraft equality: a full binary tree
    total = counts_array.sum()
    assert huffman_bits(counts_array) <= total * max(1, math.ceil(math.log2(max(present.sum(), 1))))
    p = counts_array[present] / max(total, 1)
    assert huffman_bits(counts_array) >= total * -(p * np.log2(p)).sum() - 1e-6  # never below the entropy


def test_stored_size_by_hand() -> None:
    """Weights flattened: non-zeros at 1, 2 and 40 (a gap of 37: two fillers), 3-bit codes, 4-bit indices."""
    codes = np.zeros((2, 25), dtype=np.uint8)
    codes.flat[[1, 2, 40]] = [3, 3, 5]
    layer = Layer.from_codes("x", "fc", codes, np.linspace(0, 1, 8), bias=np.zeros(2, dtype=np.float32), code_bits=3)
    size = stored_size(layer, index_bits=4)
    assert size["dc_entries"] == 5 and size["dc_fillers"] == 2
    assert size["dc_codes_bytes"] == math.ceil(5 * 3 / 8)
    assert size["dc_index_bytes"] == math.ceil(5 * 4 / 8)
    # codes: 0 twice, 3 twice, 5 once -> lengths 1/2/2 or 2/1/2: 8 bits; indices 1, 0, 15, 15, 5 -> 11 bits
    assert size["dc_codes_huffman_bytes"] == 1 and size["dc_index_huffman_bytes"] == 2
    assert size["dc_codebook_bytes"] == 4 * 8 and size["dc_bias_bytes"] == 8 and size["dc_header_bytes"] == 4
