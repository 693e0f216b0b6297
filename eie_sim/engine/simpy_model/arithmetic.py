"""The arithmetic unit of one PE: codebook lookup, fixed-point multiply, accumulate into the destination row."""

from __future__ import annotations

from collections.abc import Sequence

from eie_sim.engine.simpy_model.activation_rw import ActivationReadWrite


class ArithmeticUnit:
    """One entry a cycle through lookup, multiply, add (Han et al. 2016, Section IV, "Arithmetic Unit").

    The destination row is found by address accumulation: each entry moves `zeros + 1` rows past the previous one,
    starting above row 0 at the slice start. The 4-bit code indexes the codebook of fixed-point weights (code 0 is
    weight 0: a filler, which takes its cycle and its accumulator update but is not useful work). The product is
    exact and added to the wide accumulator; the bypass makes back-to-back updates stall-free, so timing is one
    cycle per entry and the pipeline's depth only shows as the drain at the end of a tile.
    """

    def __init__(self, codebook: Sequence[int], registers: ActivationReadWrite) -> None:
        self.codebook = codebook
        self.registers = registers
        self.lookups = 0
        self.fillers = 0

    def run_slice(self, codes: Sequence[int], zeros: Sequence[int], activation: int) -> None:
        """Multiply one column slice by its broadcast activation and accumulate it."""
        row = -1
        for code, zeros_before in zip(codes, zeros):
            row += zeros_before + 1
            self.registers.accumulate(row, self.codebook[code] * activation)
            if not code:
                self.fillers += 1
        self.lookups += len(codes)

    @property
    def useful_macs(self) -> int:
        return self.lookups - self.fillers
