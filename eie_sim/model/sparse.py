"""A layer's weight codes in compressed-column form: the one representation from the readers to the encoder.

Pruned weights (code 0) are not stored, so memory and work grow with the non-zeros, not with rows x cols. Columns
are the matrix-vector product's inputs: EIE broadcasts one input activation at a time and every PE walks that
column of its rows, so column order is the order every later stage (EIE encoding, products) wants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eie_sim.errors import InputError


def index_dtype(*extents: int) -> type[np.signedinteger]:
    """int32 when every index and count fits, as scipy.sparse itself chooses (no conversion on the way in)."""
    return np.int32 if max(extents, default=0) < 2**31 else np.int64


def code_dtype(bits: int) -> type[np.unsignedinteger]:
    return np.uint8 if bits <= 8 else np.uint16


def stable_order(keys: np.ndarray, bound: int) -> np.ndarray:
    """The stable sorting permutation of non-negative integer `keys` below `bound`: a radix sort (linear time) when
    they fit 16 bits, which is numpy's choice for such narrow types."""
    narrow = np.uint16 if bound <= 1 << 16 else np.int64
    return np.argsort(keys.astype(narrow, copy=False), kind="stable")


@dataclass(frozen=True, eq=False)
class SparseCodes:
    """A rows x cols matrix of weight codes; column j's entries are indptr[j]:indptr[j+1], rows ascending."""

    shape: tuple[int, int]
    indptr: np.ndarray  # (cols + 1,) offsets into rows and codes
    rows: np.ndarray  # (nnz,) row of each stored code, ascending within a column
    codes: np.ndarray  # (nnz,) codes, all at least 1

    def __post_init__(self) -> None:
        n_rows, n_cols = self.shape
        if self.indptr.shape != (n_cols + 1,) or self.rows.shape != self.codes.shape or self.rows.ndim != 1:
            raise InputError(f"sparse codes: inconsistent array shapes for a {n_rows} x {n_cols} matrix")
        if self.indptr[0] != 0 or self.indptr[-1] != self.rows.size or np.any(np.diff(self.indptr) < 0):
            raise InputError("sparse codes: column pointers must rise from 0 to the number of stored codes")
        if self.codes.dtype.kind != "u" or (self.codes.size and int(self.codes.min()) < 1):
            raise InputError("sparse codes: stored codes must be unsigned integers of at least 1")
        if self.rows.size:
            rising = np.diff(self.rows.astype(np.int64)) > 0
            starts = self.indptr[1:-1]
            rising[starts[(starts > 0) & (starts < self.rows.size)] - 1] = True  # a new column may start lower
            if int(self.rows.min()) < 0 or int(self.rows.max()) >= n_rows or not rising.all():
                raise InputError(f"sparse codes: rows must lie in [0, {n_rows}) and rise within each column")

    @classmethod
    def from_dense(cls, matrix: np.ndarray) -> SparseCodes:
        """The non-zeros of a dense rows x cols code matrix (a copy in column order is made once)."""
        col, row = np.nonzero(np.asarray(matrix).T)
        return cls.from_column_order(matrix.shape, row, col, np.asarray(matrix).T[col, row])

    @classmethod
    def from_positions(cls, shape: tuple[int, int], positions: np.ndarray, codes: np.ndarray) -> SparseCodes:
        """Codes at ascending flat row-major positions (the order of a weight blob in a file): regrouped by column
        with a linear-time stable sort, so rows stay ascending within each column."""
        row, col = np.divmod(np.asarray(positions, dtype=np.int64), shape[1])
        order = stable_order(col, shape[1])
        return cls.from_column_order(shape, row[order], col[order], np.asarray(codes)[order])

    @classmethod
    def from_column_order(
        cls, shape: tuple[int, int], row: np.ndarray, col: np.ndarray, codes: np.ndarray
    ) -> SparseCodes:
        """Entries (row, col, code) already sorted by column, rows ascending within each column."""
        n_rows, n_cols = (int(n) for n in shape)
        index = index_dtype(n_rows, row.size)
        indptr = np.zeros(n_cols + 1, dtype=index)
        np.cumsum(np.bincount(col, minlength=n_cols), out=indptr[1:])
        return cls((n_rows, n_cols), indptr, row.astype(index, copy=False), codes)

    @property
    def nnz(self) -> int:
        return int(self.rows.size)

    @property
    def columns(self) -> np.ndarray:
        """(nnz,) the column of each stored code, made when asked for (the products need it once per network)."""
        return np.repeat(np.arange(self.shape[1], dtype=self.rows.dtype), np.diff(self.indptr))

    def row_major(self) -> tuple[np.ndarray, np.ndarray]:
        """(flat row-major positions ascending, codes): the order of Deep Compression's entry stream."""
        flat = self.rows.astype(np.int64) * self.shape[1] + self.columns
        order = np.argsort(flat, kind="stable")
        return flat[order], self.codes[order]

    def dense(self) -> np.ndarray:
        """The rows x cols code matrix: only on explicit request (tests, export); its size is rows x cols."""
        matrix = np.zeros(self.shape, dtype=self.codes.dtype)
        matrix[self.rows, self.columns] = self.codes
        return matrix

    def with_codes(self, codes: np.ndarray) -> SparseCodes:
        """The same positions with other codes (re-quantization keeps every position)."""
        return SparseCodes(self.shape, self.indptr, self.rows, codes)
