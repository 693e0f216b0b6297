"""A simulation's results as plain tables: a row per weighted layer, a total, and per-PE cycles.

`tabulate` turns what a simulation measured (per-layer records and their memory and energy columns, computed in
eie_sim.costs) into tidy pandas frames; Result holds them with the functional results, for tables, JSON and plots.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.costs.layer_costs import nest_energy
from eie_sim.costs.memory import LayerIO, MemoryPlan
from eie_sim.engine.job import LayerCounts
from eie_sim.model.functional import Functional
from eie_sim.model.ops import Layer
from eie_sim.results.notes import result_notes
from eie_sim.results.render import to_jsonable

COUNTERS = [f.name for f in fields(LayerCounts) if not f.name.startswith("pe_")]


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """Everything measured for one layer: its encoding, the engine's counts and what went in and out."""

    layer: Layer
    enc: EncodedLayer
    counts: LayerCounts
    vectors: int
    input_density: float
    io: LayerIO  # activation tensors and whether they cross the chip boundary (eie_sim.costs.memory)
    groups: int = 1  # PE groups working on different output positions (conv_mapping "positions")


@dataclass(frozen=True, eq=False)
class Result:
    """A simulation's results: `layers` (a row per weighted layer), `total`, `pes` (per PE and layer)."""

    workload: str
    engine: str
    arch: ArchConfig
    records: tuple[LayerRecord, ...]
    functional: Functional = field(repr=False)
    memory: MemoryPlan = field(repr=False)
    layers: pd.DataFrame = field(repr=False)
    total: pd.Series = field(repr=False)
    pes: pd.DataFrame = field(repr=False)

    def output(self, name: str | None = None) -> np.ndarray:
        """A tensor's fixed-point values, as floats (the network's output by default)."""
        return self.functional.output(name)

    def top_classes(self, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """The k largest outputs' indices: 16-bit fixed point as EIE computes them, and float32."""
        return self.functional.top_classes(k)

    def rows(self) -> pd.DataFrame:
        """The layers' rows and a last row named "total": the layout of CSV files and sweep results."""
        return stack_rows([self.layers, pd.DataFrame([{"name": "total", **self.total.to_dict()}])])

    def classifies(self) -> bool:
        """Whether the network is an image classifier (it has a conv layer): its top classes mean something."""
        return any(r.layer.kind == "conv" for r in self.records)

    def top5(self) -> dict[str, list[dict[str, Any]]]:
        """The five largest outputs as EIE computes them (16-bit fixed point) and in float32, each with its class
        index and score."""
        scores = {
            "simulated": self.output().reshape(-1),
            "float32": self.functional.float_tensors[self.functional.network.output].reshape(-1),
        }
        return {
            kind: [{"index": int(i), "score": float(scores[kind][i])} for i in indices]
            for kind, indices in zip(scores, self.top_classes(5))
        }

    def notes(self) -> list[str]:
        """The baselines' legend and why layers are DRAM-bound (eie_sim.results.notes)."""
        return result_notes(self.layers, [r.io.network for r in self.records], self.arch)

    def to_dict(self) -> dict[str, Any]:
        described = {
            "workload": self.workload,
            "engine": self.engine,
            "arch": self.arch.to_dict(),
            "layers": [nest_energy(row) for row in self.layers.to_dict(orient="records")],
            "total": nest_energy(self.total.to_dict()),
            "notes": self.notes(),
        }
        if self.classifies():
            described["top5"] = self.top5()
        return to_jsonable(described)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def stack_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under another; a column of integers in every frame that has it stays integer (nullable) where
    another frame lacks it, rather than turning into floats (4096.0) around the missing values."""
    stacked = pd.concat(frames, ignore_index=True)
    whole = [
        column
        for column in stacked
        if stacked[column].isna().any()
        and all(
            pd.api.types.is_integer_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
            for frame in frames
            if column in frame
        )
    ]
    return stacked.astype(dict.fromkeys(whole, "Int64"))


def derived(
    cycles: int, compute_cycles: int, useful_macs: int, busy: int, dense_macs: int, arch: ArchConfig
) -> dict[str, float]:
    """Time and throughput at the clock, and the two efficiency ratios (docs/timing.md, "Derived figures").

    `cycles` include waiting on DRAM (eie_sim.costs.memory); load efficiency, the PEs' balance, counts compute
    cycles only.
    """
    time_us = cycles / arch.clock_mhz
    seconds = time_us * 1e-6
    return {
        "time_us": time_us,
        "useful_gop_per_s": 2 * useful_macs / seconds / 1e9 if cycles else 0.0,
        "dense_gop_per_s": 2 * dense_macs / seconds / 1e9 if cycles else 0.0,
        "load_efficiency": busy / (arch.n_pes * compute_cycles) if compute_cycles else 0.0,
        "mac_utilization": useful_macs / (arch.n_pes * cycles) if cycles else 0.0,
    }


def layer_row(record: LayerRecord, arch: ArchConfig, costs: dict[str, Any]) -> dict[str, Any]:
    """One layer's columns; `costs` adds memory traffic and energy, and its `cycles` (compute or DRAM transfer,
    whichever is longer) replaces the engine's, which stays as `compute_cycles`."""
    layer, enc, counts = record.layer, record.enc, record.counts
    row: dict[str, Any] = {
        "name": layer.name,
        "kind": layer.kind,
        "rows": layer.rows,
        "cols": layer.cols,
        "vectors": record.vectors,
        "nnz": layer.nnz,
        "fillers": enc.n_fillers,
        "weight_density": layer.density,
        "input_density": record.input_density,
        "code_bits": enc.code_bits,
        "tiles": enc.n_tiles,
        "pe_groups": record.groups,
    }
    row.update({name: int(getattr(counts, name)) for name in COUNTERS})
    row.update(costs)
    dense_macs = layer.rows * layer.cols * record.vectors
    busy = int(counts.pe_busy.sum())
    row.update(derived(costs["cycles"], costs["compute_cycles"], counts.useful_macs, busy, dense_macs, arch))
    return row


def total_row(records: tuple[LayerRecord, ...], arch: ArchConfig, costs: dict[str, Any]) -> pd.Series:
    """The whole network's columns; `costs` are its memory and energy totals (eie_sim.costs.layer_costs)."""
    total: dict[str, Any] = {name: sum(int(getattr(r.counts, name)) for r in records) for name in COUNTERS}
    total["nnz"] = sum(r.layer.nnz for r in records)
    total["fillers"] = sum(r.enc.n_fillers for r in records)
    dense = sum(r.layer.rows * r.layer.cols * r.vectors for r in records)
    busy = sum(int(r.counts.pe_busy.sum()) for r in records)
    total.update(costs)
    total.update(derived(total["cycles"], total["compute_cycles"], total["useful_macs"], busy, dense, arch))
    # Layers that share no tensor (the EIE paper's nine benchmark layers) are independent networks: their total is
    # each run once, one after another, and no inference rate or inferences per joule follows from it.
    total["independent_networks"] = len({r.io.network for r in records})
    if total["independent_networks"] == 1:
        total["inferences_per_s"] = 1e6 / total["time_us"] if total["time_us"] else 0.0
    else:
        total.pop("inferences_per_j", None)
    return pd.Series(total, name="total")


def pe_frame(records: tuple[LayerRecord, ...]) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "layer": r.layer.name,
                    "pe": np.arange(r.counts.pe_busy.size),
                    "busy_cycles": r.counts.pe_busy,
                    "starved_cycles": r.counts.pe_starved,
                    "idle_cycles": r.counts.pe_idle,
                }
            )
            for r in records
        ],
        ignore_index=True,
    )
