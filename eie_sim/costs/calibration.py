"""Calibration of the energy model against EIE Table II: one PE of the 64-PE chip at 800 MHz, by module.

Method (scripts/calibrate_energy.py runs it): the nine EIE paper layers (workload "eie-paper", seed 0) run on the
published configuration (ArchConfig defaults: 64 PEs, 800 MHz) with the fast engine; the engine's counts priced by
the table's dynamic energies and leakage give each module's power per PE, averaged over all layers' cycles
(energy over time). The remainder of each module's Table II power is that module's per-cycle overhead (clock
network and always-clocked registers): `[overhead] <module>_pj_per_cycle` = remainder (mW) / clock (MHz) x 1000.
"""

from __future__ import annotations

import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.costs.energy import PE_MODULES, EnergyModel, EnergyTable, energy_model, pe_module_power, power_mw
from eie_sim.data.published import TABLE_II_KINDS_MW, TABLE_II_MW, TABLE_II_TOTAL_MW
from eie_sim.engine.job import LayerCounts

MODULE_NAMES = {
    "queue": "activation queue",
    "ptr": "pointer read",
    "spmat": "sparse-matrix read",
    "arithmetic": "arithmetic",
    "act": "activation read/write",
}


def paper_counts(engine: str = "fast", seed: int = 0) -> list[LayerCounts]:
    """The engine's counts of the nine EIE paper layers on the published 64-PE configuration."""
    from eie_sim.formats.workloads import load_workload
    from eie_sim.studies.simulate import simulate

    result = simulate(load_workload("eie-paper", seed=seed), ArchConfig(), engine=engine)
    return [r.counts for r in result.records]


def calibration_frame(counts: list[LayerCounts], table: EnergyTable | None = None) -> pd.DataFrame:
    """Per Table II module: the model's power per PE (dynamic, overhead, leakage; mW) and share, next to Table II's."""
    model = energy_model(ArchConfig(), table)
    power = pe_module_power(counts, model)
    total = sum(sum(kinds.values()) for kinds in power.values())
    rows = []
    for m in PE_MODULES:
        mw = sum(power[m].values())
        rows.append(
            {
                "module": MODULE_NAMES[m],
                "dynamic_mw": power[m]["dynamic"],
                "overhead_mw": power[m]["clock"],
                "leakage_mw": power[m]["leakage"],
                "model_mw": mw,
                "table_ii_mw": TABLE_II_MW[m],
                "model_share_pct": 100 * mw / total,
                "table_ii_share_pct": 100 * TABLE_II_MW[m] / TABLE_II_TOTAL_MW,
            }
        )
    frame = pd.DataFrame(rows)
    frame["share_diff_pp"] = frame["model_share_pct"] - frame["table_ii_share_pct"]
    return frame


def fitted_overheads(counts: list[LayerCounts], table: EnergyTable | None = None) -> dict[str, float]:
    """Each module's `[overhead] <module>_pj_per_cycle`: Table II power minus modeled dynamic power and leakage."""
    model: EnergyModel = energy_model(ArchConfig(), table)
    power = pe_module_power(counts, model)
    clock_mhz = model.arch.clock_mhz
    return {m: (TABLE_II_MW[m] - power[m]["dynamic"] - power[m]["leakage"]) / clock_mhz * 1e3 for m in PE_MODULES}


def kind_check(counts: list[LayerCounts], table: EnergyTable | None = None) -> dict[str, tuple[float, float]]:
    """A cross-check the fit leaves free: the model's SRAM power (dynamic and leakage) against Table II's memory,
    and everything else against its clock network + registers + combinational logic; (model, Table II) in mW."""
    model = energy_model(ArchConfig(), table)
    power = pe_module_power(counts, model)
    cycles = sum(c.cycles for c in counts) * model.arch.n_pes
    sram_pj = sum(
        model.spmat.read(c.spmat_reads)
        + model.ptr_bank.read(c.ptr_reads)
        + model.act_sram.read(c.act_sram_reads)
        + model.act_sram.write(c.act_sram_writes)
        for c in counts
    )
    sram = power_mw(sram_pj, cycles, model.arch.clock_mhz) + sum(kinds["leakage"] for kinds in power.values())
    total = sum(sum(kinds.values()) for kinds in power.values())
    kinds = TABLE_II_KINDS_MW
    return {
        "SRAM (memory)": (sram, kinds["memory"]),
        "logic and clock": (total - sram, kinds["clock network"] + kinds["registers"] + kinds["combinational"]),
    }
