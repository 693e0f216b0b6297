"""EIE's interleaved CSC format (Han et al. 2016, Section III-B), vectorized.

Row i of the weight matrix belongs to PE i mod N, at local row i // N. Each PE's destination register file holds
`rf_entries` outputs, so a PE's local rows are cut into tiles of `rf_entries` rows (output batches); every
(PE, tile) is stored as its own CSC matrix: per column, the entries (code, zeros-before) in row order, and a
pointer array with one extra final entry. A run of more than `max_gap` zeros is broken by filler entries of code
0, each standing for `max_gap + 1` rows. A PE's entries lie in its sparse-matrix SRAM tile after tile, column
after column, `entries_per_word` to a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError
from eie_sim.model.network import Layer


@dataclass(frozen=True, eq=False)
class EncodedLayer:
    """One layer in EIE format for one configuration. Arrays are flat over all PEs, PE 0's entries first."""

    name: str
    rows: int
    cols: int
    n_pes: int
    tile_rows: int  # local rows per tile: the destination register file size
    n_tiles: int
    code_bits: int
    index_bits: int
    entries_per_word: int
    codes: np.ndarray  # (E,) code of each entry; 0 for fillers
    zeros: np.ndarray  # (E,) relative row index: zeros before this entry in its column slice
    ptr: np.ndarray  # (n_pes, n_tiles * cols + 1) PE-local entry addresses; tile b, column j starts at [b*cols + j]

    @property
    def max_gap(self) -> int:
        return (1 << self.index_bits) - 1

    @property
    def entry_bits(self) -> int:
        return self.code_bits + self.index_bits

    @cached_property
    def pe_entries(self) -> np.ndarray:
        """(n_pes,) entries stored by each PE, fillers included."""
        return self.ptr[:, -1].copy()

    @cached_property
    def pe_start(self) -> np.ndarray:
        """(n_pes + 1,) offset of each PE's first entry in the flat arrays."""
        return np.concatenate([[0], np.cumsum(self.pe_entries)])

    @cached_property
    def slice_len(self) -> np.ndarray:
        """(n_tiles, n_pes, cols) entries in each column slice, fillers included: a view of a (cols, n_tiles, n_pes)
        array, so that gathering columns copies contiguous rows."""
        lengths = np.diff(self.ptr, axis=1).reshape(self.n_pes, self.n_tiles, self.cols)
        return np.ascontiguousarray(lengths.transpose(2, 1, 0)).transpose(1, 2, 0)

    @cached_property
    def slice_start(self) -> np.ndarray:
        """(n_tiles, n_pes, cols) PE-local address of each column slice's first entry."""
        return self.ptr[:, :-1].reshape(self.n_pes, self.n_tiles, self.cols).transpose(1, 0, 2)

    @cached_property
    def slice_words(self) -> np.ndarray:
        """(n_tiles, n_pes, cols) sparse-matrix SRAM words a slice spans (0 for an empty slice)."""
        start, length = self.slice_start, self.slice_len
        last = start + length - 1
        return np.where(length > 0, last // self.entries_per_word - start // self.entries_per_word + 1, 0)

    @cached_property
    def slice_line_words(self) -> tuple[np.ndarray, np.ndarray]:
        """(cols, n_tiles, n_pes) first and last sparse-matrix word of each column slice, counted from the first
        word of its (PE, tile) so that they fit a small integer type; laid out so that gathering columns copies
        contiguous rows. An empty slice has first word -2 and last word -1: it reads no word and shares none."""
        per_word = self.entries_per_word
        start = self.ptr[:, :-1].reshape(self.n_pes, self.n_tiles, self.cols)
        end = self.ptr[:, 1:].reshape(self.n_pes, self.n_tiles, self.cols)
        base = start[:, :, :1] // per_word
        empty = end == start
        first = np.where(empty, -2, start // per_word - base)
        last = np.where(empty, -1, (end - 1) // per_word - base)
        dtype = np.int16 if last.max(initial=0) <= np.iinfo(np.int16).max else np.int32
        return (
            np.ascontiguousarray(first.transpose(2, 1, 0), dtype=dtype),
            np.ascontiguousarray(last.transpose(2, 1, 0), dtype=dtype),
        )

    @cached_property
    def slice_fillers(self) -> np.ndarray:
        """(n_tiles, n_pes, cols) filler entries in each column slice."""
        group = self.entry_group
        fillers = np.bincount(group[self.codes == 0], minlength=self.n_pes * self.n_tiles * self.cols)
        return fillers.reshape(self.n_pes, self.n_tiles, self.cols).transpose(1, 0, 2)

    @cached_property
    def entry_group(self) -> np.ndarray:
        """(E,) flat (pe, tile, column) slice number of each entry."""
        lengths = np.diff(self.ptr, axis=1).ravel()
        return np.repeat(np.arange(lengths.size), lengths)

    @cached_property
    def entry_local_row(self) -> np.ndarray:
        """(E,) local row (within the tile) each entry addresses, accumulated from the relative indices."""
        steps = self.zeros.astype(np.int64) + 1
        running = np.cumsum(steps)
        lengths = np.diff(self.ptr, axis=1).ravel()
        slice_first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        before = np.concatenate([[0], running])[slice_first]
        return running - np.repeat(before, lengths) - 1

    @cached_property
    def entry_row(self) -> np.ndarray:
        """(E,) global output row of each entry (fillers included)."""
        group = self.entry_group
        pe = group // (self.n_tiles * self.cols)
        tile = (group // self.cols) % self.n_tiles
        return (tile * self.tile_rows + self.entry_local_row) * self.n_pes + pe

    @cached_property
    def entry_col(self) -> np.ndarray:
        """(E,) input column of each entry."""
        return self.entry_group % self.cols

    @cached_property
    def column_totals(self) -> np.ndarray:
        """(4, cols) per input column, summed over tiles and PEs: entries, fillers, sparse-matrix words and empty
        slices; what one broadcast of the column costs in event counters."""
        per_slice = (self.slice_len, self.slice_fillers, self.slice_words, self.slice_len == 0)
        return np.stack([part.sum(axis=(0, 1), dtype=np.int64) for part in per_slice])

    @cached_property
    def column_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The real entries (fillers dropped) regrouped column by column, so that an input's non-zero columns are
        read without touching the others: (cols + 1,) where each column starts, each entry's global row (both int32
        when every row and position fits: scipy's own index type, no conversion) and its code."""
        real = np.flatnonzero(self.codes)
        col = self.entry_col[real].astype(np.min_scalar_type(max(self.cols - 1, 0)))  # narrow keys: a radix sort
        real = real[np.argsort(col, kind="stable")]
        index = np.int32 if max(self.rows, real.size) < 2**31 else np.int64
        start = np.zeros(self.cols + 1, dtype=index)
        np.cumsum(np.bincount(col, minlength=self.cols), out=start[1:])
        return start, self.entry_row[real].astype(index), self.codes[real]

    @property
    def n_entries(self) -> int:
        return int(self.codes.size)

    @property
    def n_fillers(self) -> int:
        return int(np.count_nonzero(self.codes == 0))


def effective_code_bits(layer: Layer, arch: ArchConfig) -> int:
    """Virtual-weight width for a layer: the hardware's, widened when the layer's codebook needs more."""
    return max(arch.weight_bits, layer.code_bits)


def encode(layer: Layer, arch: ArchConfig) -> EncodedLayer:
    """Encode a layer's code matrix for `arch` (PE count, register-file size, index and word widths)."""
    n_pes, tile_rows = arch.n_pes, arch.rf_entries
    code_bits = effective_code_bits(layer, arch)
    entry_bits = code_bits + arch.index_bits
    per_word = arch.spmat_width // entry_bits
    if per_word < 1:
        raise InputError(
            f"spmat_width: {arch.spmat_width} bits cannot hold one {entry_bits}-bit entry of layer {layer.name} "
            f"({code_bits}-bit codes + {arch.index_bits}-bit index)"
        )
    matrix = layer.matrix_codes
    rows, cols = matrix.shape
    n_tiles = max(1, -(-(-(-rows // n_pes)) // tile_rows))
    row, col = np.nonzero(matrix)
    code = matrix[row, col]
    pe, local = row % n_pes, row // n_pes
    tile, tile_row = local // tile_rows, local % tile_rows
    group = (pe * n_tiles + tile) * cols + col
    order = np.argsort(group * tile_rows + tile_row, kind="stable")
    group, tile_row, code = group[order], tile_row[order], code[order]

    first_in_slice = np.ones(group.size, dtype=bool)
    first_in_slice[1:] = group[1:] != group[:-1]
    previous_row = np.where(first_in_slice, -1, np.concatenate([[-1], tile_row[:-1]]))
    gap = tile_row - previous_row - 1
    span = arch.max_gap + 1
    fillers = gap // span

    total = group.size + int(fillers.sum())
    position = np.arange(group.size) + np.cumsum(fillers)
    codes = np.zeros(total, dtype=np.uint16 if code_bits > 8 else np.uint8)
    zeros = np.full(total, arch.max_gap, dtype=np.uint8 if arch.index_bits <= 8 else np.uint16)
    codes[position] = code
    zeros[position] = gap % span

    counts = np.bincount(group, weights=fillers + 1, minlength=n_pes * n_tiles * cols).astype(np.int64)
    counts = counts.reshape(n_pes, n_tiles * cols)
    ptr = np.zeros((n_pes, n_tiles * cols + 1), dtype=np.int64)
    np.cumsum(counts, axis=1, out=ptr[:, 1:])
    return EncodedLayer(
        name=layer.name,
        rows=rows,
        cols=cols,
        n_pes=n_pes,
        tile_rows=tile_rows,
        n_tiles=n_tiles,
        code_bits=code_bits,
        index_bits=arch.index_bits,
        entries_per_word=per_word,
        codes=codes,
        zeros=zeros,
        ptr=ptr,
    )


def decode(enc: EncodedLayer) -> np.ndarray:
    """The rows x cols code matrix an encoding stands for (fillers vanish: their code is 0)."""
    matrix = np.zeros((enc.rows, enc.cols), dtype=enc.codes.dtype)
    real = enc.codes != 0
    row, col = enc.entry_row[real], enc.entry_col[real]
    if np.any(row >= enc.rows):
        raise InputError(f"layer {enc.name}: an entry addresses row {int(row.max())} beyond {enc.rows} rows")
    matrix[row, col] = enc.codes[real]
    return matrix
