"""A network: its ops in execution order, the inputs it runs on, and every tensor's shape."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from eie_sim.errors import InputError
from eie_sim.model.ops import INPUT, Layer, Op, within_float32
from eie_sim.model.shapes import Shape, infer_shapes


@dataclass(frozen=True, eq=False)
class Network:
    """A compressed network and the input it runs on (float, in the network's own units).

    Ops read the tensor "input" (`input`) and any tensor named in `extra_inputs`, e.g. each of the EIE paper's
    independent benchmark layers reads its own input vector. `shapes` gives every tensor's shape (model.shapes).
    """

    name: str
    ops: tuple[Op, ...]
    input: np.ndarray
    extra_inputs: dict[str, np.ndarray] = field(default_factory=dict)  # further external tensors, by name
    source: str = ""  # where the workload came from (a file, or the papers a built-in is drawn from)
    stored_bytes: dict[str, int] = field(default_factory=dict)  # a compressed file's own size breakdown, by part
    fillers: dict[str, int] = field(default_factory=dict)  # per layer, the filler entries a compressed file stores
    shapes: dict[str, Shape] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.ops:
            raise InputError(f"network {self.name}: no ops")
        for name, tensor in self.inputs.items():
            if tensor.size == 0 or tensor.dtype.kind not in "fiu":
                raise InputError(f"network {self.name}: input {name!r} must hold numbers, got {tensor.dtype}")
            if not within_float32(tensor):
                raise InputError(f"network {self.name}: input {name!r} holds NaN, infinite or beyond-float32 values")
        try:
            shapes = infer_shapes(self.ops, {name: x.shape for name, x in self.inputs.items()})
        except InputError as exc:
            raise InputError(f"network {self.name}: {exc}") from None
        object.__setattr__(self, "shapes", shapes)

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        """Every external tensor by name: "input" first."""
        return {INPUT: self.input, **self.extra_inputs}

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
