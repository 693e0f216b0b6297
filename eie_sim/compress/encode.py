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
import scipy.sparse

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError
from eie_sim.model.ops import Layer
from eie_sim.model.sparse import SparseCodes, code_dtype, index_dtype
from eie_sim.support.arithmetic import ceil_div


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
    # (4, cols) per input column, summed over tiles and PEs: entries, fillers, sparse-matrix words spanned and empty
    # slices; what one broadcast of the column costs in event counters
    column_totals: np.ndarray

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
    def real_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(global row, column, code) of every stored entry but the fillers, decoded from the format itself."""
        real = np.flatnonzero(self.codes)
        return self.entry_row[real], self.entry_col[real], self.codes[real]

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
    """Encode a layer's sparse codes for `arch` (PE count, register-file size, index and word widths).

    The layer's codes come in column order with rows ascending, so one stable linear-time sort by (PE, tile)
    puts every entry in its PE's slice order: (PE, tile, column, row). The entries' (PE, tile) and row within the
    tile are worked out from their rows; the slices, their fillers and what each column's broadcast costs follow
    from the sorted order.
    """
    n_pes, tile_rows = arch.n_pes, arch.rf_entries
    code_bits = effective_code_bits(layer, arch)
    entry_bits = code_bits + arch.index_bits
    per_word = arch.spmat_width // entry_bits
    if per_word < 1:
        raise InputError(
            f"spmat_width: {arch.spmat_width} bits cannot hold one {entry_bits}-bit entry of layer {layer.name} "
            f"({code_bits}-bit codes + {arch.index_bits}-bit index)"
        )
    rows, cols = layer.rows, layer.cols
    n_tiles = max(1, ceil_div(ceil_div(rows, n_pes), tile_rows))
    local, pe = np.divmod(layer.codes.rows, n_pes)
    tile, tile_row = np.divmod(local, tile_rows)
    del local
    slot = pe * n_tiles + tile  # the (PE, tile) CSC matrix each entry belongs to
    del pe, tile
    code_mask = (1 << code_bits) - 1
    payload = tile_row.astype(np.int64 if tile_rows << code_bits > 2**31 else np.int32)
    np.left_shift(payload, code_bits, out=payload)
    np.bitwise_or(payload, layer.codes.codes, out=payload)
    del tile_row
    # Entries grouped by (PE, tile), keeping their column order: a transposition, scipy's linear-time counting sort.
    by_slot = scipy.sparse.csr_array((payload, slot, layer.codes.indptr), shape=(cols, n_pes * n_tiles)).tocsc()
    del payload, slot
    slot_start, col, payload = by_slot.indptr, by_slot.indices, by_slot.data
    tile_row, code = payload >> code_bits, payload & code_mask
    del by_slot, payload

    first = np.ones(col.size, dtype=bool)  # the first entry of each (PE, tile, column) slice
    first[1:] = col[1:] != col[:-1]
    first[slot_start[:-1][slot_start[:-1] < col.size]] = True
    previous = np.empty_like(tile_row)
    previous[:1] = -1
    previous[1:] = tile_row[:-1]
    gap = np.where(first, tile_row, tile_row - previous - 1)  # zero rows skipped before each entry
    del previous, tile_row
    fillers = gap >> arch.index_bits  # one filler per 2**index_bits skipped rows
    dtype = index_dtype(col.size + int(fillers.sum()), n_pes * n_tiles)  # entries, fillers and slots all fit
    position = np.cumsum(fillers, dtype=dtype)  # fillers so far, then each entry's place in the flat arrays
    position += np.arange(col.size, dtype=dtype)
    total = int(position[-1]) + 1 if col.size else 0
    codes = np.zeros(total, dtype=code_dtype(code_bits))
    zeros = np.full(total, arch.max_gap, dtype=np.uint8 if arch.index_bits <= 8 else np.uint16)
    codes[position] = code
    zeros[position] = gap & arch.max_gap
    del code, gap

    # Slices are stored in (PE, tile, column) order, each from its first filler or entry on.
    with_fillers = np.flatnonzero(fillers)
    column_fillers = np.bincount(col[with_fillers], fillers[with_fillers], minlength=cols).astype(np.int64)
    starts = np.flatnonzero(first).astype(dtype)
    del first, with_fillers
    slice_start = position[starts] - fillers[starts]
    del position, fillers
    slice_length = np.diff(slice_start, append=dtype(total))
    slice_slot, slice_col = np.searchsorted(slot_start, starts, side="right").astype(dtype) - 1, col[starts]
    del starts, col
    length = np.zeros(n_pes * n_tiles * cols, dtype=np.int64)
    length[slice_slot.astype(np.int64) * cols + slice_col] = slice_length
    ptr = np.zeros((n_pes, n_tiles * cols + 1), dtype=np.int64)
    np.cumsum(length.reshape(n_pes, n_tiles * cols), axis=1, out=ptr[:, 1:])
    del length

    # What one broadcast of each column costs: its entries and fillers, and the words its non-empty slices span.
    local_start = slice_start - (np.cumsum(ptr[:, -1]) - ptr[:, -1]).astype(dtype)[slice_slot // n_tiles]
    del slice_start, slice_slot
    slice_words = (local_start + slice_length - 1) // per_word - local_start // per_word + 1
    del local_start, slice_length
    column_totals = np.stack(
        [
            np.diff(layer.codes.indptr) + column_fillers,
            column_fillers,
            np.bincount(slice_col, slice_words, minlength=cols).astype(np.int64),
            n_pes * n_tiles - np.bincount(slice_col, minlength=cols),
        ]
    )
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
        column_totals=column_totals,
    )


def decode(enc: EncodedLayer) -> SparseCodes:
    """The sparse codes an encoding stands for (fillers vanish: their code is 0)."""
    real = enc.codes != 0
    row, col = enc.entry_row[real], enc.entry_col[real]
    if np.any(row >= enc.rows):
        raise InputError(f"layer {enc.name}: an entry addresses row {int(row.max())} beyond {enc.rows} rows")
    order = np.lexsort((row, col))
    return SparseCodes.from_column_order((enc.rows, enc.cols), row[order], col[order], enc.codes[real][order])
