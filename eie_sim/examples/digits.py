"""From a trained model to EIE: a real MLP through Deep Compression and onto the simulator, every stage measured.

Data: scikit-learn's 8x8 handwritten digits (1,797 images; pixel values 0..16 scaled to [0, 1]), split once into
1,437 training and 360 test images by a fixed permutation, whatever the seed. Model: a 64-300-100-10 MLP (ReLU,
softmax cross-entropy, Adam; eie_sim.examples.mlp), trained twice, with L1 and with L2 regularization. Each is pruned by
magnitude to the target densities, once without retraining and once iteratively with retraining of the surviving
weights (Han et al., NIPS 2015): that is the L1/L2 comparison. The chosen model's weights are then shared by
k-means with linear initialization, the centroids fine-tuned (Deep Compression), and the whole test set runs on
EIE as one batch of input vectors, in the 16-bit fixed point of the hardware.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.compress.prune import prune_to_density
from eie_sim.compress.share import make_layer, round_codebook
from eie_sim.errors import InputError
from eie_sim.examples.mlp import MLP, TrainConfig, init_mlp, train, train_centroids
from eie_sim.model.network import Network, fc_chain
from eie_sim.model.ops import Layer
from eie_sim.results.render import table, to_jsonable
from eie_sim.studies.simulate import Result, simulate
from eie_sim.support.optional import require

SIZES = (64, 300, 100, 10)
LAYER_NAMES = ("fc1", "fc2", "fc3")
# Relative density per layer: the small output layer keeps more of its weights, as in Han et al. (2015)'s
# LeNet-300-100 (8%, 9%, 26%); the profile is scaled so that the layers together keep the target density.
DENSITY_PROFILE = (1.0, 1.0, 3.0)
TEST_IMAGES = 360
SPLIT_SEED = 0
PIXEL_MAX = 16.0
TRAINING = TrainConfig(epochs=40, batch=32, lr=1e-3)
REGULARIZATION = {"l1": replace(TRAINING, l1=1e-4), "l2": replace(TRAINING, l2=1e-3)}
PRUNE_STEPS = 4  # iterative pruning: densities d**(1/4), d**(2/4), ... d, retraining after each step
RETRAIN_EPOCHS = 8
FINETUNE = TrainConfig(epochs=10, batch=32, lr=1e-4)

Regularization = Literal["l1", "l2"]


@dataclass(frozen=True, eq=False)
class DigitsData:
    """Images as rows of 64 features in [0, 1], labels 0..9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_data() -> DigitsData:
    """scikit-learn's digits (bundled with it, read offline), split by a fixed permutation."""
    digits = require("sklearn.datasets", "the digits example", "digits").load_digits()
    x, y = digits.data / PIXEL_MAX, digits.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    test, training = order[:TEST_IMAGES], order[TEST_IMAGES:]
    return DigitsData(x[training], y[training], x[test], y[test])


def layer_densities(density: float) -> tuple[float, ...]:
    """Per-layer densities following DENSITY_PROFILE that keep `density` of all the MLP's weights."""
    if not 0.0 < density <= 1.0:
        raise InputError(f"--density: must be in (0, 1], got {density}")
    sizes = [n_in * n_out for n_in, n_out in zip(SIZES, SIZES[1:])]
    scale = density * sum(sizes) / sum(p * s for p, s in zip(DENSITY_PROFILE, sizes))
    return tuple(min(1.0, p * scale) for p in DENSITY_PROFILE)


def _masks(mlp: MLP, densities: tuple[float, ...]) -> list[np.ndarray]:
    return [prune_to_density(w, d, name=f"layer {n}") != 0 for w, d, n in zip(mlp.weights, densities, LAYER_NAMES)]


def prune_once(mlp: MLP, densities: tuple[float, ...]) -> MLP:
    """Magnitude pruning without retraining."""
    return replace(mlp, weights=tuple(w * m for w, m in zip(mlp.weights, _masks(mlp, densities))))


def prune_iteratively(mlp: MLP, densities: tuple[float, ...], data: DigitsData, config: TrainConfig, seed: int) -> MLP:
    """PRUNE_STEPS rounds of magnitude pruning, each followed by retraining the survivors (no re-initialization)."""
    retrain = replace(config, epochs=RETRAIN_EPOCHS)
    for step in range(1, PRUNE_STEPS + 1):
        step_densities = tuple(d ** (step / PRUNE_STEPS) for d in densities)
        mlp = train(mlp, data.x_train, data.y_train, retrain, seed + step, masks=_masks(mlp, step_densities))
    return mlp


def shared_layers(mlp: MLP, bits: int) -> list[Layer]:
    """The MLP's weights shared by k-means (linear initialization) into `bits`-bit codes; ReLU on hidden layers."""
    last = len(mlp.weights) - 1
    return [
        make_layer(name, "fc", w, bits, b, relu=index < last)
        for index, (name, w, b) in enumerate(zip(LAYER_NAMES, mlp.weights, mlp.biases))
    ]


def _decoded(layers: list[Layer]) -> MLP:
    return MLP(
        tuple(layer.dense_weights().astype(np.float64) for layer in layers), tuple(layer.bias for layer in layers)
    )


def finetune_centroids(layers: list[Layer], data: DigitsData, seed: int) -> list[Layer]:
    """Deep Compression's centroid fine-tuning; the tuned codebooks are rounded to EIE's 16-bit values again."""
    codebooks, tuned = train_centroids(
        [layer.dense_codes() for layer in layers], [layer.codebook for layer in layers], _decoded(layers),
        data.x_train, data.y_train, FINETUNE, seed,
    )  # fmt: skip
    return [
        replace(layer, codebook=round_codebook(book), bias=bias)
        for layer, book, bias in zip(layers, codebooks, tuned.biases)
    ]


