"""Synthetic pruned weights and inputs with the structure of real compressed networks, drawn from a seed.

Sparsity pattern. Real pruned layers keep connections unevenly: some output neurons (rows) and some inputs
(columns) keep many more than others. Each row i gets an importance r_i, each input channel an importance g_c, and
each column j (one kernel position of one input channel) an extra factor h_j; all are log-normal with mean 1. The
kept connections are drawn one at a time with probability proportional to r_i * c_j, c_j = g_c(j) * h_j, repeats
discarded, until the layer has its exact number of non-zeros: connection (i, j) is then kept with probability
1 - exp(-lam * r_i * c_j), which saturates at 1 for the most important pairs. Above 50% density the pruned
connections are drawn instead, with the reciprocal importances. No dense float matrix is ever formed: the work is
proportional to the number of non-zeros (or of zeros), plus one byte per weight for the code matrix.

Weight values. Survivors of magnitude pruning and retraining have magnitudes spread away from zero; a Gamma
distribution with shape 1 + slope * ln(1/density) follows that (shape 1, a Laplacian, for a dense layer) with mean
magnitude scale / sqrt(fan_in); signs are equally likely. The parameters are fitted on the real compressed
SqueezeNet (see eie_sim/data/synthetic_weights.toml).
"""

from __future__ import annotations

import math
import tomllib
import zlib
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib.resources import files

import numpy as np
from scipy import ndimage

from eie_sim.errors import InputError

# Upper bounds of the weight-model parameters: a log-normal sigma above 2 concentrates the draw on so few cells
# that a dense layer's kept connections take minutes to draw (sigma 4 never finishes); the scales keep the weights
# and biases far inside float32 and the biases within the 64-bit accumulator.
MODEL_LIMITS = {"row_sigma": 2.0, "channel_sigma": 2.0, "position_sigma": 2.0, "shape_slope": 100.0,
                "magnitude_scale": 1e6, "bias_scale": 1e6}  # fmt: skip


@dataclass(frozen=True)
class WeightModel:
    """Parameters of the synthetic weights of one layer (log-normal sigmas of the mean-1 importance factors)."""

    row_sigma: float = 0.0
    channel_sigma: float = 0.0
    position_sigma: float = 0.0
    shape_slope: float = 0.0  # Gamma shape of surviving magnitudes: 1 + shape_slope * ln(1/density)
    magnitude_scale: float = 1.0  # mean surviving magnitude times sqrt(fan_in)
    bias_scale: float = 1.0  # standard deviation of the biases, in units of the mean surviving magnitude

    def updated(self, values: dict[str, float], origin: str) -> WeightModel:
        """A copy with some parameters replaced; unknown names or negative values are the caller's mistake."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"{origin}: unknown weight-model parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        for key, value in values.items():
            high = MODEL_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
                raise InputError(
                    f"{origin}: weight-model parameter {key} must be a number in [0, {high:g}], got {value!r}"
                )
        return replace(self, **{k: float(v) for k, v in values.items()})


@cache
def default_models() -> dict[str, WeightModel]:
    """The fitted defaults by layer kind ("fc", "conv"), from eie_sim/data/synthetic_weights.toml."""
    data = tomllib.loads(files("eie_sim.data").joinpath("synthetic_weights.toml").read_text())
    return {kind: WeightModel().updated(data[kind], f"synthetic_weights.toml [{kind}]") for kind in ("fc", "conv")}


def stream(seed: int, *names: str) -> np.random.Generator:
    """An independent random stream per (seed, name): a layer is the same whichever network it is drawn in."""
    return np.random.default_rng([seed, *(zlib.crc32(name.encode()) for name in names)])


def _importance(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    if sigma == 0:
        return np.ones(n)
    return np.exp(sigma * rng.standard_normal(n) - sigma * sigma / 2)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (sorts `values` in place)."""
    values.sort()
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if values.size else values


