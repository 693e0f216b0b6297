"""Deep Compression's released `.net` files (Han et al., ICLR 2016) with the Caffe prototxt that describes them.

Layout of a `.net` file (songhan/SqueezeNet-Deep-Compression): a header of one little-endian uint32 per weighted
layer, in prototxt order, giving the number of stored entries n; then per layer its codebook (float32 x 2**bits;
8 bits for Convolution, 4 for InnerProduct), bias (float32 x outputs), codes (n x bits, two to a byte low nibble
first when 4) and relative indices (n x 4 bits, low nibble first). An entry with relative index r lies r + 1
positions after the previous one in the weight blob flattened in Caffe order (out, in, kh, kw); an entry with
code 0 is a filler that bridges a gap longer than 15. The file stores no shapes: those come from the prototxt.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from eie_sim.errors import InputError
from eie_sim.formats import prototxt
from eie_sim.model.network import Network
from eie_sim.model.ops import INPUT, Concat, Flatten, Layer, Op, Pool
from eie_sim.model.shapes import conv_output_size, pool_output_size
from eie_sim.model.sparse import SparseCodes
from eie_sim.support.arithmetic import ceil_div
from eie_sim.support.memory_budget import LayerSize, build_need

CODE_BITS = {"conv": 8, "fc": 4}  # codebook index width by layer kind, as the release's encoder wrote them
INDEX_BITS = 4
SUPPORTED_TYPES = ("Input", "Convolution", "InnerProduct", "ReLU", "Pooling", "Concat", "Dropout", "Softmax", "Flatten")


@dataclass
class _Weighted:
    """A Convolution or InnerProduct of the prototxt, before its weights are read from the .net file."""

    name: str
    kind: Literal["fc", "conv"]
    shape: tuple[int, ...]
    stride: int
    pad: int
    inputs: tuple[str, ...]
    output: str
    relu: bool = False


def _square(param: prototxt.Message, key: str, key_h: str, key_w: str, default: int | None, layer: str) -> int:
    """A size Caffe lets one give as `key` (once or per axis) or as `key_h`/`key_w`; only square ones are supported."""
    if param.has(key_h) or param.has(key_w):
        values = [param.integer(key_h), param.integer(key_w)]
    else:
        values = param.integers(key)
        if not values:
            if default is None:
                raise param.error(f"layer {layer}: missing {key}")
            return default
    if len(values) > 2 or len(set(values)) != 1:
        raise param.error(
            f"layer {layer}: {key} {values} is not square; only square kernels, strides and pads are supported"
        )
    return values[0]


class _Graph:
    """The prototxt's layers in order, as ops on named tensors whose shapes are tracked as they are produced."""

    def __init__(self) -> None:
        self.items: list[_Weighted | Op] = []
        self.input_shape: tuple[int, ...] | None = None
        self.names: dict[str, str] = {}  # prototxt blob -> network tensor
        self.shapes: dict[str, tuple[int, ...]] = {}  # network tensor -> (C, H, W) or (D,)
        self.unusable: dict[str, str] = {}  # prototxt blob -> why no layer may read it
        self.producer: dict[str, _Weighted] = {}  # network tensor -> the weighted layer that wrote it
        self.consumed: set[str] = set()
        self.layer_names: set[str] = set()

    def set_input(self, blob: str, dims: list[int], where: prototxt.Message) -> None:
        if self.input_shape is not None:
            raise where.error("more than one network input; only one is supported")
        if len(dims) not in (2, 4) or min(dims, default=0) < 1:
            raise where.error(f"input shape {dims} must be 4 positive dims (N, C, H, W) or 2 (N, D)")
        self.input_shape = tuple(dims[1:])
        self.names[blob] = INPUT
        self.shapes[INPUT] = self.input_shape

    def read(self, blob: str, layer: prototxt.Message, consume: bool = True) -> tuple[str, tuple[int, ...]]:
        name = layer.text("name")
        if blob in self.unusable:
            raise layer.error(f"layer {name} reads {blob!r}, {self.unusable[blob]}: not supported")
        if blob not in self.names:
            raise layer.error(f"layer {name} reads {blob!r}, which no earlier layer produces")
        tensor = self.names[blob]
        if consume:
            self.consumed.add(tensor)
        return tensor, self.shapes[tensor]

    def define(self, tensor: str, shape: tuple[int, ...], layer: prototxt.Message, blob: str | None = None) -> None:
        if tensor in self.shapes:
            raise layer.error(
                f"layer {layer.text('name')}: top {tensor!r} is already defined "
                "(only ReLU and Dropout may work in place)"
            )
        self.shapes[tensor] = shape
        if blob is not None:
            self.names[blob] = tensor
            self.unusable.pop(blob, None)

    def add(self, layer: prototxt.Message) -> None:
        name, kind = layer.text("name"), layer.text("type")
        if name in self.layer_names:
            raise layer.error(f"a second layer named {name!r}")
        self.layer_names.add(name)
        bottoms, tops = layer.texts("bottom"), layer.texts("top")
        if kind == "Input":
            dims = layer.child("input_param").child("shape").integers("dim")
            self.set_input(self._single(tops, "top", layer), dims, layer)
            return
        if kind not in SUPPORTED_TYPES:
            raise layer.error(f"layer {name}: type {kind!r} is not supported (supported: {', '.join(SUPPORTED_TYPES)})")
        top = self._single(tops, "top", layer)
        if kind == "Concat":
            self._concat(layer, bottoms, top)
            return
        bottom = self._single(bottoms, "bottom", layer)
        if kind == "Convolution":
            self._convolution(layer, bottom, top)
        elif kind == "InnerProduct":
            self._inner_product(layer, bottom, top)
        elif kind == "ReLU":
            self._relu(layer, bottom, top)
        elif kind == "Pooling":
            self._pooling(layer, bottom, top)
        elif kind == "Flatten":
            tensor, shape = self.read(bottom, layer)
            if len(shape) == 1:
                self.names[top] = tensor
            else:
                self.items.append(Flatten(name, inputs=(tensor,), output=top))
                self.define(top, (math.prod(shape),), layer, top)
        else:  # Dropout is the identity at inference; Softmax is monotone and dropped, the output stays the logits
            tensor, _ = self.read(bottom, layer, consume=False)
            self.names[top] = tensor
            if kind == "Softmax":
                self.unusable[top] = f"the output of Softmax {name}, which is not modelled (the network ends in logits)"

    @staticmethod
    def _single(blobs: list[str], what: str, layer: prototxt.Message) -> str:
        if len(blobs) != 1:
            raise layer.error(f"layer {layer.text('name')}: expected one {what}, got {len(blobs)}")
        return blobs[0]

    def _image(self, bottom: str, layer: prototxt.Message) -> tuple[str, tuple[int, int, int]]:
        tensor, shape = self.read(bottom, layer)
        if len(shape) != 3:
            raise layer.error(f"layer {layer.text('name')}: needs a (C, H, W) input, but {bottom!r} has shape {shape}")
        return tensor, (shape[0], shape[1], shape[2])

    def _convolution(self, layer: prototxt.Message, bottom: str, top: str) -> None:
        name, param = layer.text("name"), layer.child("convolution_param")
        outputs = param.integer("num_output")
        kernel = _square(param, "kernel_size", "kernel_h", "kernel_w", None, name)
        stride = _square(param, "stride", "stride_h", "stride_w", 1, name)
        pad = _square(param, "pad", "pad_h", "pad_w", 0, name)
        if outputs < 1 or kernel < 1 or stride < 1 or pad < 0:
            raise param.error(
                f"layer {name}: num_output {outputs}, kernel_size {kernel}, stride {stride}, pad {pad} out of range"
            )
        if param.integer("group", 1) != 1 or any(d != 1 for d in param.integers("dilation")):
            raise param.error(f"layer {name}: grouped or dilated convolution is not supported")
        if not param.flag("bias_term", True):
            raise param.error(
                f"layer {name}: bias_term false is not supported (the .net format stores a bias per layer)"
            )
        tensor, (channels, height, width) = self._image(bottom, layer)
        out_h, out_w = (conv_output_size(size, kernel, stride, pad) for size in (height, width))
        if min(out_h, out_w) < 1:
            raise param.error(f"layer {name}: kernel {kernel} is larger than its padded {height}x{width} input")
        self._weighted(
            _Weighted(name, "conv", (outputs, channels, kernel, kernel), stride, pad, (tensor,), top),
            (outputs, out_h, out_w),
            layer,
        )

    def _inner_product(self, layer: prototxt.Message, bottom: str, top: str) -> None:
        name, param = layer.text("name"), layer.child("inner_product_param")
        outputs = param.integer("num_output")
        if outputs < 1:
            raise param.error(f"layer {name}: num_output must be positive, got {outputs}")
        if not param.flag("bias_term", True) or param.flag("transpose", False) or param.integer("axis", 1) != 1:
            raise param.error(f"layer {name}: only bias_term true, transpose false and axis 1 are supported")
        tensor, shape = self.read(bottom, layer)
        if len(shape) == 3:
            flat = f"{name}/flatten"
            self.items.append(Flatten(flat, inputs=(tensor,), output=flat))
            self.define(flat, (math.prod(shape),), layer)
            tensor = flat
        self._weighted(_Weighted(name, "fc", (outputs, math.prod(shape)), 1, 0, (tensor,), top), (outputs,), layer)

    def _weighted(self, item: _Weighted, shape: tuple[int, ...], layer: prototxt.Message) -> None:
        self.items.append(item)
        self.define(item.output, shape, layer, item.output)
        self.producer[item.output] = item

    def _relu(self, layer: prototxt.Message, bottom: str, top: str) -> None:
        """Folded into the layer that produced its input, as EIE's activation write unit applies it."""
        name = layer.text("name")
        if layer.child("relu_param").number("negative_slope", 0.0) != 0.0:
            raise layer.error(f"layer {name}: leaky ReLU (negative_slope) is not supported")
        tensor, _ = self.read(bottom, layer, consume=False)
        item = self.producer.get(tensor)
        if item is None:
            raise layer.error(
                f"layer {name}: a ReLU must follow a Convolution or InnerProduct, but {bottom!r} is not one's output"
            )
        if tensor in self.consumed:
            raise layer.error(
                f"layer {name}: {bottom!r} is read by another layer before this ReLU; "
                f"that cannot be folded into {item.name}"
            )
        item.relu = True
        if top != bottom:
            self.names[top] = tensor
            self.unusable[bottom] = f"the output of {item.name} before ReLU {name}"

    def _pooling(self, layer: prototxt.Message, bottom: str, top: str) -> None:
        name, param = layer.text("name"), layer.child("pooling_param")
        modes: dict[str, Literal["max", "avg"]] = {"MAX": "max", "AVE": "avg"}
        mode = param.text("pool", "MAX")
        if mode not in modes:
            raise param.error(f"layer {name}: pool {mode} is not supported (MAX or AVE)")
        tensor, (channels, height, width) = self._image(bottom, layer)
        if param.flag("global_pooling", False):
            pool = Pool(name, modes[mode], kernel=height, stride=1, pad=0, global_=True, inputs=(tensor,), output=top)
            self.items.append(pool)
            self.define(top, (channels, 1, 1), layer, top)
            return
        kernel = _square(param, "kernel_size", "kernel_h", "kernel_w", None, name)
        stride = _square(param, "stride", "stride_h", "stride_w", 1, name)
        pad = _square(param, "pad", "pad_h", "pad_w", 0, name)
        if kernel < 1 or stride < 1 or not 0 <= pad < kernel or min(height, width) + 2 * pad < kernel:
            raise param.error(
                f"layer {name}: kernel_size {kernel}, stride {stride}, pad {pad} do not fit its {height}x{width} input"
            )
        self.items.append(Pool(name, modes[mode], kernel=kernel, stride=stride, pad=pad, inputs=(tensor,), output=top))
        self.define(
            top,
            (channels, pool_output_size(height, kernel, stride, pad), pool_output_size(width, kernel, stride, pad)),
            layer,
            top,
        )

    def _concat(self, layer: prototxt.Message, bottoms: list[str], top: str) -> None:
        name, param = layer.text("name"), layer.child("concat_param")
        if not bottoms:
            raise layer.error(f"layer {name}: a Concat needs at least one bottom")
        read = [self.read(blob, layer) for blob in bottoms]
        ndim = len(read[0][1])
        axis = param.integer("axis", param.integer("concat_dim", 1))
        if axis not in (1, -ndim) or any(len(shape) != ndim or shape[1:] != read[0][1][1:] for _, shape in read):
            raise param.error(
                f"layer {name}: only channel concatenation of equal-sized inputs is supported, "
                f"got axis {axis} and shapes {[s for _, s in read]}"
            )
        self.items.append(Concat(name, inputs=tuple(t for t, _ in read), output=top))
        self.define(top, (sum(shape[0] for _, shape in read),) + read[0][1][1:], layer, top)


