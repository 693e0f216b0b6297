"""EIE's interleaved CSC format (Han et al. 2016, Section III-B), compiled.

Row i of the weight matrix belongs to PE i mod N, at local row i // N. Each PE's destination register file holds
`rf_entries` outputs, so a PE's local rows are cut into tiles of `rf_entries` rows (output batches); every
(PE, tile) is stored as its own CSC matrix: per column, the entries (code, zeros-before) in row order, and a
pointer array with one extra final entry. A run of more than `max_gap` zeros is broken by filler entries of code
0, each standing for `max_gap + 1` rows. A PE's entries lie in its sparse-matrix SRAM tile after tile, column
after column, `entries_per_word` to a word.

Encoding walks the layer's codes once, column by column, in compiled loops (numba): a column's entries come with
rows ascending, so each entry's zeros-before is its distance to the previous entry of the same (PE, tile). The
slice lengths and their words are all that timing and counters need; the entries themselves are laid out on
first use (functional checks, the simpy engine, footprints).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError
from eie_sim.model.ops import Layer
from eie_sim.model.sparse import SparseCodes, code_dtype
from eie_sim.support.arithmetic import ceil_div


@dataclass(frozen=True, eq=False)
class EncodedLayer:
    """One layer in EIE format for one configuration. Entry arrays are flat over all PEs, PE 0's entries first;
    slice arrays are (cols, n_tiles, n_pes), so that a broadcast column's slices are one contiguous row."""

    name: str
    rows: int
    cols: int
    n_pes: int
    tile_rows: int  # local rows per tile: the destination register file size
    n_tiles: int
    code_bits: int
    index_bits: int
    entries_per_word: int
    source: SparseCodes  # the layer's codes, laid out as entries on first use
    length: np.ndarray  # (cols, n_tiles, n_pes) int32 entries of each column slice, fillers included
    # (cols, n_tiles, n_pes) int32 first and last sparse-matrix word of each slice in its PE's SRAM; an empty slice
    # has -2 and -1: it reads no word and shares none
    first_word: np.ndarray
    last_word: np.ndarray
    entries_before: np.ndarray  # (cols + 1, n_pes) entries of columns [0, j) in each PE: the layer cut at a column
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
    def ptr(self) -> np.ndarray:
        """(n_pes, n_tiles * cols + 1) PE-local entry addresses; tile b, column j starts at [b * cols + j]."""
        lengths = self.length.transpose(2, 1, 0).reshape(self.n_pes, self.n_tiles * self.cols)
        ptr = np.zeros((self.n_pes, lengths.shape[1] + 1), dtype=np.int64)
        np.cumsum(lengths, axis=1, out=ptr[:, 1:])
        return ptr

    @cached_property
    def slice_cycles(self) -> np.ndarray:
        """(cols, n_tiles, n_pes) cycles a PE spends on each slice: one per entry, and one for an empty slice."""
        return np.maximum(self.length, 1)

    @cached_property
    def pe_entries(self) -> np.ndarray:
        """(n_pes,) entries stored by each PE, fillers included."""
        return self.length.sum(axis=(0, 1), dtype=np.int64)

    @cached_property
    def pe_start(self) -> np.ndarray:
        """(n_pes + 1,) offset of each PE's first entry in the flat arrays."""
        return np.concatenate([[0], np.cumsum(self.pe_entries)])

    @property
    def codes(self) -> np.ndarray:
        """(E,) code of each entry; 0 for fillers."""
        return self._entries[0]

    @property
    def zeros(self) -> np.ndarray:
        """(E,) relative row index: zeros before this entry in its column slice."""
        return self._entries[1]

    @cached_property
    def _entries(self) -> tuple[np.ndarray, np.ndarray]:
        total = int(self.pe_start[-1])
        codes = np.zeros(total, dtype=code_dtype(self.code_bits))
        zeros = np.full(total, self.max_gap, dtype=np.uint8 if self.index_bits <= 8 else np.uint16)
        tile_start = _tile_starts(self.length) + self.pe_start[:-1]  # flat addresses
        slot_of, row_of = _row_slots(self.rows, self.n_pes, self.tile_rows)
        source, slots = self.source, self.n_tiles * self.n_pes
        _place_entries(
            source.indptr, source.rows, source.codes, slot_of, row_of, slots, tile_start.ravel(), self.index_bits,
            codes, zeros,
        )  # fmt: skip
        return codes, zeros

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
        return int(self.column_totals[0].sum())

    @property
    def n_fillers(self) -> int:
        return int(self.column_totals[1].sum())


def effective_code_bits(layer: Layer, arch: ArchConfig) -> int:
    """Virtual-weight width for a layer: the hardware's, widened when the layer's codebook needs more."""
    return max(arch.weight_bits, layer.code_bits)