@dataclass(frozen=True, eq=False)
class DigitsRun:
    """What the digits example measured: the stages, the L1/L2 comparison, and the EIE simulation of the test set."""

    stages: pd.DataFrame  # stage, test_accuracy_pct, weights_kept_pct, weight_bits
    regularization: pd.DataFrame  # regularization, float/pruned/retrained test accuracy (%)
    per_inference: pd.Series  # EIE cycles, time and energy of one test image
    network: Network  # the compressed MLP, its input the test set (one row per image)
    result: Result
    labels: np.ndarray
    predictions: np.ndarray  # the EIE simulation's class per test image


def _pct(accuracy: float) -> float:
    return 100.0 * accuracy


def per_inference(result: Result, images: int) -> pd.Series:
    """Cycles, time and (when the energy model provides them) energy columns of Result.total, per image."""
    keys = ["cycles", "time_us"] + [k for k in result.total.index if k.startswith("energy") and k.endswith("_pj")]
    return pd.Series({k: float(result.total[k]) / images for k in keys}, name="per_inference")


def run_digits(
    density: float = 0.08,
    arch: ArchConfig | None = None,
    seed: int = 0,
    regularization: Regularization = "l2",
    engine: str = "fast",
) -> DigitsRun:
    """Train, prune (L1 and L2, with and without retraining), share and simulate; `arch.weight_bits` bits per code."""
    if regularization not in REGULARIZATION:
        raise InputError(f"regularization must be one of {', '.join(REGULARIZATION)}, got {regularization!r}")
    arch = arch or ArchConfig()
    densities = layer_densities(density)
    data = load_digits_data()
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn, which load_digits_data needs

    with threadpool_limits(limits=1, user_api="blas"):  # small matrices: one thread is faster and reproducible
        models = {}
        for name, config in REGULARIZATION.items():
            dense = train(init_mlp(SIZES, seed), data.x_train, data.y_train, config, seed)
            models[name] = (
                dense,
                prune_once(dense, densities),
                prune_iteratively(dense, densities, data, config, seed),
            )
        dense, pruned, retrained = models[regularization]
        shared = shared_layers(retrained, arch.weight_bits)
        tuned = finetune_centroids(shared, data, seed)
    network = fc_chain("digits", tuned, data.x_test.astype(np.float32), source="scikit-learn digits, 360 test images")
    result = simulate(network, arch, engine=engine)
    predictions = np.argmax(result.output(), axis=1)

    def accuracy(mlp: MLP) -> float:
        return _pct(mlp.accuracy(data.x_test, data.y_test))

    kept = _pct(retrained.density)
    stages = pd.DataFrame(
        [
            ("float (dense)", accuracy(dense), 100.0, 64),
            ("pruned, not retrained", accuracy(pruned), _pct(pruned.density), 64),
            ("pruned + retrained", accuracy(retrained), kept, 64),
            (f"shared, {arch.weight_bits}-bit k-means", accuracy(_decoded(shared)), kept, arch.weight_bits),
            ("shared + centroids fine-tuned", accuracy(_decoded(tuned)), kept, arch.weight_bits),
            (
                "EIE simulation (16-bit fixed point)",
                _pct(float(np.mean(predictions == data.y_test))),
                kept,
                arch.weight_bits,
            ),
        ],
        columns=["stage", "test_accuracy_pct", "weights_kept_pct", "weight_bits"],
    )
    comparison = pd.DataFrame(
        [
            {
                "regularization": name.upper(),
                "float_accuracy_pct": accuracy(d),
                "pruned_accuracy_pct": accuracy(p),
                "retrained_accuracy_pct": accuracy(r),
            }
            for name, (d, p, r) in models.items()
        ]
    )
    return DigitsRun(
        stages, comparison, per_inference(result, len(data.y_test)), network, result, data.y_test, predictions
    )


def render(run: DigitsRun, fmt: str) -> str:
    """Terminal tables, one JSON object of the three tables, or one long CSV (table, row, column, value)."""
    eie = pd.DataFrame({"quantity": run.per_inference.index, "per_image": run.per_inference.to_numpy()})
    sections = {
        "stages": (run.stages, "Digits MLP 64-300-100-10: test accuracy by stage"),
        "regularization": (
            run.regularization,
            "L1 vs L2 regularization: test accuracy after pruning to the same density",
        ),
        "eie_per_image": (eie, f"EIE, per test image ({len(run.labels)} images in one batch)"),
    }
    if fmt == "json":
        return json.dumps(
            to_jsonable({key: frame.to_dict(orient="records") for key, (frame, _) in sections.items()}), indent=2
        )
    if fmt == "csv":
        long = [
            frame.melt(id_vars=frame.columns[0], var_name="column")
            .rename(columns={frame.columns[0]: "row"})
            .assign(table=key)
            for key, (frame, _) in sections.items()
        ]
        return pd.concat(long, ignore_index=True)[["table", "row", "column", "value"]].to_csv(index=False)
    eie["quantity"] = eie["quantity"].map(_heading)
    return "\n".join(table(frame.rename(columns=_heading), title) for frame, title in sections.values())


def _heading(column: str) -> str:
    """A column name with its unit suffix as a readable heading: test_accuracy_pct -> test accuracy (%)."""
    for suffix, unit in (("_pct", " (%)"), ("_us", " (us)"), ("_pj", " (pJ)")):
        if column.endswith(suffix):
            column = column[: -len(suffix)] + unit
    return column.replace("_", " ")
