"""A simulation Result as text: the terminal table, JSON (DESIGN.md's keys) or CSV (layers plus a total row)."""

from __future__ import annotations

import pandas as pd

from .report_format import table
from .simulate import Result

# column shown in the terminal table -> heading with its unit
TABLE_COLUMNS = {
    "name": "layer",
    "shape": "rows x cols",
    "vectors": "vectors",
    "weight_density": "weight density",
    "input_density": "input density",
    "padding": "fillers",
    "cycles": "cycles",
    "time_us": "time (us)",
    "useful_gop_per_s": "GOP/s",
    "load_efficiency": "load eff.",
    "sram_read_bytes": "SRAM read (B)",
}

TOTAL_LINES = {
    "cycles": ("cycles", "{:,.0f}"),
    "time_us": ("time", "{:,.2f} us"),
    "inferences_per_s": ("inferences per second", "{:,.1f} /s"),
    "useful_gop_per_s": ("useful throughput", "{:,.2f} GOP/s"),
    "dense_gop_per_s": ("dense-equivalent throughput", "{:,.2f} GOP/s"),
    "load_efficiency": ("load efficiency", "{:.1%}"),
    "useful_macs": ("useful MACs", "{:,.0f}"),
    "padding": ("filler entries stored", "{:,.0f}"),
    "sram_read_bytes": ("SRAM read", "{:,.0f} B"),
}


def render_result(result: Result, fmt: str) -> str:
    if fmt == "json":
        return result.to_json()
    if fmt == "csv":
        total = pd.DataFrame([{"name": "total", **result.total.to_dict()}])
        return pd.concat([result.layers, total], ignore_index=True).to_csv(index=False)
    shown = result.layers.assign(shape=result.layers["rows"].astype(str) + " x " + result.layers["cols"].astype(str))
    shown = shown[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)
    arch = result.arch
    title = f"{result.workload} on EIE: {arch.n_pes} PEs at {arch.clock_mhz:g} MHz, queue depth {arch.fifo_depth}, engine {result.engine}"
    lines = [f"  {label:<28} {fmt_.format(result.total[key])}" for key, (label, fmt_) in TOTAL_LINES.items() if key in result.total]
    return table(shown, title) + "\nTotal\n" + "\n".join(lines) + "\n"
