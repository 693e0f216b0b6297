"""Random engine cases for property tests: hypothesis draws sizes, densities and a seed; numpy draws the arrays.

Drawing whole arrays from a seed keeps large layers cheap to generate; `work` bounds the simulated events
(broadcasts x PEs plus LNZD steps, over vectors and tiles) so that the slow engine stays fast enough to test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from layer_job import make_job

from eie_sim.arch import SPMAT_READ_MODES, ArchConfig
from eie_sim.engine.job import LayerJob
from eie_sim.model.ops import Layer


@dataclass(frozen=True, eq=False)
class Case:
    layer: Layer
    job: LayerJob
    arch: ArchConfig


def random_codes(
    rng: np.random.Generator, rows: int, cols: int, density: float, skew: bool, code_bits: int = 4
) -> np.ndarray:
    """Codes 1..2**code_bits - 1 kept with probability `density`; with `skew`, rows and columns have lognormal
    importance (as in real pruned layers: uneven PE loads, long zero runs that need fillers)."""
    keep = np.full((rows, cols), density)
    if skew:
        weight = np.outer(rng.lognormal(0, 1.2, rows), rng.lognormal(0, 1.2, cols))
        keep = np.minimum(1.0, density * weight / weight.mean())
    codes = rng.integers(1, 1 << code_bits, (rows, cols))
    return np.where(rng.random((rows, cols)) < keep, codes, 0).astype(np.uint8)


def random_inputs(rng: np.random.Generator, vectors: int, cols: int, density: float, bits: int) -> np.ndarray:
    """Fixed-point activations, non-zero with probability `density`; each vector's density varies around it."""
    per_vector = np.clip(density * rng.uniform(0.5, 1.5, (vectors, 1)), 0, 1) if 0 < density < 1 else density
    values = rng.integers(1, 1 << (bits - 1), (vectors, cols)) * rng.choice([-1, 1], (vectors, cols))
    return np.where(rng.random((vectors, cols)) < per_vector, values, 0).astype(np.int64)


def densities() -> st.SearchStrategy[float]:
    """0..1 in steps of 1%, exactly 0 or 1 about one time in twelve each."""
    return st.integers(-10, 110).map(lambda percent: min(100, max(0, percent)) / 100)


@st.composite
def cases(
    draw: st.DrawFn,
    max_rows: int = 2000,
    max_cols: int = 2000,
    max_cells: int = 200_000,
    max_vectors: int = 4,
    max_tiles: int = 4,
    max_pes: int = 256,
    work: int = 30_000,
) -> Case:
    """A random layer, its job and an ArchConfig: PEs 1..max_pes, queue depth 1..64, broadcast latency 0..3, either
    sparse-matrix read mode, rf_entries cut for 1..max_tiles tiles, index and weight widths 1..8 bits, codebooks of
    2 to 256 entries (entries widen when the codebook is wider than the weights), words of one entry to 512 bits,
    weight and input densities 0..1 (uniform or skewed), several vectors of different densities."""
    n_pes = draw(st.one_of(st.integers(1, 8), st.integers(1, max_pes)))
    rows = draw(st.one_of(st.integers(1, 64), st.integers(1, max_rows)))
    cols = draw(st.integers(1, max(1, min(max_cols, max_cells // rows))))
    local_rows = -(-rows // n_pes)
    rf_entries = -(-local_rows // draw(st.integers(1, max_tiles)))
    weight_bits, index_bits, code_bits = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 8))
    entry_bits = max(weight_bits, code_bits) + index_bits
    arch = ArchConfig(
        n_pes=n_pes,
        fifo_depth=draw(st.integers(1, 64)),
        rf_entries=rf_entries,
        weight_bits=weight_bits,
        index_bits=index_bits,
        spmat_width=draw(st.one_of(st.integers(entry_bits, 4 * entry_bits), st.integers(entry_bits, 512))),
        broadcast_latency_cycles=draw(st.integers(0, 3)),
        spmat_read_mode=draw(st.sampled_from(SPMAT_READ_MODES)),
    )
    tiles = -(-local_rows // rf_entries)
    vectors = draw(st.integers(1, max_vectors))
    scan = vectors * tiles * -(-cols // n_pes)
    budget = max(0, work - scan) / (vectors * tiles * (n_pes + 1) * cols)
    input_density = min(draw(densities()), budget)
    act_bits = draw(st.sampled_from([8, 16]))
    shift = draw(st.integers(0, act_bits))

    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    codes = random_codes(rng, rows, cols, draw(densities()), draw(st.booleans()), code_bits)
    inputs = random_inputs(rng, vectors, cols, input_density, act_bits)
    top = 1 << (act_bits - 1)
    codebook_q = np.concatenate([[0], rng.integers(-top, top, (1 << code_bits) - 1)])
    bias_acc = rng.integers(-top << shift, top << shift, rows) if draw(st.booleans()) else None
    layer, job = make_job(codes, inputs, arch, codebook_q, bias_acc, shift, draw(st.booleans()), act_bits)
    return Case(layer, job, arch)
