"""EIE interleaved CSC (eie_sim.compress.encode): round trips, filler counts, and the paper's worked example."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer, decode, encode
from eie_sim.model.ops import Layer
from examples import examples


def _layer(codes: np.ndarray) -> Layer:
    return Layer.from_codes("layer", "fc", np.asarray(codes, dtype=np.uint8), np.arange(16, dtype=np.float64))


@st.composite
def code_matrices(draw: st.DrawFn) -> np.ndarray:
    """Random code matrices: any shape up to 300 x 40, densities 0..1, with emptied rows and columns."""
    rows, cols = draw(st.integers(1, 300)), draw(st.integers(1, 40))
    density = draw(st.sampled_from([0.0, 0.005, 0.03, 0.1, 0.4, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    codes = np.where(rng.random((rows, cols)) < density, rng.integers(1, 16, (rows, cols)), 0).astype(np.uint8)
    if draw(st.booleans()):
        codes[rng.random(rows) < 0.3] = 0
    if draw(st.booleans()):
        codes[:, rng.random(cols) < 0.3] = 0
    return codes


archs = st.builds(
    lambda pes, rf, index_bits: ArchConfig(n_pes=pes, rf_entries=rf, index_bits=index_bits),
    st.integers(1, 256),
    st.sampled_from([1, 2, 3, 7, 64, 4096]),
    st.sampled_from([2, 3, 4]),
)


def expected_fillers(codes: np.ndarray, arch: ArchConfig) -> np.ndarray:
    """Per PE, the fillers gap // 2**index_bits predicts, slice by slice (PE, tile, column), written out plainly."""
    span = 1 << arch.index_bits
    fillers = np.zeros(arch.n_pes, dtype=np.int64)
    for pe in range(arch.n_pes):
        local = codes[pe :: arch.n_pes]
        for start in range(0, local.shape[0], arch.rf_entries):
            tile = local[start : start + arch.rf_entries]
            for column in tile.T:
                gaps = np.diff(np.flatnonzero(column), prepend=-1) - 1
                fillers[pe] += int((gaps // span).sum())
    return fillers


@settings(max_examples=examples(120), deadline=None)
@given(code_matrices(), archs)
def test_round_trip_and_fillers(codes: np.ndarray, arch: ArchConfig) -> None:
    enc = encode(_layer(codes), arch)
    np.testing.assert_array_equal(decode(enc).dense(), codes)

    fillers = expected_fillers(codes, arch)
    pe_nnz = np.bincount(np.nonzero(codes)[0] % arch.n_pes, minlength=arch.n_pes)
    np.testing.assert_array_equal(enc.pe_entries, pe_nnz + fillers)
    assert enc.n_fillers == fillers.sum() == np.count_nonzero(enc.codes == 0)
    assert enc.n_entries == enc.codes.size
    assert np.all(enc.zeros <= enc.max_gap)
    assert np.all(enc.zeros[enc.codes == 0] == enc.max_gap)
    assert np.all(np.diff(enc.ptr, axis=1) >= 0) and np.all(enc.ptr[:, 0] == 0)
    assert enc.n_tiles == max(1, math.ceil(math.ceil(codes.shape[0] / arch.n_pes) / arch.rf_entries))


def column_totals_by_slice(enc: EncodedLayer) -> np.ndarray:
    """(4, cols) entries, fillers, words spanned and empty slices per column, slice by slice from the pointers."""
    totals = np.zeros((4, enc.cols), dtype=np.int64)
    for pe in range(enc.n_pes):
        base = enc.pe_start[pe]
        for tile in range(enc.n_tiles):
            for column in range(enc.cols):
                start, end = enc.ptr[pe, tile * enc.cols + column], enc.ptr[pe, tile * enc.cols + column + 1]
                fillers = int(np.count_nonzero(enc.codes[base + start : base + end] == 0))
                words = (end - 1) // enc.entries_per_word - start // enc.entries_per_word + 1 if end > start else 0
                totals[:, column] += (end - start, fillers, words, end == start)
    return totals


@settings(max_examples=examples(60), deadline=None)
@given(code_matrices(), archs, st.sampled_from([8, 16, 64, 128]))
def test_column_totals_match_the_slices(codes: np.ndarray, arch: ArchConfig, spmat_width: int) -> None:
    arch = arch.replace(spmat_width=spmat_width)
    enc = encode(_layer(codes), arch)
    np.testing.assert_array_equal(enc.column_totals, column_totals_by_slice(enc))


@settings(max_examples=examples(60), deadline=None)
@given(code_matrices(), archs, st.sampled_from([8, 16, 64, 128]))
def test_slice_arrays_match_the_pointers(codes: np.ndarray, arch: ArchConfig, spmat_width: int) -> None:
    """Each slice's length, first and last word, and each PE's entries before each column, from the pointers."""
    enc = encode(_layer(codes), arch.replace(spmat_width=spmat_width))
    per_word = enc.entries_per_word
    start = enc.ptr[:, :-1].reshape(enc.n_pes, enc.n_tiles, enc.cols).transpose(2, 1, 0)  # (cols, tiles, PEs)
    end = enc.ptr[:, 1:].reshape(enc.n_pes, enc.n_tiles, enc.cols).transpose(2, 1, 0)
    np.testing.assert_array_equal(enc.length, end - start)
    np.testing.assert_array_equal(enc.first_word, np.where(end > start, start // per_word, -2))
    np.testing.assert_array_equal(enc.last_word, np.where(end > start, (end - 1) // per_word, -1))
    before = np.concatenate([np.zeros((1, enc.n_pes), dtype=np.int64), (end - start).sum(axis=1).cumsum(axis=0)])
    np.testing.assert_array_equal(enc.entries_before, before)


def test_paper_example() -> None:
    """EIE Section III-B: column [0,0,1,2, 18 zeros, 3] -> v=[1,2,0,3], z=[2,0,15,2]."""
    column = np.array([0, 0, 1, 2] + [0] * 18 + [3], dtype=np.uint8)
    enc = encode(_layer(column[:, None]), ArchConfig(n_pes=1))
    np.testing.assert_array_equal(enc.codes, [1, 2, 0, 3])
    np.testing.assert_array_equal(enc.zeros, [2, 0, 15, 2])
    np.testing.assert_array_equal(enc.ptr, [[0, 4]])


def test_long_gaps_across_pes() -> None:
    """A gap of 39 local rows needs two fillers; on 2 PEs each PE sees only its own rows."""
    codes = np.zeros((200, 1), dtype=np.uint8)
    codes[[0, 40, 199], 0] = [5, 6, 7]
    one = encode(_layer(codes), ArchConfig(n_pes=1, rf_entries=4096))
    assert one.n_fillers == 39 // 16 + 158 // 16
    two = encode(_layer(codes), ArchConfig(n_pes=2, rf_entries=4096))
    np.testing.assert_array_equal(two.pe_entries, [2 + 19 // 16, 1 + 99 // 16])
    np.testing.assert_array_equal(decode(two).dense(), codes)


def test_fewer_rows_than_pes_and_empty_layer() -> None:
    codes = np.array([[0, 3], [1, 0]], dtype=np.uint8)
    enc = encode(_layer(codes), ArchConfig(n_pes=64))
    np.testing.assert_array_equal(enc.pe_entries[:3], [1, 1, 0])
    assert enc.pe_entries[2:].sum() == 0
    np.testing.assert_array_equal(decode(enc).dense(), codes)
    empty = encode(_layer(np.zeros((5, 3))), ArchConfig(n_pes=4))
    assert empty.n_entries == 0 and decode(empty).nnz == 0
