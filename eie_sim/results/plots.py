"""Paper-ready figures from sweep results (the tidy DataFrame of eie_sim.sweep), saved as PNG and SVG.

Each figure is drawn when the results vary its axis; other swept axes are held at the EIE default (or their
first value) so a multi-axis sweep still gives clean single-axis curves. Every figure names, under its title, the
workload and the configuration it shows; each layer's line has a marker of its own.
"""

from __future__ import annotations

import functools
import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from eie_sim.arch import ArchConfig
from eie_sim.studies.sweep import ARCH_COLUMNS
from eie_sim.support.files import write_atomic

COLUMN_WIDTH_IN = 3.5  # one column of a two-column paper
STYLE: dict[RcKeyType, Any] = {  # matplotlib rcParams of every figure
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "legend.fontsize": 6,
    "lines.markersize": 3,
    "savefig.dpi": 200,
    "svg.hashsalt": "eie-sim",  # fixed SVG element ids, so that the same figure gives the same file
}
ENERGY_PREFIX, ENERGY_SUFFIX, ENERGY_TOTAL = "energy_", "_pj", "energy_total_pj"
MARKERS = "osD^v<>phX*P"
# configuration columns every subtitle names (others only when they differ from the EIE default), with their units
SUBTITLE_COLUMNS: dict[str, Callable[[Any], str]] = {
    "pes": lambda n: f"{n} PE" if n == 1 else f"{n} PEs",
    "clock_mhz": "{:g} MHz".format,
    "fifo_depth_entries": "queue {}".format,
    "spmat_width_bits": "{}-bit SRAM words".format,
    "spmat_kib": "{:g} KiB sparse-matrix SRAM".format,
    "dram": str,
}


def held(frame: pd.DataFrame, axis: str | None = None) -> pd.DataFrame:
    """Rows where every swept column other than `axis` sits at its default (or first) value."""
    defaults = {ARCH_COLUMNS[k]: v for k, v in ArchConfig().to_dict().items()}
    for column in ARCH_COLUMNS.values():
        if column == axis or column not in frame or frame[column].nunique() < 2:
            continue
        values = frame[column].unique()
        keep = defaults[column] if defaults[column] in values else values[0]
        frame = frame[frame[column] == keep]
    return frame


def _layers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["name"] != "total"]


def _figure(height: float = 2.8) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(COLUMN_WIDTH_IN, height), layout="constrained")
    return fig, fig.subplots()


def _legend_below(fig: Figure, columns: int = 4) -> None:
    """One legend under the axes, so it never hides data."""
    fig.legend(loc="outside lower center", ncols=columns, frameon=False)


def configuration(frame: pd.DataFrame, axis: str | None = None) -> str:
    """The workload and configuration a held frame shows, for a subtitle: the usual columns, then any other
    configuration column away from the EIE default; the plotted `axis` is left out."""
    defaults = {ARCH_COLUMNS[k]: v for k, v in ArchConfig().to_dict().items()}
    first = frame.iloc[0]
    parts = [str(first["workload"])] if "workload" in frame else []
    parts += [name(first[c]) for c, name in SUBTITLE_COLUMNS.items() if c in frame and c != axis]
    parts += [
        f"{c} {first[c]}"
        for c in defaults
        if c in frame and c != axis and c not in SUBTITLE_COLUMNS and first[c] != defaults[c]
    ]
    return ", ".join(parts)


def title(fig: Figure, text: str, subtitle: str) -> None:
    """The figure's title, and under it `subtitle` wrapped to the figure's width."""
    wrapped = textwrap.fill(subtitle, width=int(fig.get_figwidth() * 17))
    fig.suptitle(f"{text}\n{wrapped}", fontsize=STYLE["axes.titlesize"])


def _title(fig: Figure, text: str, frame: pd.DataFrame, axis: str | None = None) -> None:
    title(fig, text, configuration(frame, axis))


def _per_layer_lines(
    ax: Axes, frame: pd.DataFrame, x: str, y: Callable[[pd.DataFrame], pd.Series], labels: bool = True
) -> None:
    """A line per layer, each with its own marker; `labels` false leaves them out of the legend (a second panel)."""
    for i, (name, rows) in enumerate(_layers(frame).groupby("name", sort=False)):
        rows = rows.sort_values(x)
        ax.plot(rows[x], y(rows), marker=MARKERS[i % len(MARKERS)], label=name if labels else None)
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)


