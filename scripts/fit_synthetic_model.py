"""Fit the synthetic pruned-weight model (eie_sim.formats.synthetic) to the real compressed SqueezeNet.

For every pruned layer (density < 0.9) find row_sigma, channel_sigma and position_sigma such that the generator's
standard deviations of non-zeros per row, per input channel and per column (mean over 8 seeds) match the real
layer's, by fixed-point iteration on the spread in excess of uniform sparsity. Also fits the magnitude model: Gamma
shape 1 + slope * ln(1/density) (least squares over the pruned layers) and mean|w| * sqrt(fan_in) (median).
The results are the values in eie_sim/data/synthetic_weights.toml and workloads/squeezenet.toml.
"""

import sys

import numpy as np

from eie_sim.formats.caffe import load_caffe_net
from eie_sim.formats.synthetic import WeightModel, kept_cells


def sparsity_mask(rng, rows, channels, area, d, model):
    mask = np.zeros(rows * channels * area, bool)
    mask[kept_cells(rng, rows, channels, area, d, model)] = True
    return mask.reshape(rows, -1)


def stats(mask, channels, area):
    rows = mask.sum(1).std()
    cols = mask.sum(0)
    ch = cols.reshape(channels, area).sum(1).std()
    return np.array([rows, ch, cols.std()])


def excess(s, uni):
    return np.sqrt(np.maximum(s**2 - uni**2, 1e-12))


def fit(real_mask, channels, area, seeds=8, rounds=12):
    R, C = real_mask.shape
    d = real_mask.mean()
    target = stats(real_mask, channels, area)
    # uniform reference: same generator, all sigmas 0
    uni = np.mean(
        [
            stats(sparsity_mask(np.random.default_rng(s), R, channels, area, d, WeightModel()), channels, area)
            for s in range(seeds)
        ],
        0,
    )
    sig = np.array([0.15, 0.15, 0.1 if area > 1 else 0.0])
    flat = target <= uni * 1.02  # no excess spread over uniform sparsity: that factor stays uniform
    sig[flat] = 0
    for _ in range(rounds):
        m = WeightModel(row_sigma=sig[0], channel_sigma=sig[1], position_sigma=sig[2])
        sim = np.mean(
            [
                stats(sparsity_mask(np.random.default_rng(100 + s), R, channels, area, d, m), channels, area)
                for s in range(seeds)
            ],
            0,
        )
        ratio = excess(target, uni) / excess(sim, uni)
        # rows <- row stat; channel <- channel stat; position <- column stat beyond the channel part
        sig[0] *= ratio[0]
        sig[1] *= ratio[1]
        if area > 1:
            sig[2] *= ratio[2] ** 1.5
        sig = np.where(flat, 0, np.clip(sig, 0, 2))
    return d, target, uni, sim, sig


def main(net_path: str) -> None:
    network = load_caffe_net(net_path, input=np.zeros((3, 227, 227), dtype=np.float32))
    layers = {layer.name: (layer.dense_weights(), layer.bias) for layer in network.layers}
    rows = []
    print(
        f"{'layer':20s} {'dens':>5s} | real row/ch/col std | uniform | fitted-model | "
        "row_sigma channel_sigma position_sigma"
    )
    for name, (w, _) in layers.items():
        mask = (w != 0).reshape(w.shape[0], -1)
        if mask.mean() >= 0.9:
            continue
        channels, area = w.shape[1], w.shape[2] * w.shape[3]
        d, target, uni, sim, sig = fit(mask, channels, area)
        rows.append((name, area, sig))
        print(
            f"{name:20s} {d:5.3f} | {_triple(target):>16s} | {_triple(uni):>14s} | {_triple(sim):>14s} | "
            f"{sig[0]:.3f} {sig[1]:.3f} {sig[2]:.3f}"
        )
    print("median 3x3:", np.median([s for _, a, s in rows if a > 1], 0).round(3))
    xs, ks, scales = [], [], []
    for w, _ in layers.values():
        kept = w != 0
        magnitudes = np.abs(w[kept]).astype(np.float64)
        scales.append(magnitudes.mean() * np.sqrt(np.prod(w.shape[1:])))
        if kept.mean() < 0.9:
            xs.append(np.log(1 / kept.mean()))
            ks.append((magnitudes.mean() / magnitudes.std()) ** 2)
    xs, ks = np.array(xs), np.array(ks)
    print(f"shape_slope {(xs * (ks - 1)).sum() / (xs**2).sum():.3f}; magnitude_scale median {np.median(scales):.3f}")
    ratios = [b.std() / np.abs(w[w != 0]).mean() for w, b in layers.values()]
    print("bias std / mean|w| median", np.median(ratios).round(3))


def _triple(values: np.ndarray) -> str:
    return "/".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/fit_synthetic_model.py path/to/compressed_SqueezeNet.net")
    main(sys.argv[1])
