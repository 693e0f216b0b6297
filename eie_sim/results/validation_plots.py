"""Figures of the validation study (eie_sim.studies.validation): eie-sim next to the EIE paper's published values.

Each takes a comparison's data (units in the column names) and returns a figure whose subtitle says what
configuration it shows; the PE-scaling figure is results.plots.speedup_vs_pes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from eie_sim.results.plots import COLUMN_WIDTH_IN, MARKERS, title


def latency_figure(data: pd.DataFrame, subtitle: str) -> Figure:
    """Table IV: eie-sim's time per layer beside the paper's actual time, with both work-only bounds as marks."""
    fig = Figure(figsize=(2 * COLUMN_WIDTH_IN, 2.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(data))
    ax.bar(x - 0.2, data["eie_sim_us"], 0.4, label="eie-sim")
    ax.bar(x + 0.2, data["table_iv_actual_us"], 0.4, label="Table IV actual")
    ax.plot(x - 0.2, data["entries_us"], "k_", markersize=10, label="eie-sim entries at peak")
    ax.plot(x + 0.2, data["table_iv_theoretical_us"], "kx", label="Table IV theoretical")
    ax.set(yscale="log", ylabel="time per layer (us)")
    ax.set_xticks(x, data["layer"])
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    title(fig, "Time per layer against EIE Table IV", subtitle)
    return fig


def power_figure(data: pd.DataFrame, subtitle: str) -> Figure:
    """Table II: each module's modeled power, split into its independent and fitted parts, beside the table's."""
    modules = data.dropna(subset=["overhead_mw"])
    modules = modules[modules["figure"] != "PE total"]
    fig = Figure(figsize=(2 * COLUMN_WIDTH_IN, 2.6), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(modules))
    left = np.zeros(len(modules))
    parts = {
        "dynamic_mw": "eie-sim dynamic (independent)",
        "overhead_mw": "eie-sim overhead (fitted)",
        "leakage_mw": "eie-sim leakage (independent)",
    }
    for column, label in parts.items():
        ax.barh(y - 0.2, modules[column], 0.4, left=left, label=label)
        left += modules[column].to_numpy()
    ax.barh(y + 0.2, modules["published_mw"], 0.4, color="0.5", label="Table II")
    ax.set_yticks(y, modules["figure"])
    ax.invert_yaxis()
    ax.set(xlabel="power of one PE (mW)")
    ax.legend(frameon=False, loc="lower right")
    title(fig, "Power per PE module against EIE Table II", subtitle)
    return fig


def width_figure(data: pd.DataFrame, best_bits: int, subtitle: str) -> Figure:
    """Fig. 9: sparse-matrix read energy against the SRAM width per read mode, relative to the paper's best width."""
    fig = Figure(figsize=(COLUMN_WIDTH_IN, 2.8), layout="constrained")
    ax = fig.subplots()
    for i, (mode, rows) in enumerate(data.groupby("read_mode", sort=False)):
        ax.plot(rows["spmat_width_bits"], 1 + rows["diff_pct"] / 100, marker=MARKERS[i], label=f"eie-sim, {mode}")
    ax.axvline(best_bits, color="k", linestyle="--", linewidth=0.8, label=f"paper's lowest ({best_bits} bits)")
    widths = sorted(data["spmat_width_bits"].unique())
    ax.set(xscale="log", xlabel="sparse-matrix SRAM width (bits)", ylabel=f"read energy / energy at {best_bits} bits")
    ax.set_xticks(widths, labels=[str(w) for w in widths])
    ax.minorticks_off()
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.legend(frameon=False)
    title(fig, "SRAM width against EIE Fig. 9", subtitle)
    return fig