def _label_ticks(ax: Axes, values: list) -> None:
    """Tick exactly the swept values on a log axis, without minor-tick labels crowding them."""
    ax.set_xticks(values, labels=[str(v) for v in values])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _compute_cycles(rows: pd.DataFrame) -> pd.Series:
    """The engine's cycles, without DRAM-bound time (what PE scaling changes)."""
    return rows["compute_cycles"] if "compute_cycles" in rows else rows["cycles"]


def _speedup(measure: Callable[[pd.DataFrame], pd.Series], rows: pd.DataFrame) -> pd.Series:
    """A layer's `measure` at its first (smallest) PE count over the measure at each PE count."""
    return measure(rows).iloc[0] / measure(rows)


def speedup_vs_pes(frame: pd.DataFrame) -> Figure | None:
    """Speedup in compute cycles; beside it, in wall-clock time when some layer waits on DRAM."""
    frame = held(frame, "pes")
    if frame["pes"].nunique() < 2:
        return None
    dram_bound = "cycles" in frame and bool((_layers(frame)["cycles"] > _compute_cycles(_layers(frame))).any())
    panels = [("compute cycles", _compute_cycles)] + (
        [("wall-clock time", lambda r: r["time_us"])] if dram_bound else []
    )
    fig = Figure(figsize=(COLUMN_WIDTH_IN * len(panels), 3.2), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)
    pes = np.sort(frame["pes"].unique())
    for i, (ax, (label, measure)) in enumerate(zip(axes[0], panels)):
        _per_layer_lines(ax, frame, "pes", functools.partial(_speedup, measure), labels=i == 0)
        ax.plot(pes, pes / pes[0], "k--", linewidth=0.8, label=None if i else "linear")
        ax.set(xscale="log", yscale="log", xlabel="processing elements", title=f"in {label}")
        _label_ticks(ax, list(pes))
    axes[0][0].set_ylabel(f"speedup over {pes[0]} PE(s)")
    _title(fig, "Scalability", frame, "pes")
    _legend_below(fig, 5)
    return fig


def load_efficiency_vs_fifo(frame: pd.DataFrame) -> Figure | None:
    frame = held(frame, "fifo_depth_entries")
    if frame["fifo_depth_entries"].nunique() < 2:
        return None
    fig, ax = _figure()
    _per_layer_lines(ax, frame, "fifo_depth_entries", lambda rows: 100 * rows["load_efficiency"])
    ax.set(
        xscale="log",
        xlabel="activation queue depth (entries)",
        ylabel="load efficiency (%)",
    )
    _title(fig, "Load balance vs queue depth", frame, "fifo_depth_entries")
    _legend_below(fig, 5)
    _label_ticks(ax, sorted(frame["fifo_depth_entries"].unique()))
    return fig


def filler_ratio_vs_pes(frame: pd.DataFrame) -> Figure | None:
    frame = held(frame, "pes")
    if frame["pes"].nunique() < 2:
        return None
    fig, ax = _figure()
    _per_layer_lines(ax, frame, "pes", lambda rows: 100 * rows["fillers"] / (rows["nnz"] + rows["fillers"]))
    ax.set(xscale="log", xlabel="processing elements", ylabel="filler entries (% of stored)")
    _title(fig, "Padding vs PEs", frame, "pes")
    _legend_below(fig, 5)
    return fig


def energy_components(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c.startswith(ENERGY_PREFIX)
        and c.endswith(ENERGY_SUFFIX)
        and c != ENERGY_TOTAL
        and not c.startswith("energy_baseline")
    ]


