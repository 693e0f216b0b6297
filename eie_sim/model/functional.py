"""What a network computes on its inputs, whatever EIE configuration runs it: computed once per network.

A float32 run gives every tensor's range, hence its fixed-point format (model.number_formats); a fixed-point run
then gives the exact 16-bit results EIE produces, and each layer's matrix-vector inputs. No architecture parameter
but the activation width enters, so a sweep computes this once and every configuration reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eie_sim.model import fixedpoint, graph
from eie_sim.model.network import Network
from eie_sim.model.number_formats import LayerConstants, NumberFormats, choose_formats
from eie_sim.model.ops import Layer
from eie_sim.model.products import float_product
from eie_sim.model.reference import fixed_matvec


@dataclass(frozen=True, eq=False)
class Functional:
    """A network's float32 and fixed-point tensors, their formats, and each layer's fixed-point job data."""

    network: Network
    formats: NumberFormats
    float_tensors: dict[str, np.ndarray]
    fixed_tensors: dict[str, np.ndarray]  # int16 (int32 for wider activations)
    layer_inputs: dict[str, np.ndarray]  # (vectors, cols) fixed-point matrix-vector inputs
    constants: dict[str, LayerConstants]

    def output(self, name: str | None = None) -> np.ndarray:
        """A tensor's fixed-point values as floats (the network's output by default)."""
        name = name or self.network.output
        return fixedpoint.to_float(self.fixed_tensors[name], self.formats.tensor_frac[name])

    def top_classes(self, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """The k largest outputs' indices: fixed point (as EIE computes) and the float32 run of the same weights."""
        fixed = self.output().reshape(-1)
        reference = self.float_tensors[self.network.output].reshape(-1)
        return np.argsort(-fixed, kind="stable")[:k], np.argsort(-reference, kind="stable")[:k]


def _float_matvec(layer: Layer, vectors: np.ndarray) -> np.ndarray:
    """The float32 reference of a layer: shared weights, bias, ReLU."""
    codes = layer.codes
    out = float_product(codes.shape, codes.rows, codes.columns, layer.values(), vectors)
    if layer.bias is not None:
        out = out + layer.bias.astype(np.float32)
    return np.maximum(out, 0) if layer.relu else out


def functional_model(network: Network, bits: int) -> Functional:
    """Both runs of `network` on its own inputs, with `bits`-bit activations and codebook values."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflows become inf or NaN, which choose_formats refuses
        inputs = {name: np.asarray(x, dtype=np.float32) for name, x in network.inputs.items()}
        floats = graph.run(network, inputs, _float_matvec, fixed=False).tensors
    formats = choose_formats(network, floats, bits)
    constants = {layer.name: formats.constants(layer) for layer in network.layers}

    narrow = np.int16 if bits <= 16 else np.int32  # every fixed-point value fits `bits` bits

    def fixed_layer(layer: Layer, vectors: np.ndarray) -> np.ndarray:
        return fixed_matvec(layer, vectors, constants[layer.name], bits).astype(narrow)

    inputs_q = {name: x.astype(narrow) for name, x in formats.quantize(network.inputs).items()}
    fixed = graph.run(network, inputs_q, fixed_layer, fixed=True, keep_inputs=True)
    return Functional(network, formats, floats, fixed.tensors, fixed.layer_inputs, constants)
