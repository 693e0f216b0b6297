"""The activation read/write unit of one PE: source and destination register files and the activation SRAM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eie_sim.model.fixedpoint import finish


class ActivationReadWrite:
    """A PE's activations (Han et al. 2016, Section IV, "Activation Read/Write").

    Source: the PE's input activations j (j mod N == k) at slot j div N; slots below `rf_entries` are in the
    source register file, the rest in the activation SRAM; the central unit reads every slot once per tile.
    Destination: one accumulator per local row of the current output tile, starting from the bias; each MAC reads
    and writes one. When the tile is done each row is read once, finished (fixedpoint.finish: round, saturate,
    ReLU) and written back: to the register file when the layer has one tile (it is the next layer's source),
    else to the activation SRAM.
    """

    def __init__(
        self, bias: Sequence[int], rf_entries: int, single_tile: bool, shift: int, bits: int, relu: bool
    ) -> None:
        self.bias = list(bias)  # accumulator start value of each of the PE's local rows
        self.rf_entries = rf_entries
        self.single_tile = single_tile
        self.shift, self.bits, self.relu = shift, bits, relu
        self.source: list[int] = []
        self.dest: list[int] = []
        self.rows = 0  # local rows of the current tile that are real output rows
        self.rf_reads = self.rf_writes = self.sram_reads = self.sram_writes = 0

    def load_source(self, activations: Sequence[int]) -> None:
        """A new input vector (written by the previous layer; not counted here)."""
        self.source = list(activations)

    def read_source(self, slot: int) -> int:
        if slot < self.rf_entries:
            self.rf_reads += 1
        else:
            self.sram_reads += 1
        return self.source[slot]

    def start_tile(self, tile: int) -> None:
        """Load the destination register file with the bias of the tile's rows (zero beyond the last row)."""
        size = self.rf_entries
        start = self.bias[tile * size : (tile + 1) * size]
        self.rows = len(start)
        self.dest = start + [0] * (size - self.rows)

    def accumulate(self, row: int, product: int) -> None:
        self.rf_reads += 1
        self.dest[row] += product
        self.rf_writes += 1

    def finish_tile(self) -> np.ndarray:
        """The tile's output activations, in local-row order."""
        self.rf_reads += self.rows
        out = finish(np.array(self.dest[: self.rows], dtype=np.int64), self.shift, self.bits, self.relu)
        if self.single_tile:
            self.rf_writes += self.rows
        else:
            self.sram_writes += self.rows
        return out
