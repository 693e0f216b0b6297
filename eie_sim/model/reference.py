"""The fixed-point result of a layer as plain numpy computes it: what every engine must match bit for bit.

It works from the layer's own sparse codes, independent of the EIE encoding the engines read.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from eie_sim.model import fixedpoint
from eie_sim.model.number_formats import LayerConstants
from eie_sim.model.ops import Layer
from eie_sim.model.products import exact_product


def fixed_matvec(layer: Layer, vectors: np.ndarray, constants: LayerConstants, bits: int) -> np.ndarray:
    """(vectors, rows) outputs of the fixed-point layer: exact integer products, then fixedpoint.finish."""
    codes = layer.codes
    weights = constants.codebook_q[codes.codes]
    acc = exact_product(codes.shape, codes.rows, codes.columns, weights, vectors) + constants.bias_acc
    return fixedpoint.finish(acc, constants.shift, bits, layer.relu)


class _Job(Protocol):
    """What reference_layer reads of an engine job (eie_sim.engine.job.LayerJob)."""

    inputs: np.ndarray
    codebook_q: np.ndarray
    bias_acc: np.ndarray
    shift: int
    act_bits: int


def reference_layer(job: _Job, layer: Layer) -> np.ndarray:
    """What an engine must output for `job`, whose encoding stands for `layer`."""
    constants = LayerConstants(job.codebook_q, job.bias_acc, job.shift)
    return fixed_matvec(layer, job.inputs, constants, job.act_bits)
