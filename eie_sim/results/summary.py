"""A simulation Result as text: the terminal table, JSON (the documented keys) or CSV (layers plus a total row)."""

from __future__ import annotations

import pandas as pd

from eie_sim.costs.energy import COMPONENTS
from eie_sim.results.render import table
from eie_sim.studies.simulate import Result

# column shown in the terminal table -> heading with its unit
TABLE_COLUMNS = {
    "name": "layer",
    "shape": "rows x cols",
    "vectors": "vectors",
    "weight_density": "weight density",
    "input_density": "input density",
    "fillers": "fillers",
    "cycles": "cycles",
    "time_us": "time (us)",
    "useful_gop_per_s": "GOP/s",
    "load_efficiency": "load eff.",
    "sram_read_bytes": "SRAM read (B)",
    "placement": "weights",
    "ptr_pinned_bytes": "ptr pinned (B)",
    "ptr_streamed_bytes": "ptr streamed (B)",
    "spmat_pinned_bytes": "entries pinned (B)",
    "spmat_streamed_bytes": "entries streamed (B)",
    "dram_read_bytes": "DRAM read (B)",
    "energy_uj": "energy (uJ)",
    "power_mw": "power (mW)",
}

TOTAL_LINES = {
    "cycles": ("cycles", "{:,.0f}"),
    "time_us": ("time", "{:,.2f} us"),
    "inferences_per_s": ("inferences (frames) per s", "{:,.1f} /s"),
    "useful_gop_per_s": ("useful throughput", "{:,.2f} GOP/s"),
    "dense_gop_per_s": ("dense-equivalent throughput", "{:,.2f} GOP/s"),
    "load_efficiency": ("load efficiency", "{:.1%}"),
    "useful_macs": ("useful MACs", "{:,.0f}"),
    "fillers": ("filler entries stored", "{:,.0f}"),
    "sram_read_bytes": ("SRAM read", "{:,.0f} B"),
    "dram_read_bytes": ("DRAM read", "{:,.0f} B"),
    "dram_weight_bytes": ("  of which weights", "{:,.0f} B"),
    "dram_write_bytes": ("DRAM written", "{:,.0f} B"),
    "one_time_load_dram_bytes": ("one-time weight load", "{:,.0f} B"),
    "power_mw": ("average power", "{:,.1f} mW"),
    "pj_per_useful_mac": ("energy per useful MAC", "{:,.2f} pJ"),
    "inferences_per_j": ("inferences per joule", "{:,.1f} /J"),
}


def render_result(result: Result, fmt: str) -> str:
    if fmt == "json":
        return result.to_json()
    if fmt == "csv":
        return result.rows().to_csv(index=False)
    shown = result.layers.assign(
        shape=result.layers["rows"].astype(str) + " x " + result.layers["cols"].astype(str),
        energy_uj=result.layers["energy_total_pj"] / 1e6,
    )
    shown = shown[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)
    arch = result.arch
    title = (
        f"{result.workload} on EIE: {arch.n_pes} PEs at {arch.clock_mhz:g} MHz, queue depth {arch.fifo_depth}, "
        f"engine {result.engine}"
    )
    networks = int(result.total["independent_networks"])
    heading = "Total" if networks == 1 else f"Total of {networks} independent layers, each run once, one after another"
    lines = [
        f"  {label:<28} {fmt_.format(result.total[key])}"
        for key, (label, fmt_) in TOTAL_LINES.items()
        if key in result.total
    ]
    lines += energy_lines(result.total, "energy per inference" if networks == 1 else "energy, all layers once")
    if result.classifies():
        simulated, reference = result.top_classes(5)
        agree = len(set(simulated) & set(reference))
        lines += [
            f"  {'top-5 outputs, simulated':<28} {', '.join(map(str, simulated))} (16-bit fixed point on EIE)",
            f"  {'top-5 outputs, float32':<28} {', '.join(map(str, reference))} (same shared weights; {agree}/5 agree)",
        ]
    notes = "\n".join(f"  {note}" for note in result.notes())
    return table(shown, title) + f"\n{heading}\n" + "\n".join(lines) + "\n\nNotes\n" + notes + "\n"


def energy_lines(total: pd.Series, label: str = "energy per inference") -> list[str]:
    """Energy (`label`) by component, in uJ, and the two baselines (explained in the notes)."""
    lines = [f"  {label:<28} {total['energy_total_pj'] / 1e6:,.3f} uJ"]
    lines += [f"    {c.replace('_', ' '):<26} {total[f'energy_{c}_pj'] / 1e6:,.3f} uJ" for c in COMPONENTS]
    lines.append(
        f"  {'dense fp32 weights, DRAM':<28} {total['baseline_energy_pj'] / 1e6:,.3f} uJ "
        f"({total['baseline_energy_ratio']:,.3g} x the energy above; reading the weights alone)"
    )
    lines.append(
        f"  {'dense datapath':<28} {total['dense_energy_pj'] / 1e6:,.3f} uJ "
        f"({total['dense_energy_ratio']:,.3g} x the energy above; {total['dense_macs']:,.0f} MACs, "
        f"{total['dense_cycles']:,.0f} cycles)"
    )
    return lines
