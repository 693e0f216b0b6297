"""Networks as plain data: weighted layers (FC, conv) with shared-weight codes, and the glue ops between them.

Every op reads named tensors and writes one; the network input is the tensor "input". Ops are stored in
execution (topological) order, so running a network is a single pass over `ops`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Union

import numpy as np

from eie_sim.errors import InputError

INPUT = "input"
FLOAT32_MAX = float(np.finfo(np.float32).max)  # weights, biases and inputs are float32 in the reference run


@dataclass(frozen=True, eq=False)
class Layer:
    """An FC or conv layer after weight sharing: `codes` index `codebook`; code 0 is a pruned weight (value 0).

    codes has shape (out, in) for FC and (out, in, kh, kw) for conv (Caffe order).
    """

    name: str
    kind: Literal["fc", "conv"]
    codes: np.ndarray
    codebook: np.ndarray
    bias: np.ndarray | None = None
    relu: bool = True
    stride: int = 1
    pad: int = 0
    inputs: tuple[str, ...] = (INPUT,)
    output: str = ""
    code_bits: int = 4  # width of a code: the codebook has at most 2**code_bits entries

    def __post_init__(self) -> None:
        if not self.output:
            object.__setattr__(self, "output", self.name)
        if self.kind not in ("fc", "conv"):
            raise InputError(f"layer {self.name}: kind must be 'fc' or 'conv', got {self.kind!r}")
        expected_ndim = 2 if self.kind == "fc" else 4
        if self.codes.ndim != expected_ndim:
            raise InputError(
                f"layer {self.name}: {self.kind} weights need {expected_ndim} dimensions, got shape {self.codes.shape}"
            )
        if min(self.codes.shape) < 1:
            raise InputError(f"layer {self.name}: weight shape {self.codes.shape} has an empty dimension")
        if self.kind == "conv" and self.codes.shape[2] != self.codes.shape[3]:
            raise InputError(
                f"layer {self.name}: kernel {self.codes.shape[2]}x{self.codes.shape[3]} is not square; only square kernels are supported"
            )
        if not 1 <= self.code_bits <= 16:
            raise InputError(f"layer {self.name}: code_bits must be in [1, 16], got {self.code_bits}")
        if self.stride < 1 or self.pad < 0:
            raise InputError(
                f"layer {self.name}: stride must be at least 1 and pad at least 0, got stride {self.stride}, pad {self.pad}"
            )
        if self.codes.dtype.kind not in "ui" or (self.codes.dtype.kind == "i" and int(self.codes.min()) < 0):
            raise InputError(f"layer {self.name}: codes must be non-negative integers, got {self.codes.dtype} values")
        if self.codebook.ndim != 1 or self.codebook.dtype.kind not in "fiu":
            raise InputError(
                f"layer {self.name}: codebook must be a vector of numbers, got {self.codebook.dtype} shape {self.codebook.shape}"
            )
        if len(self.codebook) > (1 << self.code_bits) or len(self.codebook) == 0 or self.codebook[0] != 0:
            raise InputError(
                f"layer {self.name}: codebook must start with 0 and have at most 2**{self.code_bits} entries"
            )
        if int(self.codes.max()) >= len(self.codebook):
            raise InputError(f"layer {self.name}: a code exceeds the codebook size {len(self.codebook)}")
        if not np.all(np.abs(self.codebook) <= FLOAT32_MAX):  # False for NaN too
            raise InputError(f"layer {self.name}: codebook holds NaN, infinite or beyond-float32 values")
        if self.bias is not None:
            if self.bias.shape != (self.codes.shape[0],):
                raise InputError(
                    f"layer {self.name}: bias has shape {self.bias.shape}, expected ({self.codes.shape[0]},)"
                )
            if not np.all(np.abs(self.bias) <= FLOAT32_MAX):
                raise InputError(f"layer {self.name}: bias holds NaN, infinite or beyond-float32 values")

    @property
    def rows(self) -> int:
        """Outputs of the matrix-vector product (output channels for conv)."""
        return int(self.codes.shape[0])

    @property
    def cols(self) -> int:
        """Inputs of the matrix-vector product (in * kh * kw for conv)."""
        return int(np.prod(self.codes.shape[1:]))

    @property
    def kernel(self) -> int:
        return int(self.codes.shape[2]) if self.kind == "conv" else 1

    @property
    def matrix_codes(self) -> np.ndarray:
        """Codes as the rows x cols matrix EIE multiplies."""
        return self.codes.reshape(self.rows, self.cols)

    @property
    def nnz(self) -> int:
        return int(np.count_nonzero(self.codes))

    @property
    def density(self) -> float:
        return self.nnz / max(self.codes.size, 1)

    def weights(self) -> np.ndarray:
        """The decoded (shared) float32 weights, in the layer's own shape."""
        return self.codebook.astype(np.float32)[self.codes]


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
        if not self.output:
            object.__setattr__(self, "output", self.name)
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
        if not self.output:
            object.__setattr__(self, "output", self.name)


@dataclass(frozen=True)
class Flatten:
    """(C, H, W) -> (C*H*W,), before an FC layer that follows convolutions."""

    name: str
    inputs: tuple[str, ...] = (INPUT,)
    output: str = ""

    def __post_init__(self) -> None:
        if not self.output:
            object.__setattr__(self, "output", self.name)


Op = Union[Layer, Pool, Concat, Flatten]


@dataclass(frozen=True, eq=False)
class Network:
    """A compressed network and the input it runs on (float, in the network's own units).

    Ops read the tensor "input" (`input`) and any tensor named in `extra_inputs`, e.g. each of the EIE paper's
    independent benchmark layers reads its own input vector.
    """

    name: str
    ops: tuple[Op, ...]
    input: np.ndarray
    extra_inputs: dict[str, np.ndarray] = field(default_factory=dict)  # further external tensors, by name
    source: str = ""  # where the workload came from (a file, or the papers a built-in is drawn from)
    stored_bytes: dict[str, int] = field(default_factory=dict)  # a compressed file's own size breakdown, by part
    fillers: dict[str, int] = field(default_factory=dict)  # per layer, the filler entries a compressed file stores

    def __post_init__(self) -> None:
        if not self.ops:
            raise InputError(f"network {self.name}: no ops")
        for name, tensor in {"input": self.input, **self.extra_inputs}.items():
            if tensor.size == 0 or tensor.dtype.kind not in "fiu":
                raise InputError(
                    f"network {self.name}: input {name!r} must hold numbers, got {tensor.dtype} shape {tensor.shape}"
                )
            if not np.all(np.abs(tensor) <= FLOAT32_MAX):
                raise InputError(f"network {self.name}: input {name!r} holds NaN, infinite or beyond-float32 values")

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(op for op in self.ops if isinstance(op, Layer))

    @property
    def output(self) -> str:
        return self.ops[-1].output

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InputError(f"network {self.name}: no layer named {name!r}")

    def with_layers(self, layers: dict[str, Layer]) -> Network:
        """A copy with some layers replaced (by name), e.g. after re-quantization."""
        return replace(self, ops=tuple(layers.get(op.name, op) if isinstance(op, Layer) else op for op in self.ops))


def fc_chain(name: str, layers: list[Layer], x: np.ndarray, source: str = "") -> Network:
    """A plain sequence of layers, each reading the previous one's output."""
    ops, previous = [], INPUT
    for layer in layers:
        layer = replace(layer, inputs=(previous,), output=layer.name)
        ops.append(layer)
        previous = layer.name
    return Network(name=name, ops=tuple(ops), input=x, source=source)
