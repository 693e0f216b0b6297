"""What an engine is given (a LayerJob) and what it returns (outputs and LayerCounts), shared by both engines."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from eie_sim.compress.encode import EncodedLayer

PIPELINE_DRAIN = 3  # cycles from the last entry's issue to its write-back in the 4-stage arithmetic unit


@dataclass(frozen=True, eq=False)
class LayerJob:
    """One layer's matrix-vector work: the encoded weights, the fixed-point constants, and the input vectors."""

    enc: EncodedLayer
    codebook_q: np.ndarray  # (codebook size,) int64 fixed-point codebook values
    bias_acc: np.ndarray  # (rows,) int64 accumulator start values (bias in accumulator format)
    shift: int  # accumulator fractional bits minus output fractional bits
    relu: bool
    act_bits: int
    inputs: np.ndarray  # (vectors, cols) int64 fixed-point input activations


@dataclass(eq=False)
class LayerCounts:
    """Event counts of one layer over all its input vectors and output tiles (see docs/timing.md, "Counters")."""

    cycles: int
    broadcasts: int  # non-zero activations sent to every PE
    lnzd_rows: int  # register rows scanned by the LNZD tree
    queue_pushes: int  # activation-queue writes, summed over PEs
    ptr_reads: int  # pointer SRAM reads (one per bank, two per column slice)
    spmat_reads: int  # sparse-matrix SRAM word reads
    codebook_lookups: int  # entries through the arithmetic unit, fillers included
    useful_macs: int  # entries with a non-zero weight
    filler_macs: int  # filler entries (weight 0)
    empty_slices: int  # column slices with no entry: one cycle each, no MAC
    rf_reads: int  # activation register-file reads
    rf_writes: int  # activation register-file writes
    act_sram_reads: int
    act_sram_writes: int
    pe_busy: np.ndarray  # (n_pes,) cycles working on a column slice
    pe_starved: np.ndarray  # (n_pes,) cycles waiting on an empty activation queue
    pe_idle: np.ndarray  # (n_pes,) cycles done with the tile, waiting for the others

    def equals(self, other: LayerCounts) -> bool:
        """Exact equality of every counter (the two-engine contract)."""
        return all(np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    def differences(self, other: LayerCounts) -> dict[str, tuple]:
        return {
            f.name: (getattr(self, f.name), getattr(other, f.name))
            for f in fields(self)
            if not np.array_equal(getattr(self, f.name), getattr(other, f.name))
        }


def side_by_side(parts: list[LayerCounts]) -> LayerCounts:
    """Counts of PE groups that run at the same time on different inputs: the slowest sets the cycles, the
    others wait idle for it; events add up and the per-PE arrays line up group after group."""
    cycles = max(c.cycles for c in parts)
    totals = {
        f.name: sum(int(getattr(c, f.name)) for c in parts)
        for f in fields(LayerCounts)
        if not f.name.startswith("pe_") and f.name != "cycles"
    }
    return LayerCounts(
        cycles=cycles,
        **totals,
        pe_busy=np.concatenate([c.pe_busy for c in parts]),
        pe_starved=np.concatenate([c.pe_starved for c in parts]),
        pe_idle=np.concatenate([c.pe_idle + cycles - c.cycles for c in parts]),
    )


@dataclass(frozen=True, eq=False)
class LayerRun:
    """An engine's answer for one layer: output activations (vectors, rows) int64, unless not asked for, and the
    counts."""

    outputs: np.ndarray | None
    counts: LayerCounts


def activation_storage_counts(enc: EncodedLayer, vectors: int, rf_entries: int, entries: int) -> dict[str, int]:
    """Register-file and activation-SRAM traffic of a layer (the same rule for both engines).

    Each of the `entries` processed reads and writes its accumulator in the destination register file.
    The LNZD reads every input slot once per tile: activation j sits in PE j mod N at slot j // N, slots below
    `rf_entries` in the source register file, the rest in the activation SRAM. After each tile, every output row is
    read from its accumulator and written back: into the register file (it becomes the next layer's source) when the
    layer has one tile, else into the activation SRAM.
    """
    in_rf = min(enc.cols, rf_entries * enc.n_pes)
    reads_per_tile_rf, reads_per_tile_sram = in_rf, enc.cols - in_rf
    out_in_sram = enc.n_tiles > 1
    return {
        "rf_reads": entries + vectors * (enc.n_tiles * reads_per_tile_rf + enc.rows),
        "act_sram_reads": vectors * enc.n_tiles * reads_per_tile_sram,
        "rf_writes": entries + (0 if out_in_sram else vectors * enc.rows),
        "act_sram_writes": vectors * enc.rows if out_in_sram else 0,
    }