def energy_breakdown(frame: pd.DataFrame) -> Figure | None:
    """Each layer's energy split by component, as shares (layers differ by orders of magnitude), total on top."""
    components = energy_components(frame)
    if not components:
        return None
    rows = _layers(held(frame))
    fig, ax = _figure(3.4)
    totals = rows[ENERGY_TOTAL].to_numpy()
    bottom = np.zeros(len(rows))
    colors = matplotlib.color_sequences["tab10"]
    for i, column in enumerate(components):
        share = 100 * rows[column].to_numpy() / totals
        ax.bar(
            rows["name"],
            share,
            bottom=bottom,
            label=column[len(ENERGY_PREFIX) : -len(ENERGY_SUFFIX)].replace("_", " "),
            color=colors[i % 10],
        )
        bottom += share
    for x, total in enumerate(totals):
        ax.text(x, 101, f"{total / 1e6:.3g}", ha="center", va="bottom", fontsize=5)
    ax.set(ylabel="share of energy (%)", ylim=(0, 112))
    _title(fig, "Energy by component (numbers: uJ per inference)", rows)
    ax.tick_params(axis="x", rotation=60)
    _legend_below(fig, 3)
    return fig


def sram_vs_dram(frame: pd.DataFrame) -> Figure | None:
    needed = ["sram_read_bytes", "dram_read_bytes", "baseline_dram_bytes", ENERGY_TOTAL, "baseline_energy_pj"]
    if any(c not in frame for c in needed):
        return None
    rows = _layers(held(frame))
    fig = Figure(figsize=(2 * COLUMN_WIDTH_IN, 3.6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(rows))
    top.bar(x - 0.27, rows["sram_read_bytes"], 0.27, label="EIE: SRAM reads")
    top.bar(x, rows["dram_read_bytes"], 0.27, label="EIE: DRAM reads")
    top.bar(x + 0.27, rows["baseline_dram_bytes"], 0.27, label="dense 32-bit from DRAM")
    top.set(yscale="log", ylabel="bytes per inference")
    _title(fig, "Where the bytes come from, and what they cost", rows)
    top.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    bottom.bar(x - 0.2, rows[ENERGY_TOTAL] / 1e6, 0.4, label="EIE, compressed on chip")
    bottom.bar(x + 0.2, rows["baseline_energy_pj"] / 1e6, 0.4, label="dense weights from DRAM")
    bottom.set(yscale="log", ylabel="energy per inference (uJ)")
    bottom.set_xticks(x, rows["name"], rotation=60)
    bottom.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def energy_vs_width(frame: pd.DataFrame) -> Figure | None:
    frame = held(frame, "spmat_width_bits")
    if frame["spmat_width_bits"].nunique() < 2 or ENERGY_TOTAL not in frame:
        return None
    fig, ax = _figure()
    _per_layer_lines(ax, frame, "spmat_width_bits", lambda rows: rows[ENERGY_TOTAL] / 1e6)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="sparse-matrix SRAM width (bits)",
        ylabel="energy per inference (uJ)",
    )
    _title(fig, "Energy vs SRAM width", frame, "spmat_width_bits")
    _legend_below(fig, 5)
    _label_ticks(ax, sorted(frame["spmat_width_bits"].unique()))
    return fig


PLOTS: dict[str, Callable[[pd.DataFrame], Figure | None]] = {
    "speedup_vs_pes": speedup_vs_pes,
    "load_efficiency_vs_fifo": load_efficiency_vs_fifo,
    "energy_breakdown": energy_breakdown,
    "sram_vs_dram": sram_vs_dram,
    "filler_ratio_vs_pes": filler_ratio_vs_pes,
    "energy_vs_spmat_width": energy_vs_width,
}


def plot_all(frame: pd.DataFrame, out_dir: str | Path, prefix: str = "", names: list[str] | None = None) -> list[Path]:
    """Save every figure the results support (or those `names`) as PNG and SVG in `out_dir`; returns the PNGs."""
    out_dir = Path(out_dir)
    written = []
    with matplotlib.rc_context(STYLE):
        for name, draw in PLOTS.items():
            if names is not None and name not in names:
                continue
            fig = draw(frame)
            if fig is not None:
                written.append(save_figure(fig, out_dir / f"{prefix}{name}"))
    return written


def save_figure(fig: Figure, stem: Path, suffixes: tuple[str, ...] = ("png", "svg")) -> Path:
    """Write `fig` as `stem`.png (and the other `suffixes`); returns the PNG's path."""
    for suffix in suffixes:
        write_atomic(stem.with_name(f"{stem.name}.{suffix}"), _render(fig, suffix))
    return stem.with_name(f"{stem.name}.png")


def _render(fig: Figure, fmt: str) -> bytes:
    """The figure's file; an SVG without its creation date, so that re-running a report changes no unchanged file."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()
