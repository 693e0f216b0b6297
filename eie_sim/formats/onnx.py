"""ONNX models as EIE networks: the operators a CNN or MLP classifier is made of, mapped onto FC/conv layers and glue.

Gemm and MatMul (+ a constant Add as bias) become FC layers, Conv a conv layer; a Relu is folded into the layer
before it, as EIE's activation write unit applies it. MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool,
Concat (channels), Flatten and a flattening Reshape become the network's glue ops; Dropout and Identity pass their
input on; a final Softmax is dropped (it is monotone: the network ends in logits). Anything else, or an attribute
these mappings do not cover, is an InputError naming the node. Float weights are then compressed (compress_layer).
The input tensor drops its batch dimension of 1; a 2-D input (N, features) with N > 1 stays a batch of N vectors.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from eie_sim.compress.prune import prune_to_density
from eie_sim.compress.share import make_layer
from eie_sim.errors import InputError
from eie_sim.model.network import Network
from eie_sim.model.ops import INPUT, Concat, Flatten, Layer, Op, Pool, within_float32
from eie_sim.model.shapes import conv_output_size, pool_output_size
from eie_sim.support.arithmetic import ceil_div
from eie_sim.support.memory_budget import LayerSize, Need, build_need, network_need
from eie_sim.support.optional import require

SUPPORTED_OPS = (
    "Gemm", "MatMul", "Add", "Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "Concat", "Flatten", "Reshape", "Dropout", "Identity", "Constant", "Softmax",
)  # fmt: skip


_DRAW_CHUNK = 1 << 20  # random input values drawn at a time


def _onnx() -> Any:
    return require("onnx", "reading .onnx models", "onnx")


@dataclass
class _Dense:
    """A Gemm/MatMul/Conv with its float weights (outputs x inputs, or out x in x k x k), before compression."""

    name: str
    kind: Literal["fc", "conv"]
    weights: np.ndarray
    bias: np.ndarray | None
    stride: int
    pad: int
    inputs: tuple[str, ...]
    output: str
    relu: bool = False


class _Importer:
    """The graph's nodes in order, as ops on network tensors whose ONNX shapes (batch first) are tracked."""

    def __init__(self, graph: Any, where: str) -> None:
        onnx = _onnx()
        self.where = where
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.constants = {t.name: self.array(t, f"initializer {t.name!r}") for t in graph.initializer}
        self.tensors: dict[str, str] = {}  # ONNX tensor -> network tensor
        self.shapes: dict[str, tuple[int, ...]] = {}  # network tensor -> ONNX shape, batch first
        self.items: list[_Dense | Op] = []
        self.producer: dict[str, _Dense] = {}  # ONNX tensor -> the weighted layer that wrote it, directly
        self.consumers: dict[str, list[Any]] = {}  # ONNX tensor -> nodes reading it
        self.graph_outputs = [o.name for o in graph.output]
        self.folded: set[int] = set()  # ids of Add nodes folded into the MatMul before them
        self.op_names: set[str] = set()
        for node in graph.node:  # every operator is checked before any shape, the most telling error first
            if node.domain not in ("", "ai.onnx") or node.op_type not in SUPPORTED_OPS:
                raise self.error(
                    node, f"operator {node.op_type} is not supported (supported: {', '.join(SUPPORTED_OPS)})"
                )
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
            if node.op_type == "Constant":  # read up front: a bias folded into a MatMul may be defined after it
                self.constants[node.output[0]] = self.constant_value(node)

    # -- helpers ------------------------------------------------------------------------------------------------

    def array(self, tensor: Any, owner: str) -> np.ndarray:
        """A tensor's values; data that does not match its shape or its (unknown) type is the file's mistake."""
        try:
            return self.numpy_helper.to_array(tensor)
        except (ValueError, TypeError, KeyError) as exc:  # KeyError: a data_type onnx does not know
            raise InputError(f"{self.where}: {owner}: its data does not match its shape and type ({exc!r})") from None

    def layer_sizes(self) -> list[LayerSize]:
        """The weighted layers as LayerSizes (every weight counted as a non-zero), from shapes alone."""
        sizes = []
        for item in self.items:
            if isinstance(item, _Dense):
                out = self.shapes[item.output]
                vectors = math.prod(out[2:]) if item.kind == "conv" else out[0]
                rows, cols = item.weights.shape[0], math.prod(item.weights.shape[1:])
                sizes.append(LayerSize(item.name, rows, cols, item.weights.size, vectors))
        return sizes

    def error(self, node: Any, message: str) -> InputError:
        return InputError(f"{self.where}: node {node.name or '(unnamed)'} ({node.op_type}): {message}")

    def attributes(self, node: Any, defaults: dict[str, Any]) -> dict[str, Any]:
        """The node's attributes over `defaults`; an attribute not in `defaults` is not supported."""
        values = dict(defaults)
        for attribute in node.attribute:
            if attribute.name not in defaults:
                raise self.error(node, f"attribute {attribute.name!r} is not supported")
            value = self.helper.get_attribute_value(attribute)
            values[attribute.name] = value.decode() if isinstance(value, bytes) else value
        return values

    def op_name(self, node: Any, index: int) -> str:
        name = node.name or f"{node.op_type.lower()}_{index}"
        while name in self.op_names or name == INPUT:
            name = f"{name}_{index}"
        self.op_names.add(name)
        return name

    def read(self, node: Any, position: int = 0) -> tuple[str, tuple[int, ...]]:
        if position >= len(node.input) or not node.input[position]:
            raise self.error(node, f"input {position} is missing")
        name = node.input[position]
        if name in self.constants:
            raise self.error(node, f"input {name!r} is a constant where an activation is expected")
        if name not in self.tensors:
            raise self.error(node, f"reads {name!r}, which no earlier node produces")
        tensor = self.tensors[name]
        return tensor, self.shapes[tensor]

    def constant(self, node: Any, position: int, what: str) -> np.ndarray:
        name = node.input[position] if position < len(node.input) else ""
        if name not in self.constants:
            raise self.error(node, f"{what} must be a constant (an initializer), but {name or 'nothing'!r} is not one")
        value = self.constants[name]
        if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
            raise self.error(node, f"{what} has dtype {value.dtype}; numbers are expected")
        if not within_float32(value):
            raise self.error(node, f"{what} holds NaN, infinite or beyond-float32 values")
        return value.astype(np.float64)

    def define(self, node: Any, tensor: str, shape: tuple[int, ...]) -> None:
        self.tensors[node.output[0]] = tensor
        self.shapes[tensor] = shape

    def alias(self, node: Any, tensor: str) -> None:
        self.tensors[node.output[0]] = tensor

    def image(self, node: Any, position: int = 0) -> tuple[str, tuple[int, int, int]]:
        tensor, shape = self.read(node, position)
        if len(shape) != 4:
            raise self.error(node, f"needs a (1, C, H, W) input, but {node.input[position]!r} has shape {shape}")
        return tensor, (shape[1], shape[2], shape[3])

    def single_reader(self, tensor_name: str) -> bool:
        """Whether an ONNX tensor has exactly one reader and is not also a graph output."""
        return len(self.consumers.get(tensor_name, [])) == 1 and tensor_name not in self.graph_outputs

    def square(self, node: Any, what: str, values: list[int]) -> int:
        if len(set(values)) != 1:
            raise self.error(node, f"{what} {values} is not square; only equal sizes on both axes are supported")
        return values[0]

    def pads(self, node: Any, attrs: dict[str, Any]) -> int:
        if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise self.error(node, f"auto_pad {attrs['auto_pad']} is not supported (give explicit pads)")
        pads = list(attrs["pads"]) or [0, 0, 0, 0]
        if len(set(pads)) != 1:
            raise self.error(node, f"pads {pads} are not symmetric and equal on both axes")
        return pads[0]

    # -- operators ------------------------------------------------------------------------------------------------

    def add(self, node: Any, index: int) -> None:
        if id(node) in self.folded or node.op_type == "Constant":
            return
        handler = getattr(self, f"_{node.op_type.lower()}")
        handler(node, self.op_name(node, index))

    def _gemm(self, node: Any, name: str) -> None:
        attrs = self.attributes(node, {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0})
        tensor, shape = self.read(node)
        if len(shape) != 2:
            raise self.error(node, f"input A must be 2-D, but {node.input[0]!r} has shape {shape}")
        if attrs["transA"] and shape[1] != 1:
            raise self.error(node, f"transA=1 on a batch of {shape[1]} vectors is not supported (only on one vector)")
        vectors, features = (shape[1], shape[0]) if attrs["transA"] else shape
        b = self.constant(node, 1, "B")
        weights = attrs["alpha"] * (b if attrs["transB"] else b.T)
        if weights.ndim != 2 or weights.shape[1] != features:
            raise self.error(node, f"B of shape {b.shape} does not multiply {features} input features")
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self.bias(node, attrs["beta"] * self.constant(node, 2, "C"), weights.shape[0])
        self.weighted(node, _Dense(name, "fc", weights, bias, 1, 0, (tensor,), name), (vectors, weights.shape[0]))

    def bias(self, node: Any, value: np.ndarray, outputs: int) -> np.ndarray:
        """A bias that broadcasts along the outputs: shape (N,), (1, N) or a single value."""
        if value.size == 1:
            return np.full(outputs, float(value.ravel()[0]))
        if value.size != outputs or value.shape[-1] != outputs:
            raise self.error(
                node, f"bias of shape {value.shape} does not match {outputs} outputs (one bias per output)"
            )
        return value.reshape(outputs)

    def _matmul(self, node: Any, name: str) -> None:
        self.attributes(node, {})
        tensor, shape = self.read(node)
        weights = self.constant(node, 1, "B").T
        if len(shape) != 2 or weights.ndim != 2 or weights.shape[1] != shape[1]:
            raise self.error(
                node, f"only a 2-D activation {shape} times a 2-D weight matrix {weights.T.shape} is supported"
            )
        bias, add = None, self.bias_add(node)
        if add is not None:
            position = 1 - list(add.input).index(node.output[0])
            bias = self.bias(add, self.constant(add, position, "the bias"), weights.shape[0])
            self.folded.add(id(add))
            node = add
        self.weighted(node, _Dense(name, "fc", weights, bias, 1, 0, (tensor,), name), (shape[0], weights.shape[0]))

    def bias_add(self, node: Any) -> Any | None:
        """The Add that adds a constant to this node's output, when it is that output's only reader."""
        out = node.output[0]
        readers = self.consumers.get(out, [])
        if not self.single_reader(out) or readers[0].op_type != "Add" or len(readers[0].input) != 2:
            return None
        other = [name for name in readers[0].input if name != out]
        return readers[0] if len(other) == 1 and other[0] in self.constants else None

    def _add(self, node: Any, name: str) -> None:
        raise self.error(node, "only an Add of a constant bias right after a MatMul is supported")

    def _conv(self, node: Any, name: str) -> None:
        attrs = self.attributes(
            node, {"auto_pad": "NOTSET", "dilations": [], "group": 1, "kernel_shape": [], "pads": [], "strides": []}
        )
        tensor, (channels, height, width) = self.image(node)
        weights = self.constant(node, 1, "W")
        if attrs["group"] != 1 or any(d != 1 for d in attrs["dilations"]):
            grouping = f"group {attrs['group']}, dilations {list(attrs['dilations'])}"
            raise self.error(node, f"{grouping}: only group 1 without dilation is supported")
        if weights.ndim != 4 or weights.shape[1] != channels:
            raise self.error(node, f"weights of shape {weights.shape} do not fit a {channels}-channel input")
        kernel = self.square(node, "kernel", list(weights.shape[2:]))
        if list(attrs["kernel_shape"]) not in ([], [kernel, kernel]):
            raise self.error(
                node, f"kernel_shape {list(attrs['kernel_shape'])} differs from the weights' {weights.shape[2:]}"
            )
        stride = self.square(node, "strides", list(attrs["strides"]) or [1, 1])
        pad = self.pads(node, attrs)
        out_h, out_w = (conv_output_size(size, kernel, stride, pad) for size in (height, width))
        if min(out_h, out_w) < 1:
            raise self.error(node, f"kernel {kernel} is larger than its padded {height}x{width} input")
        bias = (
            self.bias(node, self.constant(node, 2, "B"), weights.shape[0])
            if len(node.input) > 2 and node.input[2]
            else None
        )
        self.weighted(
            node, _Dense(name, "conv", weights, bias, stride, pad, (tensor,), name), (1, weights.shape[0], out_h, out_w)
        )

    def weighted(self, node: Any, item: _Dense, shape: tuple[int, ...]) -> None:
        self.items.append(item)
        self.define(node, item.output, shape)
        self.producer[node.output[0]] = item

    def _relu(self, node: Any, name: str) -> None:
        self.attributes(node, {})
        tensor, _ = self.read(node)
        item = self.producer.get(node.input[0])
        if item is None or not self.single_reader(node.input[0]):
            raise self.error(node, "a Relu must directly follow a Gemm, MatMul or Conv whose output nothing else reads")
        item.relu = True
        self.alias(node, tensor)
        self.producer[node.output[0]] = item

    def _pool(self, node: Any, name: str, mode: Literal["max", "avg"]) -> None:
        defaults = {"auto_pad": "NOTSET", "ceil_mode": 0, "kernel_shape": [], "pads": [], "strides": []}
        defaults.update({"dilations": [], "storage_order": 0} if mode == "max" else {"count_include_pad": 0})
        attrs = self.attributes(node, defaults)
        if len(node.output) > 1 and node.output[1]:
            raise self.error(node, "the Indices output is not supported")
        if any(d != 1 for d in attrs.get("dilations", [])) or attrs.get("storage_order", 0):
            raise self.error(node, "dilations and storage_order are not supported")
        tensor, (channels, height, width) = self.image(node)
        kernel = self.square(node, "kernel_shape", list(attrs["kernel_shape"]))
        stride = self.square(node, "strides", list(attrs["strides"]) or [1, 1])
        pad = self.pads(node, attrs)
        if mode == "avg" and pad and not attrs["count_include_pad"]:
            raise self.error(node, "padding left out of the average (count_include_pad=0 with pads) is not supported")
        size = {}
        for axis, extent in (("height", height), ("width", width)):
            span = extent + 2 * pad - kernel
            if span < 0:
                raise self.error(node, f"kernel {kernel} is larger than its padded {height}x{width} input")
            onnx_size = (ceil_div(span, stride) if attrs["ceil_mode"] else span // stride) + 1
            if attrs["ceil_mode"] and (onnx_size - 1) * stride >= extent + pad:
                onnx_size -= 1
            size[axis] = pool_output_size(extent, kernel, stride, pad)
            if onnx_size != size[axis]:
                raise self.error(
                    node,
                    f"its {axis} output {onnx_size} (ceil_mode={attrs['ceil_mode']}) differs from the simulator's "
                    f"Caffe ceil-mode pooling ({size[axis]}); not supported",
                )
        self.items.append(Pool(name, mode, kernel=kernel, stride=stride, pad=pad, inputs=(tensor,), output=name))
        self.define(node, name, (1, channels, size["height"], size["width"]))

    def _maxpool(self, node: Any, name: str) -> None:
        self._pool(node, name, "max")

    def _averagepool(self, node: Any, name: str) -> None:
        self._pool(node, name, "avg")

    def _global(self, node: Any, name: str, mode: Literal["max", "avg"]) -> None:
        self.attributes(node, {})
        tensor, (channels, height, _) = self.image(node)
        self.items.append(Pool(name, mode, kernel=height, stride=1, global_=True, inputs=(tensor,), output=name))
        self.define(node, name, (1, channels, 1, 1))

    def _globalaveragepool(self, node: Any, name: str) -> None:
        self._global(node, name, "avg")

    def _globalmaxpool(self, node: Any, name: str) -> None:
        self._global(node, name, "max")

    def _concat(self, node: Any, name: str) -> None:
        axis = self.attributes(node, {"axis": 1})["axis"]
        if axis not in (1, -3):
            raise self.error(node, f"axis {axis}: only concatenation along the channels (axis 1) is supported")
        parts = [self.image(node, position) for position in range(len(node.input))]
        sizes = {shape[1:] for _, shape in parts}
        if len(sizes) != 1:
            raise self.error(node, f"inputs of different heights and widths {sorted(sizes)}")
        self.items.append(Concat(name, tuple(tensor for tensor, _ in parts), output=name))
        self.define(node, name, (1, sum(shape[0] for _, shape in parts), *sizes.pop()))

    def _flatten(self, node: Any, name: str) -> None:
        axis = self.attributes(node, {"axis": 1})["axis"]
        tensor, shape = self.read(node)
        axis = axis + len(shape) if axis < 0 else axis
        if axis not in (0, 1) or (axis == 0 and shape[0] != 1):
            raise self.error(
                node, f"axis {axis} on shape {shape}: only flattening all but the batch dimension is supported"
            )
        self.flatten(node, name, tensor, shape)

    def flatten(self, node: Any, name: str, tensor: str, shape: tuple[int, ...]) -> None:
        if len(shape) == 2:
            self.alias(node, tensor)
            return
        self.items.append(Flatten(name, inputs=(tensor,), output=name))
        self.define(node, name, (shape[0], math.prod(shape[1:])))

    def _reshape(self, node: Any, name: str) -> None:
        copy_zeros = not self.attributes(node, {"allowzero": 0})["allowzero"]  # 0 copies the input's dimension
        tensor, shape = self.read(node)
        target = [int(v) for v in self.constant(node, 1, "shape").ravel()]
        resolved = [shape[i] if v == 0 and copy_zeros and i < len(shape) else v for i, v in enumerate(target)]
        if resolved.count(-1) == 1:
            known = math.prod(v for v in resolved if v != -1)
            resolved[resolved.index(-1)] = math.prod(shape) // known if known else 0
        if resolved != [shape[0], math.prod(shape[1:])]:
            raise self.error(node, f"reshapes {shape} to {target}: only flattening to (batch, features) is supported")
        self.flatten(node, name, tensor, shape)

    def _dropout(self, node: Any, name: str) -> None:
        self.attributes(node, {"seed": 0, "ratio": 0.5, "is_test": 0})
        if len(node.output) > 1 and node.output[1] and node.output[1] in self.consumers:
            raise self.error(node, "its mask output is read by another node; not supported")
        self.alias(node, self.read(node)[0])

    def _identity(self, node: Any, name: str) -> None:
        self.attributes(node, {})
        self.alias(node, self.read(node)[0])

    def constant_value(self, node: Any) -> np.ndarray:
        attrs = self.attributes(
            node, dict.fromkeys(("value", "value_float", "value_floats", "value_int", "value_ints"))
        )
        given = [key for key, value in attrs.items() if value is not None]
        if len(given) != 1:
            raise self.error(node, "needs exactly one of value, value_float(s), value_int(s)")
        value = attrs[given[0]]
        return (
            self.array(value, f"node {node.name or '(unnamed)'} (Constant)")
            if given[0] == "value"
            else np.asarray(value)
        )

    def _softmax(self, node: Any, name: str) -> None:
        self.attributes(node, {"axis": -1})
        tensor, _ = self.read(node)
        if node.output[0] in self.consumers or node.output[0] not in self.graph_outputs:
            raise self.error(
                node, "a Softmax is only supported as the last op (it is dropped: the network ends in logits)"
            )
        self.alias(node, tensor)


def compress_layer(item: _Dense, weight_bits: int, density: float | None) -> Layer:
    """Prune to `density` when given, then share weights (share.make_layer: a layer that already takes at most
    2**weight_bits - 1 distinct non-zero values keeps them as its codebook, any other is k-means shared)."""
    weights = item.weights if density is None else prune_to_density(item.weights, density, name=f"layer {item.name}")
    return make_layer(
        item.name, item.kind, weights, weight_bits, item.bias,
        relu=item.relu, stride=item.stride, pad=item.pad, inputs=item.inputs, output=item.output,
    )  # fmt: skip


def _input_shape(value_info: Any, where: str) -> tuple[int, ...]:
    """A graph input's static shape; a symbolic batch dimension counts as 1."""
    dims = value_info.type.tensor_type.shape.dim
    shape = []
    for position, dim in enumerate(dims):
        if dim.HasField("dim_value") and dim.dim_value > 0:
            shape.append(int(dim.dim_value))
        elif position == 0:
            shape.append(1)
        else:
            raise InputError(
                f"{where}: input {value_info.name!r} has a dynamic dimension {position}; a static shape is needed"
            )
    if len(shape) not in (2, 4) or (len(shape) == 4 and shape[0] != 1):
        raise InputError(
            f"{where}: input {value_info.name!r} has shape {shape}; (1, C, H, W) or (N, features) is supported"
        )
    return tuple(shape)


def _network_input(shape: tuple[int, ...], given: np.ndarray | None, seed: int, where: str) -> np.ndarray:
    """The input array without a batch dimension of 1: the one given, or a seeded random one (non-negative images).

    A random input is drawn in float64 a chunk at a time into its float32 array (the same values as one draw), so
    that drawing needs no more than the input itself.
    """
    internal = shape[1:] if shape[0] == 1 else shape
    if given is None:
        rng = np.random.default_rng(seed)
        draw = rng.random if len(internal) == 3 else rng.standard_normal
        drawn = np.empty(internal, dtype=np.float32)
        flat = drawn.reshape(-1)
        for start in range(0, flat.size, _DRAW_CHUNK):
            flat[start : start + _DRAW_CHUNK] = draw(min(_DRAW_CHUNK, flat.size - start))
        return drawn
    array = np.asarray(given, dtype=np.float32)
    if array.shape not in (internal, shape):
        raise InputError(f"the input has shape {array.shape}, but {where} expects {shape}")
    return array.reshape(internal)


def _load_model(path: Path) -> Any:
    """The checked model with its external data, refused from the sizes it declares before anything large is read."""
    onnx = _onnx()
    from google.protobuf.message import Error as ProtobufError

    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            build_need([], file_bytes=size).check(str(path))  # the protobuf, before it is read
            data = handle.read(size)  # no further than measured: a device such as /dev/zero has no end
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        model = onnx.load_model_from_string(data)
        declared_need(model, path, size).check(str(path))
        onnx.load_external_data_for_model(model, str(path.parent))
        onnx.checker.check_model(model)
    except InputError:
        raise
    except (ProtobufError, onnx.checker.ValidationError, OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a valid ONNX model ({first_line})") from None
    return model


def _tensors(graph: Any) -> Iterator[Any]:
    """Every tensor whose data a graph holds: its initializers and its nodes' tensor attributes, subgraphs too."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            for subgraph in [*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs]:
                yield from _tensors(subgraph)


def _external_bytes(tensor: Any, path: Path) -> int:
    """The bytes of a tensor's external data (its `length`, or its file from `offset` on), from the file's size."""
    entries = {entry.key: entry.value for entry in tensor.external_data}
    location = entries.get("location", "")
    try:
        info = os.stat(path.parent / location)
    except OSError as exc:
        raise InputError(
            f"{path}: the external data of {tensor.name!r}, {location!r}, cannot be read ({exc.strerror})"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: the external data of {tensor.name!r}, {location!r}, is not a regular file")
    return int(entries["length"]) if "length" in entries else max(info.st_size - int(entries.get("offset", 0)), 0)


def declared_need(model: Any, path: Path, size: int) -> Need:
    """The memory importing `model` (read from `path`, of `size` bytes; its external data not yet) needs, from the
    sizes it declares: every tensor becomes a dense float array, its stored bytes are held while it is converted,
    and the input is drawn whole."""
    weights, stored = 0, size
    for tensor in _tensors(model.graph):
        if any(dim < 0 for dim in tensor.dims):
            raise InputError(f"{path}: tensor {tensor.name!r} has a negative dimension in {list(tensor.dims)}")
        weights += math.prod(tensor.dims)
        if tensor.data_location == tensor.EXTERNAL:
            stored += _external_bytes(tensor, path)
    constants = {tensor.name for tensor in model.graph.initializer}
    inputs = sum(
        math.prod(max(dim.dim_value, 1) for dim in value.type.tensor_type.shape.dim)
        for value in model.graph.input
        if value.name not in constants
    )
    return build_need([], dense_weights=weights, file_bytes=stored, inputs=inputs)


def load_onnx(
    path: str | Path, seed: int = 0, weight_bits: int = 4, density: float | None = None, input: np.ndarray | None = None
) -> Network:
    """Read an ONNX model as a Network of compressed layers (see compress_layer), run on `input` or a seeded one."""
    path = Path(path)
    graph = _load_model(path).graph
    importer = _Importer(graph, str(path))
    inputs = [value for value in graph.input if value.name not in importer.constants]
    if len(inputs) != 1:
        raise InputError(f"{path}: the model has {len(inputs)} inputs besides its weights; exactly one is supported")
    shape = _input_shape(inputs[0], str(path))
    importer.tensors[inputs[0].name] = INPUT
    importer.shapes[INPUT] = shape
    for index, node in enumerate(graph.node):
        importer.add(node, index)
    if len(importer.graph_outputs) != 1:
        raise InputError(f"{path}: the model has {len(importer.graph_outputs)} outputs; exactly one is supported")
    final = importer.tensors.get(importer.graph_outputs[0])
    if not importer.items or final != importer.items[-1].output:
        raise InputError(
            f"{path}: the graph output {importer.graph_outputs[0]!r} must be produced by its last supported node"
        )
    if not importer.producer:
        raise InputError(f"{path}: no Gemm, MatMul or Conv node")
    network_need(importer.layer_sizes(), sum(map(math.prod, importer.shapes.values()))).check(str(path))
    ops = tuple(
        compress_layer(item, weight_bits, density) if isinstance(item, _Dense) else item for item in importer.items
    )
    return Network(name=path.stem, ops=ops, input=_network_input(shape, input, seed, str(path)), source=str(path))
