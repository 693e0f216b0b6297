"""The pointer read unit of one PE: the column-slice bounds p[j], p[j+1] from two single-ported SRAM banks."""

from __future__ import annotations

import numpy as np


class PointerRead:
    """Pointers interleaved over an even and an odd bank (Han et al. 2016, Section IV, "Pointer Read Unit").

    p[i] lives in bank i mod 2 at address i div 2, so p[i] and p[i+1] are always in different banks and both come
    out in one cycle, overlapped with the last entry of the previous slice. Each slice costs one read per bank.
    """

    def __init__(self, pointers: np.ndarray) -> None:
        self.banks = (pointers[0::2].tolist(), pointers[1::2].tolist())
        self.reads = 0

    def read(self, index: int) -> tuple[int, int]:
        """(p[index], p[index + 1]): the start and end address of a column slice in the sparse-matrix SRAM."""
        self.reads += 2
        after = index + 1
        return self.banks[index & 1][index >> 1], self.banks[after & 1][after >> 1]
