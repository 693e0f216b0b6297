"""Simulating a network on EIE: float run -> fixed-point formats -> each layer through an engine -> tidy results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer, encode
from eie_sim.costs.layer_costs import layer_costs, nest_energy, total_costs
from eie_sim.costs.memory import LayerIO, MemoryPlan, layer_io
from eie_sim.engine import get_engine
from eie_sim.engine.job import LayerCounts, LayerJob, side_by_side
from eie_sim.errors import InputError
from eie_sim.model import fixedpoint, graph
from eie_sim.model.network import Layer, Network
from eie_sim.model.number_formats import FixedPlan, plan, run_float
from eie_sim.results.render import to_jsonable
from eie_sim.support import memory_budget as limits
from eie_sim.support.progress import progress_bar

COUNTERS = [f.name for f in fields(LayerCounts) if not f.name.startswith("pe_")]


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """Everything measured for one layer: its encoding, the engine's counts and what went in and out."""

    layer: Layer
    enc: EncodedLayer
    counts: LayerCounts
    vectors: int
    input_density: float
    io: LayerIO  # activation tensors and whether they cross the chip boundary (eie_sim.memory)
    groups: int = 1  # PE groups working on different output positions (conv_mapping "positions")


@dataclass(frozen=True, eq=False)
class Result:
    """A simulation's results: `layers` (one row per weighted layer), `total`, `pes` (per PE and layer)."""

    workload: str
    engine: str
    arch: ArchConfig
    records: tuple[LayerRecord, ...]
    plan: FixedPlan
    tensors_q: dict[str, np.ndarray] = field(repr=False)
    float_tensors: dict[str, np.ndarray] = field(repr=False)
    output_name: str
    layers: pd.DataFrame = field(init=False, repr=False)
    total: pd.Series = field(init=False, repr=False)
    pes: pd.DataFrame = field(init=False, repr=False)
    memory: MemoryPlan = field(init=False, repr=False)

    def __post_init__(self) -> None:
        memory, costs = layer_costs(self.records, self.arch)
        object.__setattr__(self, "memory", memory)
        object.__setattr__(
            self, "layers", pd.DataFrame([layer_row(r, self.arch, c) for r, c in zip(self.records, costs)])
        )
        object.__setattr__(self, "total", total_row(self.records, self.arch, memory, costs))
        object.__setattr__(self, "pes", pe_frame(self.records))

    def output(self, name: str | None = None) -> np.ndarray:
        """A tensor's simulated fixed-point values, as floats (the network's output by default)."""
        name = name or self.output_name
        return fixedpoint.to_float(self.tensors_q[name], self.plan.tensor_frac[name])

    def top_classes(self, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
        """The k largest outputs' indices: simulated (16-bit fixed point) and float32 reference of the same weights."""
        simulated = self.output().reshape(-1)
        reference = self.float_tensors[self.output_name].reshape(-1)
        return np.argsort(-simulated, kind="stable")[:k], np.argsort(-reference, kind="stable")[:k]

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(
            {
                "workload": self.workload,
                "engine": self.engine,
                "arch": self.arch.to_dict(),
                "layers": [nest_energy(row) for row in self.layers.to_dict(orient="records")],
                "total": nest_energy(self.total.to_dict()),
            }
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def layer_row(record: LayerRecord, arch: ArchConfig, costs: dict[str, Any]) -> dict[str, Any]:
    """One layer's columns; `costs` (eie_sim.costs) adds memory traffic and energy, and its `cycles` (compute or
    DRAM transfer, whichever is longer) replaces the engine's, which stays as `compute_cycles`."""
    layer, enc, counts = record.layer, record.enc, record.counts
    row: dict[str, Any] = {
        "name": layer.name,
        "kind": layer.kind,
        "rows": layer.rows,
        "cols": layer.cols,
        "vectors": record.vectors,
        "nnz": layer.nnz,
        "padding": enc.n_fillers,
        "weight_density": layer.density,
        "input_density": record.input_density,
        "code_bits": enc.code_bits,
        "tiles": enc.n_tiles,
        "pe_groups": record.groups,
    }
    row.update({name: int(getattr(counts, name)) for name in COUNTERS})
    row.update(costs)
    row.update(
        derived(
            costs["cycles"],
            costs["compute_cycles"],
            counts.useful_macs,
            int(counts.pe_busy.sum()),
            layer.rows * layer.cols * record.vectors,
            arch,
        )
    )
    return row


def derived(
    cycles: int, compute_cycles: int, useful_macs: int, busy: int, dense_macs: int, arch: ArchConfig
) -> dict[str, float]:
    """Time and throughput at the clock, and the two efficiency ratios (README, "Derived figures").

    `cycles` include waiting on DRAM (eie_sim.memory); load efficiency, the PEs' balance, counts compute cycles only.
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


def total_row(
    records: tuple[LayerRecord, ...], arch: ArchConfig, memory: MemoryPlan, costs: list[dict[str, Any]]
) -> pd.Series:
    total: dict[str, Any] = {name: sum(int(getattr(r.counts, name)) for r in records) for name in COUNTERS}
    total["nnz"] = sum(r.layer.nnz for r in records)
    total["padding"] = sum(r.enc.n_fillers for r in records)
    dense = sum(r.layer.rows * r.layer.cols * r.vectors for r in records)
    busy = sum(int(r.counts.pe_busy.sum()) for r in records)
    total.update(total_costs(memory, costs, total["useful_macs"], arch))
    total.update(derived(total["cycles"], total["compute_cycles"], total["useful_macs"], busy, dense, arch))
    total["inferences_per_s"] = 1e6 / total["time_us"] if total["time_us"] else 0.0
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


def position_groups(layer: Layer, arch: ArchConfig) -> int:
    """PE groups for a layer: with conv_mapping "positions", a conv layer with fewer output channels than PEs
    splits the PEs into as many equal groups as still leave each group a PE per output channel; each group has
    its own LNZD sub-tree and broadcast, a copy of the weights, and every groups-th output position."""
    if arch.conv_mapping != "positions" or layer.kind != "conv" or layer.rows >= arch.n_pes:
        return 1
    most = arch.n_pes // layer.rows
    return max(g for g in range(1, most + 1) if arch.n_pes % g == 0)


def network_inputs(network: Network) -> dict[str, np.ndarray]:
    return {"input": network.input, **network.extra_inputs}


def prepare(network: Network, arch: ArchConfig) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], FixedPlan]:
    """External inputs, every float32 tensor, and the fixed-point formats chosen from them; a network without
    weighted layers, or too large for the memory available, is refused before anything is allocated."""
    if not network.layers:
        raise InputError(f"network {network.name}: no fc or conv layer to simulate")
    limits.check_run(network, arch)
    inputs = network_inputs(network)
    float_tensors = run_float(network, inputs)
    return inputs, float_tensors, plan(network, float_tensors, arch.act_bits)


def simulate(network: Network, arch: ArchConfig | None = None, engine: str = "fast", progress: bool = False) -> Result:
    """Run `network` on EIE with the chosen engine; every weighted layer's outputs come from the engine."""
    arch = arch or ArchConfig()
    run_layer = get_engine(engine)
    inputs, float_tensors, fixed = prepare(network, arch)
    io = layer_io(network, float_tensors, arch)
    records: list[LayerRecord] = []
    bar = progress_bar(total=len(network.layers), desc=f"{network.name} ({engine})", unit="layer", enabled=progress)

    def matvec(layer: Layer, vectors: np.ndarray) -> np.ndarray:
        groups = position_groups(layer, arch)
        group_arch = arch.replace(n_pes=arch.n_pes // groups)
        enc = encode(layer, group_arch)
        runs = [run_layer(fixed.job(layer, enc, vectors[g::groups]), group_arch) for g in range(groups)]
        outputs = np.empty((vectors.shape[0], layer.rows), dtype=np.int64)
        for g, run in enumerate(runs):
            outputs[g::groups] = run.outputs
        density = float(np.count_nonzero(vectors)) / max(vectors.size, 1)
        records.append(
            LayerRecord(
                layer, enc, side_by_side([r.counts for r in runs]), vectors.shape[0], density, io[layer.name], groups
            )
        )
        bar.update(1)
        return outputs

    with bar:
        tensors_q = graph.run(network, fixed.quantize_inputs(inputs), matvec, fixed=True)
    return Result(network.name, engine, arch, tuple(records), fixed, tensors_q, float_tensors, network.output)


def layer_jobs(network: Network, arch: ArchConfig) -> list[tuple[Layer, LayerJob]]:
    """Every weighted layer's engine job, its inputs taken from the fixed-point reference (for benchmarks)."""
    from eie_sim.model.reference import fixed_matvec

    inputs, _, fixed = prepare(network, arch)
    jobs: list[tuple[Layer, LayerJob]] = []

    def matvec(layer: Layer, vectors: np.ndarray) -> np.ndarray:
        job = fixed.job(layer, encode(layer, arch), vectors)
        jobs.append((layer, job))
        return fixed_matvec(layer, vectors, job.codebook_q, job.bias_acc, job.shift, job.act_bits)

    graph.run(network, fixed.quantize_inputs(inputs), matvec, fixed=True)
    return jobs
