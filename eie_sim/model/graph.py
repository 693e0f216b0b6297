"""Running a network's ops in order, with the weighted layers delegated to a matrix-vector function.

The same pass serves the float32 reference, the fixed-point reference and both engines: only `matvec` and the
number kind differ, so glue ops (im2col, pooling, concatenation) are computed identically everywhere.
Convolutions become matrix-vector work: one input patch (in * kh * kw, Caffe order) per output position.
An FC layer reads a 2-D tensor (vectors, features) whose rows match its inputs as a batch of independent input
vectors (e.g. a test set through an MLP) and outputs (vectors, outputs); any other tensor is one flattened vector.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from eie_sim.errors import InputError
from eie_sim.model import fixedpoint
from eie_sim.model.network import INPUT, Concat, Flatten, Layer, Network, Op, Pool

MatVec = Callable[[Layer, np.ndarray], np.ndarray]  # (layer, (vectors, cols)) -> (vectors, rows)


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Caffe's ceil mode, with its rule that the last window must start inside the (left-padded) input."""
    out = -(-(size + 2 * pad - kernel) // stride) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def im2col(x: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """(C, H, W) -> (H' * W', C * k * k): one row per output position, columns in Caffe weight order."""
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x, (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
    channels, out_h, out_w = windows.shape[:3]
    return windows.transpose(1, 2, 0, 3, 4).reshape(out_h * out_w, channels * kernel * kernel)


def _pool(x: np.ndarray, op: Pool, fixed: bool) -> np.ndarray:
    channels, height, width = x.shape
    if op.global_:
        total = x.reshape(channels, -1)
        if op.mode == "max":
            return total.max(axis=1).reshape(channels, 1, 1)
        count = height * width
        mean = fixedpoint.average(total.sum(axis=1), count) if fixed else total.mean(axis=1, dtype=np.float64)
        return mean.astype(x.dtype).reshape(channels, 1, 1)
    out_h = pool_output_size(height, op.kernel, op.stride, op.pad)
    out_w = pool_output_size(width, op.kernel, op.stride, op.pad)
    extra_h = (out_h - 1) * op.stride + op.kernel - height - op.pad
    extra_w = (out_w - 1) * op.stride + op.kernel - width - op.pad
    if op.mode == "max":
        low = np.iinfo(np.int64).min if fixed else -np.inf
        padded = np.pad(x, ((0, 0), (op.pad, max(extra_h, 0)), (op.pad, max(extra_w, 0))), constant_values=low)
        windows = sliding_window_view(padded, (op.kernel, op.kernel), axis=(1, 2))[:, :: op.stride, :: op.stride]
        return windows.max(axis=(3, 4))[:, :out_h, :out_w]
    padded = np.pad(x, ((0, 0), (op.pad, max(extra_h, 0)), (op.pad, max(extra_w, 0))))
    windows = sliding_window_view(padded, (op.kernel, op.kernel), axis=(1, 2))[:, :: op.stride, :: op.stride]
    sums = windows.sum(axis=(3, 4))[:, :out_h, :out_w]
    count = np.outer(_window_sizes(out_h, height, op), _window_sizes(out_w, width, op))
    return fixedpoint.average(sums, count) if fixed else (sums / count).astype(x.dtype)


def _window_sizes(out: int, size: int, op: Pool) -> np.ndarray:
    """Caffe's average-pool divisor per output: the window clipped to the padded input, padding counted."""
    start = np.arange(out) * op.stride - op.pad
    return np.minimum(start + op.kernel, size + op.pad) - start


def shapes(network: Network, inputs: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape from the external inputs' shapes, computing nothing: a network whose shapes do not
    chain fails here, naming the op, before any work (and memory estimates can see every tensor's size)."""
    known = {name: tuple(shape) for name, shape in inputs.items()}
    for op in network.ops:
        if not op.inputs:
            raise InputError(f"network {network.name}: op {op.name} reads no tensor")
        missing = [name for name in op.inputs if name not in known]
        if missing:
            raise InputError(f"network {network.name}: op {op.name} reads tensor {missing[0]!r} that nothing produced")
        known[op.output] = _output_shape(op, [known[name] for name in op.inputs])
    return known


def network_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """shapes() of a network run on its own inputs."""
    return shapes(network, {INPUT: network.input.shape, **{name: x.shape for name, x in network.extra_inputs.items()}})


def _output_shape(op: Op, sources: list[tuple[int, ...]]) -> tuple[int, ...]:
    source = sources[0]
    if isinstance(op, Flatten):
        return (math.prod(source),)
    if isinstance(op, Layer) and op.kind == "fc":
        if len(source) == 2 and source[1] == op.cols:
            return (source[0], op.rows)
        if math.prod(source) != op.cols:
            raise InputError(f"layer {op.name}: expects {op.cols} inputs, gets {math.prod(source)} (shape {source})")
        return (op.rows,)
    planes = [_planes(op, source) for source in sources]
    if isinstance(op, Concat):
        if len({plane[1:] for plane in planes}) != 1:
            raise InputError(f"op {op.name}: inputs of different heights and widths {[list(p[1:]) for p in planes]}")
        return (sum(plane[0] for plane in planes), *planes[0][1:])
    channels, height, width = planes[0]
    if isinstance(op, Pool):
        if op.global_:
            return (channels, 1, 1)
        if op.kernel > min(height, width) + 2 * op.pad:
            raise InputError(
                f"pool {op.name}: a {op.kernel}x{op.kernel} window does not fit a {height}x{width} input padded by {op.pad}"
            )
        return (
            channels,
            pool_output_size(height, op.kernel, op.stride, op.pad),
            pool_output_size(width, op.kernel, op.stride, op.pad),
        )
    in_channels = op.codes.shape[1]
    if channels != in_channels:
        raise InputError(f"layer {op.name}: expects {in_channels} input channels, gets {channels}")
    out_h = conv_output_size(height, op.kernel, op.stride, op.pad)
    out_w = conv_output_size(width, op.kernel, op.stride, op.pad)
    if out_h < 1 or out_w < 1:
        raise InputError(f"layer {op.name}: a {op.kernel}x{op.kernel} kernel does not fit a {height}x{width} input")
    return (op.rows, out_h, out_w)


def _planes(op: Op, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise InputError(f"op {op.name}: expects (channels, height, width) input, got shape {shape}")
    return shape  # type: ignore[return-value]


def run(network: Network, inputs: Mapping[str, np.ndarray], matvec: MatVec, fixed: bool) -> dict[str, np.ndarray]:
    """Every tensor of the network, by name, starting from the given external inputs (shapes checked first)."""
    shapes(network, {name: x.shape for name, x in inputs.items()})
    tensors = dict(inputs)
    for op in network.ops:
        sources = [tensors[name] for name in op.inputs]
        if isinstance(op, Layer):
            tensors[op.output] = _run_layer(op, sources[0], matvec)
        elif isinstance(op, Pool):
            tensors[op.output] = _pool(sources[0], op, fixed)
        elif isinstance(op, Concat):
            tensors[op.output] = np.concatenate(sources, axis=0)
        elif isinstance(op, Flatten):
            tensors[op.output] = sources[0].reshape(-1)
    return tensors


def _run_layer(layer: Layer, x: np.ndarray, matvec: MatVec) -> np.ndarray:
    if layer.kind == "fc":
        batch = x.ndim == 2 and x.shape[1] == layer.cols
        outputs = matvec(layer, x if batch else x.reshape(1, -1))
        return outputs if batch else outputs[0]
    out_h = conv_output_size(x.shape[1], layer.kernel, layer.stride, layer.pad)
    out_w = conv_output_size(x.shape[2], layer.kernel, layer.stride, layer.pad)
    patches = im2col(x, layer.kernel, layer.stride, layer.pad)
    return matvec(layer, patches).T.reshape(layer.rows, out_h, out_w)