def _graph(definition: prototxt.Message) -> _Graph:
    """Walk the network definition, checking names and shapes as it goes."""
    graph = _Graph()
    if definition.has("layers"):
        raise definition.error(
            "old-style 'layers' entries (Caffe V1) are not supported; "
            "upgrade the file with Caffe's upgrade_net_proto_text"
        )
    inputs = definition.texts("input")
    if len(inputs) > 1:
        raise definition.error("more than one network input; only one is supported")
    if inputs:
        dims = definition.integers("input_dim") or [
            d for shape in definition.children("input_shape") for d in shape.integers("dim")
        ]
        graph.set_input(inputs[0], dims, definition)
    for layer in definition.children("layer"):
        graph.add(layer)
    if graph.input_shape is None:
        raise definition.error("no network input (input + input_dim, input_shape, or an Input layer)")
    if not any(isinstance(item, _Weighted) for item in graph.items):
        raise definition.error("no Convolution or InnerProduct layer")
    return graph


class _Cursor:
    """Reads consecutive sections of the .net file, tallying bytes by part, with errors that say where it broke."""

    def __init__(self, data: bytes, path: Path, definition: str) -> None:
        self.data, self.path, self.definition = data, path, definition
        self.pos = 0
        self.parts = {"header": 0, "codebooks": 0, "biases": 0, "codes": 0, "indices": 0}

    def mismatch(self, message: str) -> InputError:
        return InputError(f"{self.path}: {message}: the file is corrupt, or {self.definition} does not describe it")

    def take(self, nbytes: int, part: str, what: str) -> np.ndarray:
        if self.pos + nbytes > len(self.data):
            raise self.mismatch(
                f"the file ends inside {what} ({nbytes:,} bytes needed at offset {self.pos:,}, "
                f"{len(self.data) - self.pos:,} left)"
            )
        chunk = np.frombuffer(self.data, dtype=np.uint8, count=nbytes, offset=self.pos)
        self.pos += nbytes
        self.parts[part] += nbytes
        return chunk

    def floats(self, count: int, part: str, what: str) -> np.ndarray:
        values = self.take(4 * count, part, what).view("<f4").astype(np.float32)
        if not np.all(np.isfinite(values)):
            raise self.mismatch(f"{what} holds NaN or infinite values")
        return values