def encode(layer: Layer, arch: ArchConfig) -> EncodedLayer:
    """Encode a layer's sparse codes for `arch` (PE count, register-file size, index and word widths): the length
    and words of every column slice, and what each column's broadcast costs."""
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
    slot_of, row_of = _row_slots(rows, n_pes, tile_rows)
    source = layer.codes
    length, fillers = _slice_lengths(source.indptr, source.rows, slot_of, row_of, n_tiles * n_pes, arch.index_bits)
    length = length.reshape(cols, n_tiles, n_pes)
    first_word, last_word, entries_before, words, empty = _slice_words(length, _tile_starts(length), per_word)
    column_totals = np.stack([np.diff(source.indptr) + fillers, fillers, words, empty]).astype(np.int64)
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
        source=source,
        length=length,
        first_word=first_word,
        last_word=last_word,
        entries_before=entries_before,
        column_totals=column_totals,
    )


def _row_slots(rows: int, n_pes: int, tile_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows,) int32 slice slot (tile * n_pes + PE) and row within the tile of every weight row: looked up per
    entry, cheaper than dividing."""
    local, pe = np.divmod(np.arange(rows, dtype=np.int32), np.int32(n_pes))
    tile, row = np.divmod(local, np.int32(tile_rows))
    return tile * np.int32(n_pes) + pe, row


def _tile_starts(length: np.ndarray) -> np.ndarray:
    """(n_tiles, n_pes) PE-local address of each tile's first entry: a PE stores its tiles one after another."""
    totals = length.sum(axis=0, dtype=np.int64)
    return np.cumsum(totals, axis=0) - totals


@numba.njit(cache=True, nogil=True)
def _slice_lengths(indptr, rows, slot_of, row_of, slots, index_bits):
    """(cols, slots) int32 entries of each column slice and (cols,) fillers of each column: an entry is preceded
    by one filler per 2**index_bits zero rows since the previous entry of its slice."""
    cols = indptr.size - 1
    length = np.zeros((cols, slots), np.int32)
    fillers = np.zeros(cols, np.int64)
    previous = np.empty(slots, np.int32)
    for j in range(cols):
        previous[:] = -1
        column = length[j]
        added = 0
        for e in range(indptr[j], indptr[j + 1]):
            slot, row = slot_of[rows[e]], row_of[rows[e]]
            extra = (row - previous[slot] - 1) >> index_bits
            previous[slot] = row
            column[slot] += 1 + extra
            added += extra
        fillers[j] = added
    return length, fillers


@numba.njit(cache=True, nogil=True)
def _slice_words(length, tile_start, per_word):
    """First and last word of every slice (empty: -2, -1), each PE's entries before each column, and per column
    the words spanned and the empty slices; a PE's slices follow one another column after column from each tile's
    start.

    Words are divided in float64, exact below 2**52, branch-free so that the loop runs on vector instructions.
    """
    cols, n_tiles, n_pes = length.shape
    before = np.zeros((cols + 1, n_pes), np.int64)
    first = np.empty(length.shape, np.int32)
    last = np.empty(length.shape, np.int32)
    words = np.zeros(cols, np.int64)
    empty = np.zeros(cols, np.int64)
    address = tile_start.astype(np.float64)
    for j in range(cols):
        before[j + 1] = before[j]
        spanned = 0
        none = 0
        for b in range(n_tiles):
            for k in range(n_pes):
                n = length[j, b, k]
                used = n > 0
                begin = np.int32(address[b, k] / per_word)
                end = np.int32((address[b, k] + n - used) / per_word)
                first[j, b, k] = begin if used else -2
                last[j, b, k] = end if used else -1
                spanned += (end - begin + 1) * used
                none += 1 - used
                address[b, k] += n
                before[j + 1, k] += n
        words[j] = spanned
        empty[j] = none
    return first, last, before, words, empty


@numba.njit(cache=True, nogil=True)
def _place_entries(indptr, rows, codes, slot_of, row_of, slots, start, index_bits, out_codes, out_zeros):
    """Write every entry after the fillers before it, at its slice's next flat address: `start` holds each slot's
    next address (consumed; a slice ends where the next column's begins). Fillers are already (code 0, max_gap)."""
    max_gap = (1 << index_bits) - 1
    previous = np.empty(slots, np.int32)
    for j in range(indptr.size - 1):
        previous[:] = -1
        for e in range(indptr[j], indptr[j + 1]):
            slot, row = slot_of[rows[e]], row_of[rows[e]]
            gap = row - previous[slot] - 1
            previous[slot] = row
            at = start[slot] + (gap >> index_bits)
            out_codes[at] = codes[e]
            out_zeros[at] = gap & max_gap
            start[slot] = at + 1


def decode(enc: EncodedLayer) -> SparseCodes:
    """The sparse codes an encoding stands for (fillers vanish: their code is 0)."""
    real = enc.codes != 0
    row, col = enc.entry_row[real], enc.entry_col[real]
    if np.any(row >= enc.rows):
        raise InputError(f"layer {enc.name}: an entry addresses row {int(row.max())} beyond {enc.rows} rows")
    order = np.lexsort((row, col))
    return SparseCodes.from_column_order((enc.rows, enc.cols), row[order], col[order], enc.codes[real][order])
