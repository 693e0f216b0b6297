"""Notes printed with results, computed from them: what the baselines are, and why a layer or a sweep is DRAM-bound.

A number that surprises (a layer far slower than its compute, time that rises with more PEs) should say why where it
is printed, not only in the documentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from eie_sim.arch import ArchConfig

BASELINES = (
    "baseline 'dense fp32 weights, DRAM': the uncompressed float32 weights read once from DRAM, nothing else; it "
    "leaves out arithmetic and on-chip traffic, so on conv nets it says little",
    "baseline 'dense datapath': the same network on the same PEs without compression (16-bit weights in an SRAM of "
    "the same technology, a MAC for every weight and input vector, DRAM only for weights beyond the same total SRAM), "
    "priced with the same energy table",
)
POINTER_GROWTH = (
    "every PE holds cols + 1 pointers per output tile of every layer, so pointer bytes grow with PEs x tiles while "
    "the pointer SRAM per PE stays the same"
)


def result_notes(layers: pd.DataFrame, networks: Sequence[str], arch: ArchConfig) -> list[str]:
    """The baselines' legend, then the DRAM-bound layers and the weights or activations that make them so;
    `networks` names each layer's independent network (layers of one network share the SRAMs)."""
    notes = list(BASELINES)
    bound = layers[layers["cycles"] > layers["compute_cycles"]]
    if bound.empty:
        return notes
    ratios = ", ".join(f"{r.name} {r.cycles / max(r.compute_cycles, 1):,.1f}x" for r in bound.itertuples())
    notes.append(f"DRAM-bound (time set by DRAM transfers, not compute): {ratios} its compute cycles")
    owner = pd.Series(list(networks), index=layers.index)
    for network in dict.fromkeys(owner[bound.index]):
        members = layers[owner == network]
        notes += _spill_notes(members, arch, f"network {network}: " if len(set(networks)) > 1 else "")
    acts = int(bound["dram_read_bytes"].sum() + bound["dram_write_bytes"].sum() - bound["dram_weight_bytes"].sum())
    if acts > bound["dram_weight_bytes"].sum():
        notes.append(
            f"the DRAM-bound layers move {acts:,} B of activations per inference: tensors larger than the activation "
            "storage, and inputs from DRAM read again on every pass over streamed weights"
        )
    return notes


def _spill_notes(members: pd.DataFrame, arch: ArchConfig, prefix: str) -> list[str]:
    """What of one network's weights does not fit, per SRAM."""
    notes = []
    ptr_need = int((members["ptr_pinned_bytes"] + members["ptr_streamed_bytes"]).sum()) // arch.n_pes
    if members["ptr_streamed_bytes"].sum():
        notes.append(
            f"{prefix}pointers need {ptr_need:,} B per PE against {round(arch.ptr_kb * 1024):,} B of pointer SRAM; "
            f"{int(members['ptr_streamed_bytes'].sum()):,} B stream from DRAM per inference ({POINTER_GROWTH})"
        )
    if members["spmat_streamed_bytes"].sum():
        spmat_need = int((members["spmat_pinned_bytes"] + members["spmat_streamed_bytes"]).sum()) // arch.n_pes
        notes.append(
            f"{prefix}entries need {spmat_need:,} B per PE on average against {round(arch.spmat_kb * 1024):,} B of "
            f"sparse-matrix SRAM; {int(members['spmat_streamed_bytes'].sum()):,} B stream from DRAM per inference"
        )
    return notes


def sweep_notes(frame: pd.DataFrame, config: Sequence[str]) -> list[str]:
    """Where a sweep's time per inference rises with the PE count (`config`: the other configuration columns,
    equal along a series), the layers and the bytes that make it rise."""
    if "pes" not in frame or frame["pes"].nunique() < 2:
        return []
    totals = frame[frame["name"] == "total"]
    others = [c for c in config if c != "pes" and c in totals]
    notes = []
    for _, series in totals.groupby(others, sort=False, dropna=False) if others else [(None, totals)]:
        series = series.sort_values("pes")
        for low, high in zip(series.itertuples(), series.iloc[1:].itertuples()):
            if high.time_us > low.time_us:
                layers = frame[(frame["point_key"] == high.point_key) & (frame["name"] != "total")]
                notes.append(_rise(low, high, layers))
    return notes


def _rise(low: Any, high: Any, layers: pd.DataFrame) -> str:
    """Why time rises from point `low` to point `high` (total rows), from `high`'s layer rows."""
    text = f"time rises from {low.pes} to {high.pes} PEs ({low.time_us:,.1f} -> {high.time_us:,.1f} us)"
    bound = layers[layers["cycles"] > layers["compute_cycles"]]
    if not bound.empty:
        text += f": DRAM-bound {', '.join(bound['name'])}"
    if high.ptr_streamed_bytes > low.ptr_streamed_bytes:
        text += (f"; pointers streamed per inference {int(low.ptr_streamed_bytes):,} -> "
                 f"{int(high.ptr_streamed_bytes):,} B: {POINTER_GROWTH}")  # fmt: skip
    if high.spmat_streamed_bytes > low.spmat_streamed_bytes:
        text += (f"; entries streamed per inference {int(low.spmat_streamed_bytes):,} -> "
                 f"{int(high.spmat_streamed_bytes):,} B")  # fmt: skip
    if high.compute_cycles > low.compute_cycles:
        text += f"; compute cycles rise too ({int(low.compute_cycles):,} -> {int(high.compute_cycles):,})"
    return text