def _nibbles(raw: np.ndarray, count: int) -> np.ndarray:
    """Unpack 4-bit fields stored two to a byte, low nibble first."""
    return np.stack([raw & 0x0F, raw >> 4], axis=1).reshape(-1)[:count]


def _decode(cursor: _Cursor, item: _Weighted, entries: int) -> tuple[Layer, int]:
    """One layer's sections -> (Layer, number of filler entries)."""
    size = math.prod(item.shape)
    if entries > size:
        raise cursor.mismatch(
            f"the header gives layer {item.name} {entries:,} entries, more than its {size:,} weights {item.shape}"
        )
    bits = CODE_BITS[item.kind]
    codebook = cursor.floats(1 << bits, "codebooks", f"layer {item.name}'s codebook")
    if codebook[0] != 0:
        raise cursor.mismatch(f"layer {item.name}'s codebook starts with {float(codebook[0])!r} instead of 0")
    bias = cursor.floats(item.shape[0], "biases", f"layer {item.name}'s bias")
    raw_codes = cursor.take(ceil_div(entries * bits, 8), "codes", f"layer {item.name}'s codes")
    codes = raw_codes if bits == 8 else _nibbles(raw_codes, entries)
    steps = _nibbles(cursor.take(ceil_div(entries * INDEX_BITS, 8), "indices", f"layer {item.name}'s indices"), entries)
    positions = np.cumsum(steps.astype(np.int64) + 1) - 1
    if entries and positions[-1] >= size:
        raise cursor.mismatch(
            f"layer {item.name}'s indices reach position {positions[-1]:,}, beyond its {size:,} weights {item.shape}"
        )
    real = codes != 0  # fillers bridge long gaps and hold no weight
    matrix = (item.shape[0], size // item.shape[0])
    layer = Layer(
        name=item.name,
        kind=item.kind,
        shape=item.shape,
        codes=SparseCodes.from_positions(matrix, positions[real], codes[real]),
        codebook=codebook,
        bias=bias,
        relu=item.relu,
        stride=item.stride,
        pad=item.pad,
        inputs=item.inputs,
        output=item.output,
        code_bits=bits,
    )
    return layer, int(np.count_nonzero(codes == 0))


def _find_prototxt(net_path: Path) -> Path:
    found = sorted(net_path.parent.glob("*.prototxt"))
    if len(found) != 1:
        listed = f" ({', '.join(p.name for p in found)})" if found else ""
        raise InputError(
            f"{net_path}: found {len(found)} .prototxt files beside it{listed}; "
            "name the Caffe prototxt that describes it"
        )
    return found[0]


def _network_input(value: np.ndarray | str | Path | None, shape: tuple[int, ...], definition: str) -> np.ndarray:
    if value is None:
        if shape != (3, 227, 227):
            raise InputError(f"{definition}: the network input has shape {shape}; give an input array of that shape")
        value = "china.jpg"
    if isinstance(value, (str, Path)):
        from eie_sim.formats.image import load_image

        value = load_image(str(value))
    array = np.asarray(value, dtype=np.float32)
    if array.shape != shape:
        raise InputError(f"the input has shape {array.shape}, but {definition} expects {shape}")
    return array


def load_caffe_net(
    net_path: str | Path, prototxt_path: str | Path | None = None, input: np.ndarray | str | Path | None = None
) -> Network:
    """Read a Deep Compression `.net` file as a Network, shapes and graph taken from its Caffe prototxt.

    `prototxt_path` defaults to the only `*.prototxt` beside the file. `input` is an array of the network's input
    shape, an image path or sample name for load_image, or None for the sample photo china.jpg (227x227 inputs).
    Network.stored_bytes is the file's own breakdown (header, codebooks, biases, codes, indices: it adds up to the
    file size); Network.fillers counts, per layer, the filler entries the file stores.
    """
    net_path = Path(net_path)
    definition_path = Path(prototxt_path) if prototxt_path is not None else _find_prototxt(net_path)
    graph = _graph(prototxt.read(definition_path))
    weighted = [item for item in graph.items if isinstance(item, _Weighted)]
    header_bytes = 4 * len(weighted)
    try:
        with open(net_path, "rb") as handle:
            raw = handle.read(header_bytes)  # a short file is reported below, where its parts are read
            counts = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<u4").astype(np.int64)
            size = os.fstat(handle.fileno()).st_size
            sizes = [LayerSize(i.name, i.shape[0], math.prod(i.shape[1:]), int(n)) for i, n in zip(weighted, counts)]
            build_need(sizes, file_bytes=size).check(str(net_path))  # from the header, before the file is read
            handle.seek(0)
            data = handle.read(size)  # no more than was measured: a device such as /dev/zero has no end
    except FileNotFoundError:
        raise InputError(f"{net_path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{net_path}: cannot read ({exc.strerror})") from None
    cursor = _Cursor(data, net_path, str(definition_path))
    header = cursor.take(header_bytes, "header", f"the header ({len(weighted)} weighted layers)")
    entries = header.view("<u4").astype(np.int64)
    layers, fillers = {}, {}
    for item, count in zip(weighted, entries):
        layers[item.name], fillers[item.name] = _decode(cursor, item, int(count))
    if cursor.pos != len(data):
        raise cursor.mismatch(
            f"{len(data) - cursor.pos:,} bytes remain after the last of {len(weighted)} weighted layers"
        )
    assert graph.input_shape is not None
    ops = tuple(layers[item.name] if isinstance(item, _Weighted) else item for item in graph.items)
    return Network(
        name=net_path.stem,
        ops=ops,
        input=_network_input(input, graph.input_shape, str(definition_path)),
        source=str(net_path),
        stored_bytes=dict(cursor.parts),
        fillers=fillers,
    )
