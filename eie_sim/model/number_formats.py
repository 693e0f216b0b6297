"""The fixed-point format of every tensor and codebook (dynamic fixed point), chosen from a float32 run.

Each tensor gets the most fractional bits that still hold the largest magnitude its float32 run reaches on the
same input; each codebook the most that hold its largest value. Concatenated tensors share one format (the
coarsest of their parts), so concatenation is a plain copy, as in hardware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from eie_sim.errors import InputError
from eie_sim.model import fixedpoint
from eie_sim.model.network import Network
from eie_sim.model.ops import Concat, Layer

BIAS_LIMIT = 2.0**62  # a bias in accumulator format stays below this, leaving the int64 accumulator room for the sum


@dataclass(frozen=True)
class LayerConstants:
    """A layer's fixed-point constants: codebook values, bias in accumulator format, accumulator-to-output shift."""

    codebook_q: np.ndarray  # (codebook size,) int64
    bias_acc: np.ndarray  # (rows,) int64
    shift: int


@dataclass(frozen=True)
class NumberFormats:
    """Fractional bits per tensor name and per layer codebook, for `bits`-bit values."""

    bits: int
    tensor_frac: dict[str, int]
    codebook_frac: dict[str, int]

    def codebook_q(self, layer: Layer) -> np.ndarray:
        return fixedpoint.to_fixed(layer.codebook, self.codebook_frac[layer.name], self.bits)

    def constants(self, layer: Layer) -> LayerConstants:
        acc_frac = self.codebook_frac[layer.name] + self.tensor_frac[layer.inputs[0]]
        largest = float(np.max(np.abs(layer.bias))) if layer.bias is not None else 0.0
        if largest * 2.0**acc_frac >= BIAS_LIMIT:
            raise InputError(
                f"layer {layer.name}: a bias of {largest:.3g} does not fit the 64-bit accumulator at the resolution "
                f"2**{-acc_frac} its codebook and input ranges set; the bias is out of all proportion to the weights "
                "and inputs"
            )
        bias_acc = fixedpoint.bias_to_acc(layer.bias, acc_frac, layer.rows)
        return LayerConstants(self.codebook_q(layer), bias_acc, acc_frac - self.tensor_frac[layer.output])

    def quantize(self, tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: fixedpoint.to_fixed(x, self.tensor_frac[name], self.bits) for name, x in tensors.items()}


def choose_formats(network: Network, float_tensors: Mapping[str, np.ndarray], bits: int) -> NumberFormats:
    """Formats from the float run's ranges; parts of a concatenation take the concatenation's format."""
    for name, tensor in float_tensors.items():
        if not np.all(np.isfinite(tensor)):
            raise InputError(
                f"tensor {name}: the float32 reference run overflows; the weights and inputs are too large"
            )
    frac = {
        name: fixedpoint.frac_bits_for(float(np.max(np.abs(t), initial=0.0)), bits) for name, t in float_tensors.items()
    }
    for op in reversed(network.ops):
        if isinstance(op, Concat):
            shared = min([frac[op.output]] + [frac[name] for name in op.inputs])
            for name in (op.output, *op.inputs):
                frac[name] = shared
    for op in network.ops:  # pooling and flattening keep their input's format
        if not isinstance(op, Layer | Concat):
            frac[op.output] = frac[op.inputs[0]]
    codebook = {
        layer.name: fixedpoint.frac_bits_for(float(np.max(np.abs(layer.codebook))), bits) for layer in network.layers
    }
    return NumberFormats(bits=bits, tensor_frac=frac, codebook_frac=codebook)
