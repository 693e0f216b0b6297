"""Magnitude pruning (Han et al., "Learning both Weights and Connections for Efficient Neural Networks", NIPS 2015).

The connections with the smallest absolute weights are removed: either down to a target density per layer, or
below a threshold equal to a quality parameter times the standard deviation of the layer's weights (the rule of
the paper's Section 3). Pruned weights become exactly 0, which weight sharing later maps to code 0.
"""

from __future__ import annotations

import numpy as np

from eie_sim.errors import InputError


def _check(weights: np.ndarray, name: str) -> np.ndarray:
    weights = np.asarray(weights)
    if not np.issubdtype(weights.dtype, np.floating) and not np.issubdtype(weights.dtype, np.integer):
        raise InputError(f"{name}: weights must be numbers, got dtype {weights.dtype}")
    if not np.all(np.isfinite(weights)):
        raise InputError(f"{name}: weights hold NaN or infinite values")
    return weights


def prune_to_density(weights: np.ndarray, density: float, name: str = "weights") -> np.ndarray:
    """Keep the round(density * size) largest-magnitude weights, zero the rest (same shape and dtype).

    Ties at the threshold are broken by position (deterministically), so the count kept is exact.
    """
    weights = _check(weights, name)
    if not 0.0 <= density <= 1.0:
        raise InputError(f"{name}: density must be in [0, 1], got {density}")
    keep = round(density * weights.size)
    if keep >= weights.size:
        return weights.copy()
    pruned = np.zeros_like(weights)
    if keep > 0:
        flat = np.abs(weights).ravel()
        largest = np.argpartition(flat, weights.size - keep)[weights.size - keep :]
        pruned.flat[largest] = weights.flat[largest]
    return pruned


def prune_by_quality(weights: np.ndarray, quality: float, name: str = "weights") -> np.ndarray:
    """Zero every weight whose magnitude is not above quality x std(weights of the layer) (Han et al. 2015)."""
    weights = _check(weights, name)
    if not np.isfinite(quality) or quality < 0:
        raise InputError(f"{name}: quality must be a non-negative number, got {quality}")
    threshold = quality * float(np.std(weights, dtype=np.float64))
    return np.where(np.abs(weights) > threshold, weights, np.zeros_like(weights))
