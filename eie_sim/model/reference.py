"""Plain numpy references: the fixed-point result an engine must match bit for bit, independent of the encoding."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from eie_sim.engine.job import LayerJob
from eie_sim.model import fixedpoint, graph
from eie_sim.model.network import Layer, Network
from eie_sim.model.number_formats import FixedPlan


def fixed_matrix(layer: Layer, codebook_q: np.ndarray) -> sp.csr_matrix:
    """The layer's rows x cols matrix of fixed-point weights, straight from its codes."""
    codes = sp.csr_matrix(layer.matrix_codes)
    return sp.csr_matrix((codebook_q[codes.data].astype(np.int64), codes.indices, codes.indptr), shape=codes.shape)


def fixed_matvec(
    layer: Layer, vectors: np.ndarray, codebook_q: np.ndarray, bias_acc: np.ndarray, shift: int, bits: int
) -> np.ndarray:
    """(vectors, rows) outputs of the fixed-point layer: exact integer products, then fixedpoint.finish."""
    acc = (fixed_matrix(layer, codebook_q) @ vectors.T.astype(np.int64)).T + bias_acc
    return fixedpoint.finish(acc, shift, bits, layer.relu)


def reference_layer(job: LayerJob, layer: Layer) -> np.ndarray:
    """What an engine must output for `job` (whose encoding stands for `layer`)."""
    return fixed_matvec(layer, job.inputs, job.codebook_q, job.bias_acc, job.shift, job.act_bits)


def reference_tensors(network: Network, plan: FixedPlan, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every fixed-point tensor of the network, computed without the engines or the EIE encoding."""

    def matvec(layer: Layer, vectors: np.ndarray) -> np.ndarray:
        constants = plan.layer_constants(layer)
        return fixed_matvec(layer, vectors, *constants, plan.bits)

    return graph.run(network, plan.quantize_inputs(inputs), matvec, fixed=True)
