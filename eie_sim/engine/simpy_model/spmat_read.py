"""The sparse-matrix read unit of one PE: fetches SRAM words and unpacks a column slice's entries."""

from __future__ import annotations

import numpy as np


class SparseMatrixRead:
    """The PE's sparse-matrix SRAM, `entries_per_word` entries of (code, zeros) to a word (64 bits = 8 entries).

    A slice of entries [start, end) is streamed one entry a cycle, word by word. The unit keeps the address of the
    last word it read (the line register) and reads a word only when it is another one, so a slice that starts in
    the word where the previous slice ended shares that read; an empty slice reads nothing and leaves the register
    as it was (the original authors' simulator, `src/ptrvec.cpp`). With mode "per-slice" the register is cleared
    before every slice: each slice reads every word it spans.
    """

    def __init__(self, codes: np.ndarray, zeros: np.ndarray, entries_per_word: int, mode: str) -> None:
        self.codes = codes.tolist()
        self.zeros = zeros.tolist()
        self.entries_per_word = entries_per_word
        self.per_slice = mode == "per-slice"
        self.line: int | None = None  # word address in the line register
        self.word_reads = 0

    def clear_line(self) -> None:
        """A new run (input vector and output tile): nothing read yet."""
        self.line = None

    def read(self, start: int, end: int) -> tuple[list[int], list[int]]:
        """The (codes, zeros) of the entries at addresses [start, end), counting the words read for them."""
        if self.per_slice:
            self.clear_line()
        words = range(start // self.entries_per_word, (end - 1) // self.entries_per_word + 1) if end > start else ()
        for word in words:
            if word != self.line:
                self.word_reads += 1
                self.line = word
        return self.codes[start:end], self.zeros[start:end]
