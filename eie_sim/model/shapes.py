"""The one shape inference: every op's output shape from its inputs', for the readers and the graph runner.

Readers add ops to a GraphBuilder as they parse, so a file whose shapes do not chain fails while it is read, naming
the op, before any weight is decoded; Network runs the same rules over its ops. Nothing is computed but shapes.
An FC layer reads a 2-D tensor (vectors, features) whose features match its inputs as a batch of independent input
vectors (e.g. a test set through an MLP); any other tensor is flattened into one vector.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from eie_sim.errors import InputError
from eie_sim.model.ops import Concat, Layer, Op, Pool
from eie_sim.support.arithmetic import ceil_div

Shape = tuple[int, ...]


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Caffe's ceil mode, with its rule that the last window must start inside the (left-padded) input."""
    out = ceil_div(size + 2 * pad - kernel, stride) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def planes(name: str, shape: Shape) -> tuple[int, int, int]:
    """A (channels, height, width) shape, or an error naming the op that needs one."""
    if len(shape) != 3:
        raise InputError(f"op {name}: needs a (channels, height, width) input, got shape {list(shape)}")
    return shape[0], shape[1], shape[2]


def fc_output(name: str, rows: int, cols: int, source: Shape) -> Shape:
    if len(source) == 2 and source[1] == cols:
        return (source[0], rows)
    if math.prod(source) != cols:
        raise InputError(f"layer {name}: expects {cols} inputs, gets {math.prod(source)} (shape {list(source)})")
    return (rows,)


def conv_output(name: str, rows: int, in_channels: int, kernel: int, stride: int, pad: int, source: Shape) -> Shape:
    channels, height, width = planes(name, source)
    if channels != in_channels:
        raise InputError(f"layer {name}: expects {in_channels} input channels, gets {channels}")
    out_h, out_w = (conv_output_size(s, kernel, stride, pad) for s in (height, width))
    if min(out_h, out_w) < 1:
        raise InputError(
            f"layer {name}: a {kernel}x{kernel} kernel does not fit a {height}x{width} input padded by {pad}"
        )
    return (rows, out_h, out_w)


def pool_output(op: Pool, source: Shape) -> Shape:
    channels, height, width = planes(op.name, source)
    if op.global_:
        return (channels, 1, 1)
    if op.kernel > min(height, width) + 2 * op.pad:
        raise InputError(f"pool {op.name}: a {op.kernel}x{op.kernel} window does not fit a {height}x{width} input")
    sizes = (pool_output_size(s, op.kernel, op.stride, op.pad) for s in (height, width))
    return (channels, *sizes)


def concat_output(name: str, sources: Sequence[Shape]) -> Shape:
    parts = [planes(name, s) for s in sources]
    if len({p[1:] for p in parts}) != 1:
        raise InputError(f"op {name}: inputs of different heights and widths {[list(p[1:]) for p in parts]}")
    return (sum(p[0] for p in parts), *parts[0][1:])


def output_shape(op: Op, sources: Sequence[Shape]) -> Shape:
    """The shape `op` writes, given the shapes of the tensors it reads (in `op.inputs` order)."""
    if isinstance(op, Layer):
        if op.kind == "fc":
            return fc_output(op.name, op.rows, op.cols, sources[0])
        return conv_output(op.name, op.rows, op.shape[1], op.kernel, op.stride, op.pad, sources[0])
    if isinstance(op, Pool):
        return pool_output(op, sources[0])
    if isinstance(op, Concat):
        return concat_output(op.name, sources)
    return (math.prod(sources[0]),)


class GraphBuilder:
    """Ops in execution order and the shape of every tensor so far: what each reader builds a network with."""

    def __init__(self, inputs: Mapping[str, Shape] | None = None) -> None:
        self.ops: list[Op] = []
        self.shapes: dict[str, Shape] = {}
        for name, shape in (inputs or {}).items():
            self.define(name, shape)

    def define(self, tensor: str, shape: Shape) -> None:
        """An external tensor (a network input) of a given shape."""
        if tensor in self.shapes:
            raise InputError(f"tensor {tensor!r} is defined twice")
        if not shape or min(shape) < 1:
            raise InputError(f"tensor {tensor!r}: shape {list(shape)} must have positive dimensions")
        self.shapes[tensor] = tuple(int(s) for s in shape)

    def shape(self, tensor: str, reader: str = "an op") -> Shape:
        if tensor not in self.shapes:
            raise InputError(f"{reader} reads tensor {tensor!r}, which nothing before it produces")
        return self.shapes[tensor]

    def add(self, op: Op) -> Shape:
        """Append `op`; its output shape, checked against its inputs' shapes."""
        if not op.inputs:
            raise InputError(f"op {op.name} reads no tensor")
        sources = [self.shape(name, f"op {op.name}") for name in op.inputs]
        if op.output in self.shapes:
            raise InputError(f"op {op.name}: its output {op.output!r} is already a tensor of the network")
        shape = output_shape(op, sources)
        self.ops.append(op)
        self.shapes[op.output] = shape
        return shape


def infer_shapes(ops: Sequence[Op], inputs: Mapping[str, Shape]) -> dict[str, Shape]:
    """Every tensor's shape, from the external inputs' shapes."""
    builder = GraphBuilder(inputs)
    for op in ops:
        builder.add(op)
    return builder.shapes
