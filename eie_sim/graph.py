"""Running a network's ops in order, with the weighted layers delegated to a matrix-vector function.

The same pass serves the float32 reference, the fixed-point reference and both engines: only `matvec` and the
number kind differ, so glue ops (im2col, pooling, concatenation) are computed identically everywhere.
Convolutions become matrix-vector work: one input patch (in * kh * kw, Caffe order) per output position.
An FC layer reads a 2-D tensor (vectors, features) whose rows match its inputs as a batch of independent input
vectors (e.g. a test set through an MLP) and outputs (vectors, outputs); any other tensor is one flattened vector.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import fixedpoint
from .errors import InputError
from .network import Concat, Flatten, Layer, Network, Pool

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
        windows = sliding_window_view(padded, (op.kernel, op.kernel), axis=(1, 2))[:, ::op.stride, ::op.stride]
        return windows.max(axis=(3, 4))[:, :out_h, :out_w]
    padded = np.pad(x, ((0, 0), (op.pad, max(extra_h, 0)), (op.pad, max(extra_w, 0))))
    windows = sliding_window_view(padded, (op.kernel, op.kernel), axis=(1, 2))[:, ::op.stride, ::op.stride]
    sums = windows.sum(axis=(3, 4))[:, :out_h, :out_w]
    count = np.outer(_window_sizes(out_h, height, op), _window_sizes(out_w, width, op))
    return fixedpoint.average(sums, count) if fixed else (sums / count).astype(x.dtype)


def _window_sizes(out: int, size: int, op: Pool) -> np.ndarray:
    """Caffe's average-pool divisor per output: the window clipped to the padded input, padding counted."""
    start = np.arange(out) * op.stride - op.pad
    return np.minimum(start + op.kernel, size + op.pad) - start


def run(network: Network, inputs: Mapping[str, np.ndarray], matvec: MatVec, fixed: bool) -> dict[str, np.ndarray]:
    """Every tensor of the network, by name, starting from the given external inputs."""
    tensors = dict(inputs)
    for op in network.ops:
        try:
            sources = [tensors[name] for name in op.inputs]
        except KeyError as exc:
            raise InputError(f"network {network.name}: op {op.name} reads tensor {exc.args[0]!r} that nothing produced") from None
        if isinstance(op, Layer):
            tensors[op.output] = _run_layer(op, sources[0], matvec)
        elif isinstance(op, Pool):
            tensors[op.output] = _pool(_as_planes(op, sources[0]), op, fixed)
        elif isinstance(op, Concat):
            tensors[op.output] = np.concatenate([_as_planes(op, s) for s in sources], axis=0)
        elif isinstance(op, Flatten):
            tensors[op.output] = sources[0].reshape(-1)
    return tensors


def _as_planes(op: object, x: np.ndarray) -> np.ndarray:
    if x.ndim != 3:
        raise InputError(f"op {getattr(op, 'name', op)}: expects (channels, height, width) input, got shape {x.shape}")
    return x


def _run_layer(layer: Layer, x: np.ndarray, matvec: MatVec) -> np.ndarray:
    if layer.kind == "fc":
        batch = x.ndim == 2 and x.shape[1] == layer.cols
        vectors = x if batch else x.reshape(1, -1)
        if vectors.shape[1] != layer.cols:
            raise InputError(f"layer {layer.name}: expects {layer.cols} inputs, gets {vectors.size} (shape {x.shape})")
        outputs = matvec(layer, vectors)
        return outputs if batch else outputs[0]
    x = _as_planes(layer, x)
    in_channels = layer.codes.shape[1]
    if x.shape[0] != in_channels:
        raise InputError(f"layer {layer.name}: expects {in_channels} input channels, gets {x.shape[0]}")
    out_h = conv_output_size(x.shape[1], layer.kernel, layer.stride, layer.pad)
    out_w = conv_output_size(x.shape[2], layer.kernel, layer.stride, layer.pad)
    if out_h < 1 or out_w < 1:
        raise InputError(f"layer {layer.name}: a {layer.kernel}x{layer.kernel} kernel does not fit a {x.shape[1]}x{x.shape[2]} input")
    patches = im2col(x, layer.kernel, layer.stride, layer.pad)
    return matvec(layer, patches).T.reshape(layer.rows, out_h, out_w)
