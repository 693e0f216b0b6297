"""Matrix-vector products of a sparse matrix, given by its entries, with a batch of input vectors.

A batch of many vectors (conv patches, a test set) is multiplied with BLAS on the matrix made dense: the matrix is
small next to the batch, and float64 products of 16-bit integers are exact as long as every sum stays below 2**53
(checked). One vector, or a huge matrix, takes the sparse product, whose cost follows the non-zeros.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DENSE_MIN_VECTORS = 8  # fewer vectors: the sparse product is cheaper than filling a dense matrix
DENSE_MAX_CELLS = 1 << 22  # 32 MB of float64 at most for a dense matrix
EXACT_FLOAT64 = 2**53  # integers below this add up exactly in float64


def _use_dense(shape: tuple[int, int], vectors: int) -> bool:
    return vectors >= DENSE_MIN_VECTORS and shape[0] * shape[1] <= DENSE_MAX_CELLS


def _product(shape: tuple[int, int], row: np.ndarray, col: np.ndarray, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x (vectors, cols) times the matrix transposed, in the dtype of `values` and `x` (the same)."""
    if _use_dense(shape, len(x)):
        matrix = np.zeros(shape, dtype=values.dtype)
        matrix[row, col] = values
        return x @ matrix.T
    return np.asarray((sp.coo_array((values, (row, col)), shape=shape) @ x.T).T)


def float_product(
    shape: tuple[int, int], row: np.ndarray, col: np.ndarray, values: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """(vectors, rows) float32 products of the matrix with float `values` at (row, col) and x (vectors, cols)."""
    return _product(shape, row, col, values.astype(np.float32, copy=False), x.astype(np.float32, copy=False))


def exact_product(
    shape: tuple[int, int], row: np.ndarray, col: np.ndarray, values: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """(vectors, rows) int64 exact products of the matrix with integer `values` at (row, col) and x (vectors, cols)."""
    largest = float(np.abs(values).max(initial=0)) * float(np.abs(x).max(initial=0)) * shape[1]
    if _use_dense(shape, len(x)) and largest < EXACT_FLOAT64:
        return np.rint(_product(shape, row, col, values.astype(np.float64), x.astype(np.float64))).astype(np.int64)
    return _product((shape[0], shape[1]), row, col, values.astype(np.int64), np.asarray(x, dtype=np.int64))
