"""Sparse-matrix SRAM reads of a layer by their definition, counted from the entries (not from slices as the
engines and the timing rules do), for engine tests."""

from __future__ import annotations

import numpy as np

from eie_sim.compress.encode import EncodedLayer


def expected_spmat_reads(enc: EncodedLayer, inputs: np.ndarray, mode: str) -> int:
    """Per slice, a slice reads each word holding one of its entries. With the line register, a PE's words in a run
    come in increasing address order (columns are broadcast and stored in increasing order), so it reads each word
    holding an entry of a broadcast column exactly once per run (vector and tile)."""
    pe = np.repeat(np.arange(enc.n_pes), enc.pe_entries)
    word = (np.arange(enc.n_entries) - enc.pe_start[pe]) // enc.entries_per_word
    tile = enc.entry_group // enc.cols % enc.n_tiles
    reader = enc.entry_group if mode == "per-slice" else pe * enc.n_tiles + tile  # whose reads share a word
    key = reader.astype(np.int64) * (int(word.max(initial=0)) + 1) + word
    return sum(np.unique(key[x[enc.entry_col] != 0]).size for x in inputs)