def _draw_cells(rng: np.random.Generator, row_weight: np.ndarray, col_weight: np.ndarray, count: int) -> np.ndarray:
    """Sorted flat indices of exactly `count` distinct cells, drawn with probability ~ row_weight x col_weight.

    Rows come from one multinomial draw (already in order); columns from an inverse-CDF table with 256 slots per
    column on average (column probabilities exact to 1/256 of their mean), which is much faster than shuffling.
    """
    rows, cols = row_weight.size, col_weight.size
    p_row = row_weight / row_weight.sum()
    slots = 256 * cols
    bounds = np.floor(np.cumsum(col_weight / col_weight.sum()) * slots).astype(np.int64)
    bounds[-1] = slots
    col_table = np.repeat(np.arange(cols, dtype=np.int64), np.diff(bounds, prepend=0))
    chosen, drawn = np.empty(0, dtype=np.int64), 0
    while chosen.size < count:
        batch = count if drawn == 0 else math.ceil((count - chosen.size) * drawn / chosen.size * 1.1) + 16
        row = np.repeat(np.arange(rows, dtype=np.int64), rng.multinomial(batch, p_row))
        cell = _sorted_unique(row * cols + col_table[rng.integers(0, slots, batch)])
        if chosen.size:
            at = np.minimum(np.searchsorted(chosen, cell), chosen.size - 1)
            cell = cell[chosen[at] != cell]
        drawn += batch
        excess = chosen.size + cell.size - count
        if excess > 0:
            cell = np.delete(cell, rng.choice(cell.size, excess, replace=False))
        chosen = np.concatenate([chosen, cell])
        chosen.sort()
    return chosen


def kept_cells(
    rng: np.random.Generator, rows: int, channels: int, kernel_area: int, density: float, model: WeightModel
) -> np.ndarray:
    """Sorted flat indices into the (rows, channels * kernel_area) matrix of the round(density * size) kept weights."""
    cols = channels * kernel_area
    size = rows * cols
    keep = round(density * size)
    row_imp = _importance(rng, rows, model.row_sigma)
    col_imp = np.repeat(_importance(rng, channels, model.channel_sigma), kernel_area)
    if kernel_area > 1:
        col_imp = col_imp * _importance(rng, cols, model.position_sigma)
    if keep <= size - keep:
        return _draw_cells(rng, row_imp, col_imp, keep)
    kept = np.ones(size, dtype=bool)
    kept[_draw_cells(rng, 1 / row_imp, 1 / col_imp, size - keep)] = False
    return np.flatnonzero(kept)


def magnitudes(rng: np.random.Generator, count: int, density: float, fan_in: int, model: WeightModel) -> np.ndarray:
    """Signed float32 values of `count` surviving weights (Gamma magnitudes, random signs)."""
    shape = 1.0 + model.shape_slope * math.log(1.0 / max(density, 1e-12))
    mean = model.magnitude_scale / math.sqrt(max(fan_in, 1))
    values = rng.standard_gamma(shape, count, dtype=np.float32) * np.float32(mean / shape)
    np.maximum(values, np.finfo(np.float32).tiny, out=values)
    return np.where(rng.random(count, dtype=np.float32) < 0.5, -values, values)


def bias(rng: np.random.Generator, rows: int, fan_in: int, model: WeightModel) -> np.ndarray:
    """Zero-mean normal biases, their spread a multiple of the mean surviving weight magnitude."""
    std = model.bias_scale * model.magnitude_scale / math.sqrt(max(fan_in, 1))
    return (std * rng.standard_normal(rows)).astype(np.float32)


def sparse_activations(rng: np.random.Generator, size: int, density: float, signed: bool) -> np.ndarray:
    """An input vector with exactly round(density * size) non-zeros at random positions.

    Non-negative inputs (after a ReLU) are half-normal; signed ones (LSTM states) normal; unit scale.
    """
    x = np.zeros(size, dtype=np.float32)
    where = rng.choice(size, round(density * size), replace=False)
    values = rng.standard_normal(where.size).astype(np.float32)
    x[where] = values if signed else np.abs(values)
    return x


# Per-channel mean of the Caffe ImageNet models (B, G, R), subtracted from photos before conv1.
_PIXEL_MEAN = np.array([104.0, 117.0, 123.0])


def smooth_image(rng: np.random.Generator, channels: int, height: int, width: int) -> np.ndarray:
    """A natural-looking random image in the range of a mean-subtracted 8-bit photo.

    Octaves of upsampled Gaussian noise with amplitude halving per octave (the 1/f spectrum of natural images),
    a luminance shared by the channels plus weaker colour, zero-mean (a photo whose mean is the data set's), scaled
    to a photo's pixel spread (std 60 of 255) and clipped to [0, 255] - mean.
    """
    image = np.zeros((channels, height, width))
    for octave in range(5):
        cells = 4 << octave
        for part, amplitude in (("luma", 1.0), ("chroma", 0.35)):
            noise = rng.standard_normal((1 if part == "luma" else channels, cells, cells))
            up = ndimage.zoom(noise, (1, height / cells, width / cells), order=3, mode="mirror")
            image += amplitude * 0.5**octave * up[:, :height, :width]
    image *= 60.0 / image.std()
    mean = np.resize(_PIXEL_MEAN, channels)[:, None, None]
    return np.clip(image, -mean, 255.0 - mean).astype(np.float32)
