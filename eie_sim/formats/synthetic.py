"""Synthetic pruned weights and inputs with the structure of real compressed networks, drawn from a seed.

Sparsity pattern. Real pruned layers keep connections unevenly: some output neurons (rows) and some inputs
(columns) keep many more than others. Each row i gets an importance r_i, each input channel an importance g_c, and
each column j (one kernel position of one input channel) an extra factor h_j; all are log-normal with mean 1. The
connection (i, j) is kept with probability 1 - exp(-lam * r_i * c_j), c_j = g_c(j) * h_j, which saturates at 1 for
the most important pairs, lam giving the layer its exact number of non-zeros (see `_draw_cells`). Above 50%
density the pruned connections are drawn instead, with the reciprocal importances. The positions come out column
by column, as the layer stores them; the work is proportional to the number of non-zeros (or of zeros).

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

_BINS = 128  # quantile bins of row and column weights when solving for lam
_MARGIN = 0.01  # relative surplus of cells drawn, dropped again at random
_CHUNK_POINTS = 1 << 22  # points drawn at once
_LOOKUP_POINTS = 1 << 20  # points placed on their rows at once
_BUCKETS = 4  # lookup-table buckets per row

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
        if not isinstance(values, dict):
            raise InputError(f"{origin}: expected a table of weight-model parameters, got {values!r:.60}")
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
                    f"{origin}: weight-model parameter {key} must be a number in [0, {high:g}], got {value!r:.60}"
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


def _quantile_bins(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, count) of up to _BINS groups of equally many sorted weights."""
    parts = np.array_split(np.sort(weight), min(weight.size, _BINS))
    return np.array([p.mean() for p in parts]), np.array([p.size for p in parts])


def _rate(row_weight: np.ndarray, col_weight: np.ndarray, target: float) -> float:
    """lam with `target` kept cells expected: the sum of 1 - exp(-lam r_i c_j), taken over quantile bins of the
    rows' and columns' weights (a slight over-estimate: 1 - exp is concave), is solved by bisection on log lam."""
    (r, nr), (c, nc) = _quantile_bins(row_weight), _quantile_bins(col_weight)
    product = np.outer(r, c)

    def expected(log_lam: float) -> float:
        return float(nr @ -np.expm1(-math.exp(log_lam) * product) @ nc)

    low = high = math.log(target / (row_weight.sum() * col_weight.sum()))  # no collisions: a lower bound
    while expected(high) < target:
        low, high = high, high + 1.0
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if expected(middle) < target else (low, middle)
    return math.exp(high)


class _RowLookup:
    """The row whose span of cumulative weight holds a position: a table of buckets (_BUCKETS per row) gives a
    first guess, a few vectorized steps forward finish it, in linear time (a binary search per point is slower)."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.scale = _BUCKETS * edges.size / edges[-1]
        starts = np.arange(_BUCKETS * edges.size) / self.scale
        self.table = np.searchsorted(edges, starts, side="right")

    def __call__(self, at: np.ndarray) -> np.ndarray:
        bucket = np.minimum((at * self.scale).astype(np.int64), self.table.size - 1)
        row = self.table[bucket]
        last = self.edges.size - 1
        behind = np.flatnonzero((row < last) & (self.edges[np.minimum(row, last)] <= at))
        while behind.size:
            row[behind] += 1
            behind = behind[(row[behind] < last) & (self.edges[row[behind]] <= at[behind])]
        return np.minimum(row, last)


def _column_points(
    rng: np.random.Generator, rows: _RowLookup, points: np.ndarray, first_col: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (row, col) hit by `points[j]` uniform points along the rows of each column j, in column order:
    sorted uniform positions from cumulative exponential gaps (the column's interval closed by one more gap), so
    nothing is sorted."""
    total = points.sum()
    gaps = rng.standard_exponential(total)
    np.cumsum(gaps, out=gaps)
    closing = rng.standard_exponential(points.size)
    ends = np.cumsum(points)  # one past each column's last point
    before = ends - points
    base = np.where(before > 0, gaps[np.maximum(before - 1, 0)], 0.0) if total else np.zeros(points.size)
    col = np.repeat(np.arange(points.size, dtype=np.int32), points)
    last = np.where(points > 0, gaps[np.maximum(ends - 1, 0)], 0.0) if total else np.zeros(points.size)
    length = np.where(points > 0, last - base, 0.0) + closing
    scale = rows.edges[-1] / length
    row = np.empty(total, dtype=np.int32)
    for lo in range(0, total, _LOOKUP_POINTS):  # the positions along each column's rows, scaled to the rows' total
        part = slice(lo, lo + _LOOKUP_POINTS)  # weight, and their rows, a slice at a time (bounded temporaries)
        row[part] = rows((gaps[part] - base[col[part]]) * scale[col[part]])
    del gaps
    new = np.flatnonzero(np.concatenate([[True], (row[1:] != row[:-1]) | (col[1:] != col[:-1])]))
    return row[new], col[new] + first_col


def _draw_cells(
    rng: np.random.Generator, row_weight: np.ndarray, col_weight: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of exactly `count` distinct cells in column order, rows ascending within a column.

    Per column, points fall along the rows as a Poisson process of rate lam * c_j per unit of row weight; a row is
    kept when a point lands on it, with probability 1 - exp(-lam r_i c_j). lam aims a little above `count`
    (redrawn higher in the rare case it falls short) and the surplus is dropped uniformly at random. Columns are
    taken in chunks of about `_CHUNK_POINTS` points, which bounds memory however skewed the weights.
    """
    rows = _RowLookup(np.cumsum(row_weight))
    size = row_weight.size * col_weight.size
    target = min(count * (1 + _MARGIN) + 4 * math.sqrt(count) + 8, (count + size) / 2)
    lam = _rate(row_weight, col_weight, target)
    while True:
        points = rng.poisson(lam * col_weight * rows.edges[-1])
        bounds = np.searchsorted(np.cumsum(points), np.arange(1, points.sum() // _CHUNK_POINTS + 1) * _CHUNK_POINTS)
        cuts = [0, *np.unique(np.minimum(bounds + 1, points.size)), points.size]
        parts = [_column_points(rng, rows, points[lo:hi], int(lo)) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]
        row, col = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        del parts
        if row.size >= count:
            break
        lam *= 1.05
    keep = np.ones(row.size, dtype=bool)
    keep[rng.choice(row.size, row.size - count, replace=False)] = False
    return row[keep], col[keep]


def kept_cells(
    rng: np.random.Generator, rows: int, channels: int, kernel_area: int, density: float, model: WeightModel
) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) in column order of the round(density * size) kept weights of a rows x (channels * kernel_area)
    matrix; above 50% density the pruned ones are drawn (reciprocal importances) and the rest kept."""
    cols = channels * kernel_area
    size = rows * cols
    keep = round(density * size)
    row_imp = _importance(rng, rows, model.row_sigma)
    col_imp = np.repeat(_importance(rng, channels, model.channel_sigma), kernel_area)
    if kernel_area > 1:
        col_imp = col_imp * _importance(rng, cols, model.position_sigma)
    if keep == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if keep <= size - keep:
        return _draw_cells(rng, row_imp, col_imp, keep)
    kept = np.ones((cols, rows), dtype=bool)
    if keep < size:
        row, col = _draw_cells(rng, 1 / row_imp, 1 / col_imp, size - keep)
        kept[col, row] = False
    col, row = np.nonzero(kept)
    return row, col


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
