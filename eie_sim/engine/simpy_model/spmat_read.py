"""The sparse-matrix read unit of one PE: fetches SRAM words and unpacks a column slice's entries."""

from __future__ import annotations

import numpy as np


class SparseMatrixRead:
    """The PE's sparse-matrix SRAM, `entries_per_word` entries of (code, zeros) to a word (64 bits = 8 entries).

    A slice of entries [start, end) is streamed one entry a cycle; the unit reads each word the slice touches once,
    so a slice costs last_word - first_word + 1 reads, even when a neighbouring slice shares its first or last word.
    """

    def __init__(self, codes: np.ndarray, zeros: np.ndarray, entries_per_word: int) -> None:
        self.codes = codes.tolist()
        self.zeros = zeros.tolist()
        self.entries_per_word = entries_per_word
        self.word_reads = 0

    def read(self, start: int, end: int) -> tuple[list[int], list[int]]:
        """The (codes, zeros) of the entries at addresses [start, end), counting the words they span."""
        if end > start:
            self.word_reads += (end - 1) // self.entries_per_word - start // self.entries_per_word + 1
        return self.codes[start:end], self.zeros[start:end]
