"""Build a LayerJob straight from integer codes and fixed-point inputs, for engine tests."""

from __future__ import annotations

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import encode
from eie_sim.engine.job import LayerJob
from eie_sim.model.ops import Layer


def make_job(
    codes: np.ndarray,
    inputs: np.ndarray,
    arch: ArchConfig,
    codebook_q: np.ndarray | None = None,
    bias_acc: np.ndarray | None = None,
    shift: int = 0,
    relu: bool = False,
    act_bits: int = 16,
) -> tuple[Layer, LayerJob]:
    """An FC layer of `codes` (rows x cols, 0 = pruned); by default code c has the fixed-point weight c. The codes
    are as wide as the codebook needs (4 bits for the default 16 entries)."""
    codes = np.asarray(codes, dtype=np.uint8)
    codebook_q = np.arange(16, dtype=np.int64) if codebook_q is None else np.asarray(codebook_q, dtype=np.int64)
    code_bits = max(1, (len(codebook_q) - 1).bit_length())
    layer = Layer.from_codes("layer", "fc", codes, codebook_q.astype(np.float32), relu=relu, code_bits=code_bits)
    bias = np.zeros(codes.shape[0], dtype=np.int64) if bias_acc is None else np.asarray(bias_acc, dtype=np.int64)
    inputs = np.atleast_2d(np.asarray(inputs, dtype=np.int64))
    job = LayerJob(encode(layer, arch), codebook_q, bias, shift, relu, act_bits, inputs)
    return layer, job
