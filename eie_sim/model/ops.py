"""The ops a network is made of: weighted layers (FC, conv) holding sparse shared-weight codes, and the glue between.

Every op reads named tensors and writes one; the network input is the tensor "input".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from eie_sim.errors import InputError
from eie_sim.model.sparse import SparseCodes

INPUT = "input"
_FLOAT32_MAX = np.float64(np.finfo(np.float32).max)


def within_float32(values: np.ndarray) -> bool:
    """Whether every value is a number float32 holds: weights, biases and inputs are float32 in the reference run.

    NaN and infinities are not (a NaN makes the minimum and maximum NaN). The extremes are compared in float64, so
    that a narrower array (float16) is not compared against float32's maximum cast to its own type, which overflows
    to infinity and lets infinities pass; no array as large as `values` is made.
    """
    values = np.asarray(values)
    return values.size == 0 or bool(values.min() >= -_FLOAT32_MAX and values.max() <= _FLOAT32_MAX)


def _name_output(op: object) -> None:
    if not op.output:  # type: ignore[attr-defined]
        object.__setattr__(op, "output", op.name)  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class Layer:
    """An FC or conv layer after pruning and weight sharing: sparse `codes` index `codebook` (code 0: pruned).

    `shape` is the weight blob's, (out, in) for FC and (out, in, kh, kw) for conv (Caffe order); `codes` holds it
    as the out x (in * kh * kw) matrix EIE multiplies.
    """

    name: str
    kind: Literal["fc", "conv"]
    shape: tuple[int, ...]
    codes: SparseCodes
    codebook: np.ndarray
    bias: np.ndarray | None = None
    relu: bool = True
    stride: int = 1
    pad: int = 0
    inputs: tuple[str, ...] = (INPUT,)
    output: str = ""
    code_bits: int = 4  # width of a code: the codebook has at most 2**code_bits entries

    def __post_init__(self) -> None:
        _name_output(self)
        where = f"layer {self.name}"
        if self.kind not in ("fc", "conv"):
            raise InputError(f"{where}: kind must be 'fc' or 'conv', got {self.kind!r}")
        expected_ndim = 2 if self.kind == "fc" else 4
        if len(self.shape) != expected_ndim or min(self.shape) < 1:
            raise InputError(
                f"{where}: {self.kind} weights need {expected_ndim} non-empty dimensions, got {self.shape}"
            )
        if self.kind == "conv" and self.shape[2] != self.shape[3]:
            raise InputError(f"{where}: kernel {self.shape[2]}x{self.shape[3]} is not square; only square kernels")
        if self.codes.shape != (self.rows, self.cols):
            raise InputError(f"{where}: codes of shape {self.codes.shape} for weights {self.shape}")
        if not 1 <= self.code_bits <= 16:
            raise InputError(f"{where}: code_bits must be in [1, 16], got {self.code_bits}")
        if self.stride < 1 or self.pad < 0:
            raise InputError(f"{where}: need stride >= 1 and pad >= 0, got stride {self.stride}, pad {self.pad}")
        if self.codebook.ndim != 1 or self.codebook.dtype.kind not in "fiu":
            raise InputError(f"{where}: codebook must be a vector of numbers, got {self.codebook.dtype}")
        if len(self.codebook) > (1 << self.code_bits) or len(self.codebook) == 0 or self.codebook[0] != 0:
            raise InputError(f"{where}: codebook must start with 0 and have at most 2**{self.code_bits} entries")
        if self.codes.nnz and int(self.codes.codes.max()) >= len(self.codebook):
            raise InputError(f"{where}: a code exceeds the codebook size {len(self.codebook)}")
        if not within_float32(self.codebook):
            raise InputError(f"{where}: codebook holds NaN, infinite or beyond-float32 values")
        if self.bias is not None:
            if self.bias.shape != (self.rows,):
                raise InputError(f"{where}: bias has shape {self.bias.shape}, expected ({self.rows},)")
            if not within_float32(self.bias):
                raise InputError(f"{where}: bias holds NaN, infinite or beyond-float32 values")

    @classmethod
    def from_codes(
        cls, name: str, kind: Literal["fc", "conv"], codes: np.ndarray, codebook: np.ndarray, **fields: Any
    ) -> Layer:
        """A layer from a dense code array of the weight blob's shape (small layers, tests); 0 is a pruned weight."""
        codes = np.asarray(codes)
        if codes.ndim < 2 or codes.dtype.kind not in "ui" or (codes.size and int(codes.min()) < 0):
            raise InputError(f"layer {name}: codes must be an array of non-negative integers of 2 or 4 dimensions")
        unsigned = codes.astype(np.uint16 if codes.size and int(codes.max()) > 255 else np.uint8)
        return cls(
            name, kind, codes.shape, SparseCodes.from_dense(unsigned.reshape(codes.shape[0], -1)), codebook, **fields
        )

    @property
    def rows(self) -> int:
        """Outputs of the matrix-vector product (output channels for conv)."""
        return self.shape[0]

    @property
    def cols(self) -> int:
        """Inputs of the matrix-vector product (in * kh * kw for conv)."""
        return math.prod(self.shape[1:])

    @property
    def kernel(self) -> int:
        return self.shape[2] if self.kind == "conv" else 1

    @property
    def nnz(self) -> int:
        return self.codes.nnz

    @property
    def density(self) -> float:
        return self.nnz / (self.rows * self.cols)

    def values(self) -> np.ndarray:
        """(nnz,) float32 shared weight of each stored code, in the order of `codes`."""
        return self.codebook.astype(np.float32)[self.codes.codes]

    def dense_codes(self) -> np.ndarray:
        """The code blob in the layer's own shape, on explicit request only (its size is every weight's)."""
        return self.codes.dense().reshape(self.shape)

    def dense_weights(self) -> np.ndarray:
        """The shared float32 weights in the layer's own shape, on explicit request only (tests, export)."""
        return self.codebook.astype(np.float32)[self.dense_codes()]


@dataclass(frozen=True)
class Pool:
    """Max or average pooling (Caffe semantics: ceil-mode output size); `global_` pools the whole plane."""

    name: str
    mode: Literal["max", "avg"]
    kernel: int = 2
    stride: int = 2
    pad: int = 0
    global_: bool = False
    inputs: tuple[str, ...] = (INPUT,)
    output: str = ""

    def __post_init__(self) -> None:
        _name_output(self)
        if self.mode not in ("max", "avg"):
            raise InputError(f"pool {self.name}: mode must be 'max' or 'avg', got {self.mode!r}")
        if not self.global_ and (self.kernel < 1 or self.stride < 1 or not 0 <= self.pad < self.kernel):
            raise InputError(
                f"pool {self.name}: kernel {self.kernel}, stride {self.stride}, pad {self.pad}: "
                "need kernel and stride at least 1 and 0 <= pad < kernel"
            )


@dataclass(frozen=True)
class Concat:
    """Channel concatenation (SqueezeNet's fire modules)."""

    name: str
    inputs: tuple[str, ...]
    output: str = ""

    def __post_init__(self) -> None:
        _name_output(self)


@dataclass(frozen=True)
class Flatten:
    """(C, H, W) -> (C*H*W,), before an FC layer that follows convolutions."""

    name: str
    inputs: tuple[str, ...] = (INPUT,)
    output: str = ""

    def __post_init__(self) -> None:
        _name_output(self)


Op = Layer | Pool | Concat | Flatten
