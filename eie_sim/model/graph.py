"""Running a network's ops in order, with the weighted layers delegated to a matrix-vector function.

The same pass serves the float32 and the fixed-point runs: only `matvec` and the number kind differ, so glue ops
(im2col, pooling, concatenation) are computed identically in both. Convolutions become matrix-vector work: one
input patch (in * kh * kw, Caffe order) per output position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from eie_sim.errors import InputError
from eie_sim.model import fixedpoint
from eie_sim.model.network import Network
from eie_sim.model.ops import Concat, Layer, Pool
from eie_sim.model.shapes import pool_output_size

MatVec = Callable[[Layer, np.ndarray], np.ndarray]  # (layer, (vectors, cols)) -> (vectors, rows)


@dataclass(frozen=True, eq=False)
class GraphRun:
    """Every tensor of a run by name, and each weighted layer's matrix-vector input (vectors, cols) by layer name."""

    tensors: dict[str, np.ndarray]
    layer_inputs: dict[str, np.ndarray]


def im2col(x: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """(C, H, W) -> (H' * W', C * k * k): one row per output position, columns in Caffe weight order."""
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x, (kernel, kernel), axis=(1, 2))[:, ::stride, ::stride]
    channels, out_h, out_w = windows.shape[:3]
    return windows.transpose(1, 2, 0, 3, 4).reshape(out_h * out_w, channels * kernel * kernel)


def layer_vectors(layer: Layer, x: np.ndarray) -> np.ndarray:
    """What the layer multiplies: (vectors, cols) from its input tensor (a batch, one vector, or conv patches)."""
    if layer.kind == "conv":
        return im2col(x, layer.kernel, layer.stride, layer.pad)
    return x if x.ndim == 2 and x.shape[1] == layer.cols else x.reshape(1, -1)


def layer_tensor(layer: Layer, outputs: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(vectors, rows) matrix-vector outputs -> the layer's output tensor of `shape`."""
    return outputs.T.reshape(shape) if layer.kind == "conv" else outputs.reshape(shape)


def layer_outputs(layer: Layer, tensor: np.ndarray) -> np.ndarray:
    """The layer's output tensor -> its (vectors, rows) matrix-vector outputs (layer_tensor undone)."""
    return tensor.reshape(layer.rows, -1).T if layer.kind == "conv" else tensor.reshape(-1, layer.rows)


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
    pads = ((0, 0), (op.pad, max(extra_h, 0)), (op.pad, max(extra_w, 0)))
    if op.mode == "max":
        low = np.iinfo(x.dtype).min if fixed else -np.inf
        windows = sliding_window_view(np.pad(x, pads, constant_values=low), (op.kernel, op.kernel), axis=(1, 2))
        return windows[:, :: op.stride, :: op.stride].max(axis=(3, 4))[:, :out_h, :out_w]
    windows = sliding_window_view(np.pad(x, pads), (op.kernel, op.kernel), axis=(1, 2))
    sums = windows[:, :: op.stride, :: op.stride].sum(axis=(3, 4))[:, :out_h, :out_w]
    count = np.outer(_window_sizes(out_h, height, op), _window_sizes(out_w, width, op))
    return (fixedpoint.average(sums, count) if fixed else sums / count).astype(x.dtype)


def _window_sizes(out: int, size: int, op: Pool) -> np.ndarray:
    """Caffe's average-pool divisor per output: the window clipped to the padded input, padding counted."""
    start = np.arange(out) * op.stride - op.pad
    return np.minimum(start + op.kernel, size + op.pad) - start


def run(
    network: Network, inputs: Mapping[str, np.ndarray], matvec: MatVec, fixed: bool, keep_inputs: bool = False
) -> GraphRun:
    """One pass over the ops from the given external inputs (of the network's own input shapes); `keep_inputs`
    keeps each layer's matrix-vector input (conv patches can be large)."""
    for name, x in inputs.items():
        if x.shape != network.shapes.get(name):
            raise InputError(f"network {network.name}: input {name!r} has shape {x.shape}, not {network.shapes[name]}")
    tensors, layer_inputs = dict(inputs), {}
    for op in network.ops:
        sources = [tensors[name] for name in op.inputs]
        if isinstance(op, Layer):
            vectors = layer_vectors(op, sources[0])
            if keep_inputs:
                layer_inputs[op.name] = vectors
            tensors[op.output] = layer_tensor(op, matvec(op, vectors), network.shapes[op.output])
        elif isinstance(op, Pool):
            tensors[op.output] = _pool(sources[0], op, fixed)
        elif isinstance(op, Concat):
            tensors[op.output] = np.concatenate(sources, axis=0)
        else:
            tensors[op.output] = sources[0].reshape(-1)
    return GraphRun(tensors, layer_inputs)
