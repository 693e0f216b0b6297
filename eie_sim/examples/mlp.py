"""A small numpy MLP trainer, so a real model can go through Deep Compression and onto EIE without a framework.

ReLU hidden layers, a softmax cross-entropy loss and Adam. Training runs under the two constraints of Deep
Compression: a fixed pruning mask whose zeros stay zero while the surviving weights keep training (Han et al.,
"Learning both Weights and Connections", NIPS 2015), and shared weights whose centroids are the trained parameters,
each centroid's gradient being the sum of the gradients of the weights that share it (Han et al., ICLR 2016).
Every random choice (initialization, minibatch order) comes from a seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True, eq=False)
class MLP:
    """Weights (outputs x inputs, as an EIE FC layer stores them) and biases; ReLU after every layer but the last."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    def logits(self, x: np.ndarray) -> np.ndarray:
        return _forward(self.weights, self.biases, x)[-1]

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows of `x` whose largest logit is the label."""
        return float(np.mean(np.argmax(self.logits(x), axis=1) == y))

    @property
    def density(self) -> float:
        """Fraction of non-zero weights over all layers."""
        return sum(np.count_nonzero(w) for w in self.weights) / sum(w.size for w in self.weights)


@dataclass(frozen=True)
class TrainConfig:
    """Adam on minibatches; `l1`/`l2` weight the regularization of the weights (not the biases)."""

    epochs: int = 40
    batch: int = 32
    lr: float = 1e-3
    l1: float = 0.0
    l2: float = 0.0


def init_mlp(sizes: Sequence[int], seed: int) -> MLP:
    """He-normal weights and zero biases for layers of the given widths (inputs first)."""
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in)) for n_in, n_out in zip(sizes, sizes[1:]))
    return MLP(weights, tuple(np.zeros(n_out) for n_out in sizes[1:]))


def _forward(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """Activations of every layer, the input first and the logits last."""
    activations = [x]
    for index, (w, b) in enumerate(zip(weights, biases)):
        z = activations[-1] @ w.T + b
        activations.append(z if index == len(weights) - 1 else np.maximum(z, 0.0))
    return activations


def gradients(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    l1: float = 0.0,
    l2: float = 0.0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gradients of mean cross-entropy plus l1*sum|w| + l2/2*sum w^2, for every weight and bias."""
    activations = _forward(weights, biases, x)
    logits = activations[-1]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    delta = probs
    delta[np.arange(len(y)), y] -= 1.0
    delta /= len(y)
    grad_w: list[np.ndarray] = [np.empty(0)] * len(weights)
    grad_b: list[np.ndarray] = [np.empty(0)] * len(weights)
    for index in reversed(range(len(weights))):
        grad_w[index] = delta.T @ activations[index] + l1 * np.sign(weights[index]) + l2 * weights[index]
        grad_b[index] = delta.sum(axis=0)
        if index:
            delta = (delta @ weights[index]) * (activations[index] > 0)
    return grad_w, grad_b


Gradient = Callable[[list[np.ndarray], np.ndarray], list[np.ndarray]]  # (parameters, minibatch rows) -> gradients


def adam(params: list[np.ndarray], gradient: Gradient, rows: int, config: TrainConfig, seed: int) -> list[np.ndarray]:
    """Adam (Kingma & Ba) over shuffled minibatches of `rows` training rows; returns the trained parameters."""
    rng = np.random.default_rng(seed)
    params = [p.copy() for p in params]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    for _ in range(config.epochs):
        order = rng.permutation(rows)
        for start in range(0, rows, config.batch):
            step += 1
            grads = gradient(params, order[start : start + config.batch])
            for p, g, m, v in zip(params, grads, first, second):
                m += (1 - beta1) * (g - m)
                v += (1 - beta2) * (g * g - v)
                p -= config.lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return params


def train(
    mlp: MLP, x: np.ndarray, y: np.ndarray, config: TrainConfig, seed: int, masks: Sequence[np.ndarray] | None = None
) -> MLP:
    """Train all weights, or only those where `masks` is true: pruned weights stay zero, survivors keep their values."""
    masks = [np.ones(w.shape, dtype=bool) for w in mlp.weights] if masks is None else list(masks)
    n = len(mlp.weights)

    def gradient(params: list[np.ndarray], rows: np.ndarray) -> list[np.ndarray]:
        grad_w, grad_b = gradients(params[:n], params[n:], x[rows], y[rows], config.l1, config.l2)
        return [g * mask for g, mask in zip(grad_w, masks)] + grad_b

    start = [w * mask for w, mask in zip(mlp.weights, masks)] + list(mlp.biases)
    params = adam(start, gradient, len(y), config, seed)
    return MLP(tuple(params[:n]), tuple(params[n:]))


def train_centroids(
    codes: Sequence[np.ndarray],
    codebooks: Sequence[np.ndarray],
    mlp: MLP,
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    seed: int,
) -> tuple[list[np.ndarray], MLP]:
    """Fine-tune shared weights: the codebooks (entry 0, the pruned weight, stays 0) and the biases of `mlp`.

    Returns the new codebooks and the MLP whose weights are the decoded shared weights.
    """
    n = len(codes)

    def decode(params: list[np.ndarray]) -> list[np.ndarray]:
        return [book[code] for book, code in zip(params[:n], codes)]

    def gradient(params: list[np.ndarray], rows: np.ndarray) -> list[np.ndarray]:
        grad_w, grad_b = gradients(decode(params), params[n:], x[rows], y[rows])
        grad_books = [
            np.bincount(code.ravel(), weights=g.ravel(), minlength=len(book))
            for code, g, book in zip(codes, grad_w, params)
        ]
        for g in grad_books:
            g[0] = 0.0
        return grad_books + grad_b

    params = adam(
        [np.asarray(b, dtype=np.float64) for b in codebooks] + list(mlp.biases), gradient, len(y), config, seed
    )
    return params[:n], replace(mlp, weights=tuple(decode(params)), biases=tuple(params[n:]))
