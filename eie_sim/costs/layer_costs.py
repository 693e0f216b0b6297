"""The memory and energy columns of a simulation's results: per layer and for the whole network.

Layer columns: placement of the weights (pinned and streamed bytes of pointers and entries), traffic in bytes,
cycles bounded by DRAM bandwidth, energy by component (`energy_<component>_pj`, `energy_total_pj`), average power
and two baselines: the dense float32 weights read once from DRAM (`baseline_*`), and the same network on a dense
datapath of the same technology (`dense_*`, eie_sim.costs.dense_baseline). JSON output nests the energy columns as
`energy_pj: {component: pJ, ..., total: pJ}` (see `nest_energy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eie_sim.arch import ArchConfig
from eie_sim.costs.dense_baseline import DenseLayer, dense_baseline
from eie_sim.costs.energy import (
    COMPONENTS,
    EnergyModel,
    EnergyTable,
    energy_model,
    layer_energy,
    power_mw,
    sum_energies,
)
from eie_sim.costs.memory import LayerTraffic, MemoryPlan, PlacedLayer, plan_memory

ENERGY_COLUMNS = [f"energy_{c}_pj" for c in (*COMPONENTS, "total")]
PLACEMENT_COLUMNS = ["ptr_pinned_bytes", "ptr_streamed_bytes", "spmat_pinned_bytes", "spmat_streamed_bytes"]
DENSE_COLUMNS = ["dense_macs", "dense_weight_sram_reads", "dense_dram_bytes", "dense_cycles"]
SUMMED = ["compute_cycles", "dram_cycles", "sram_read_bytes", "sram_write_bytes", "dram_read_bytes", "dram_write_bytes",
          "dram_weight_bytes", "weight_bytes", *PLACEMENT_COLUMNS, "baseline_dram_bytes", *DENSE_COLUMNS]  # fmt: skip


def layer_costs(
    records: Sequence[PlacedLayer], arch: ArchConfig, table: EnergyTable | None = None
) -> tuple[MemoryPlan, list[dict[str, Any]]]:
    """The memory plan of a simulated network and each layer's memory and energy columns."""
    plan = plan_memory(records, arch)
    model = energy_model(arch, table)
    rows = []
    for record, traffic, dense in zip(records, plan.layers, dense_baseline(records, model)):
        dram_bytes = traffic.dram_read_bytes + traffic.dram_write_bytes
        energy = layer_energy(record.counts, traffic.access, dram_bytes, traffic.cycles, record.enc, model)
        row = _traffic_columns(traffic)
        row.update(_energy_columns(energy, traffic.cycles, record.counts.useful_macs, arch))
        row.update(_baseline_columns(model.dram.transfer(traffic.baseline_dram_bytes), energy["total"]))
        row.update(_dense_columns(dense))
        row.update(_dense_ratio(dense.energy_pj["total"], energy["total"]))
        rows.append(row)
    return plan, rows


def total_costs(
    plan: MemoryPlan,
    rows: Sequence[dict[str, Any]],
    useful_macs: int,
    arch: ArchConfig,
    table: EnergyTable | None = None,
) -> dict[str, Any]:
    """Network totals of the layer columns, per inference, plus the one-time weight load of resident networks."""
    total: dict[str, Any] = {name: sum(int(r[name]) for r in rows) for name in SUMMED}
    cycles = sum(int(r["cycles"]) for r in rows)
    energy = sum_energies([{c: r[f"energy_{c}_pj"] for c in COMPONENTS} for r in rows])
    total["cycles"] = cycles
    total.update(_energy_columns(energy, cycles, useful_macs, arch))
    total["inferences_per_j"] = 1e12 / energy["total"] if energy["total"] else 0.0
    total.update(_baseline_columns(sum(r["baseline_energy_pj"] for r in rows), energy["total"]))
    total["dense_energy_pj"] = sum(r["dense_energy_pj"] for r in rows)
    total.update(_dense_ratio(total["dense_energy_pj"], energy["total"]))
    model = energy_model(arch, table)
    total["weights_resident"] = plan.network_fits
    total["one_time_load_dram_bytes"] = plan.resident_load_bytes
    total["one_time_load_pj"] = model.dram.transfer(plan.resident_load_bytes) + _fill_sram_pj(plan, model)
    return total


def _fill_sram_pj(plan: MemoryPlan, model: EnergyModel) -> float:
    """SRAM writes of the one-time load: every layer's pinned words and pointers, once."""
    placed = [t.weights for t in plan.layers]
    return sum(model.spmat.write(p.pinned_words) + model.ptr_bank.write(p.pinned_pointers) for p in placed)


def _traffic_columns(t: LayerTraffic) -> dict[str, Any]:
    return {
        "placement": t.placement,
        "weight_chunks": t.chunks,
        "weight_bytes": t.weight_bytes,
        **{name: getattr(t.weights, name) for name in PLACEMENT_COLUMNS},
        "compute_cycles": t.compute_cycles,
        "dram_cycles": t.dram_cycles,
        "cycles": t.cycles,
        "sram_read_bytes": t.sram_read_bytes,
        "sram_write_bytes": t.sram_write_bytes,
        "dram_read_bytes": t.dram_read_bytes,
        "dram_write_bytes": t.dram_write_bytes,
        "dram_weight_bytes": t.dram_weight_bytes,
        "baseline_dram_bytes": t.baseline_dram_bytes,
    }


def _energy_columns(energy: dict[str, float], cycles: int, useful_macs: int, arch: ArchConfig) -> dict[str, float]:
    columns = {f"energy_{c}_pj": v for c, v in energy.items()}
    columns["power_mw"] = power_mw(energy["total"], cycles, arch.clock_mhz)
    columns["pj_per_useful_mac"] = energy["total"] / useful_macs if useful_macs else 0.0
    return columns


def _baseline_columns(baseline_pj: float, total_pj: float) -> dict[str, float]:
    """The dense float32 weights' DRAM energy, and how many times EIE's whole energy it is."""
    return {"baseline_energy_pj": baseline_pj, "baseline_energy_ratio": baseline_pj / total_pj if total_pj else 0.0}


def _dense_columns(dense: DenseLayer) -> dict[str, Any]:
    return {
        "dense_macs": dense.macs,
        "dense_weight_sram_reads": dense.weight_sram_reads,
        "dense_dram_bytes": dense.dram_bytes,
        "dense_cycles": dense.cycles,
        "dense_energy_pj": dense.energy_pj["total"],
    }


def _dense_ratio(dense_pj: float, total_pj: float) -> dict[str, float]:
    """How many times EIE's whole energy the dense datapath spends on the same work."""
    return {"dense_energy_ratio": dense_pj / total_pj if total_pj else 0.0}


def nest_energy(row: dict[str, Any]) -> dict[str, Any]:
    """A result row for JSON: the `energy_<component>_pj` columns become one object `energy_pj`."""
    nested = {k: v for k, v in row.items() if k not in ENERGY_COLUMNS}
    if all(c in row for c in ENERGY_COLUMNS):
        nested["energy_pj"] = {c[len("energy_") : -len("_pj")]: row[c] for c in ENERGY_COLUMNS}
    return nested
