"""`eie-sim sweep`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from eie_sim.arch import ArchConfig, arch_from_toml
from eie_sim.cli.options import (
    ARCH_FLAGS,
    NON_NEGATIVE,
    POSITIVE,
    add_energy_table_option,
    add_image_option,
    emit,
    value_list,
)

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_METRICS = ["cycles", "time_us", "useful_gop_per_s", "load_efficiency", "energy_total_pj", "power_mw"]


def register(sub: Any) -> None:
    parser = sub.add_parser("sweep", help="simulate a workload over the cartesian product of architecture axes")
    parser.add_argument("workload", metavar="WORKLOAD", help="built-in name or workload file")
    parser.add_argument("--arch", metavar="FILE.toml", help="base architecture file; axes override it")
    for flag, (_, kind, help_text) in ARCH_FLAGS.items():
        parser.add_argument(flag, type=value_list(kind), default=None, help=f"comma-separated values: {help_text}")
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast", help="simulation engine (default fast)")
    parser.add_argument(
        "--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)"
    )
    add_image_option(parser)
    add_energy_table_option(parser)
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="results .csv or .parquet, written when every point is done; finished points are kept in FILE.sqlite "
        "beside it and skipped when the same sweep runs again",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="add this sweep's points to a store of other axes or base architecture (same workload, seed and engine)",
    )
    parser.add_argument("--jobs", type=POSITIVE, default=1, help="local worker processes (default 1)")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler, e.g. tcp://host:8786"
    )
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="what to print (default table)"
    )

    def run(args: argparse.Namespace) -> int:
        from eie_sim.results.notes import sweep_notes
        from eie_sim.results.render import render
        from eie_sim.studies.sweep import ARCH_COLUMNS, sweep

        base = arch_from_toml(args.arch) if args.arch else ArchConfig()
        axes = {field: getattr(args, flag[2:].replace("-", "_")) for flag, (field, _, _) in ARCH_FLAGS.items()}
        axes = {field: values for field, values in axes.items() if values is not None}
        with _quiet_dask(args.scheduler is not None):
            frame = sweep(
                args.workload,
                axes,
                base,
                args.engine,
                args.seed,
                args.out,
                args.jobs,
                args.scheduler,
                progress=True,
                image=args.image,
                extend=args.extend,
                energy_table=args.energy_table,
            )
        totals = frame[frame["name"] == "total"]
        shown = totals[summary_columns(totals, axes)] if args.format == "table" else frame
        text = render(
            shown.reset_index(drop=True), args.format, title=f"Sweep of {args.workload}: totals per configuration"
        )
        notes = sweep_notes(frame, list(ARCH_COLUMNS.values())) if args.format == "table" else []
        emit(text + "".join(f"\nnote: {note}" for note in notes))
        return 0

    parser.set_defaults(run=run, writes={"out": False})


def summary_columns(totals: pd.DataFrame, axes: Mapping[str, Any]) -> list[str]:
    """The summary table's columns: every swept axis (and any other configuration column whose value differs
    between the points, as a store extended by other sweeps holds), else the PE count; then the metrics."""
    from eie_sim.studies.sweep import ARCH_COLUMNS

    varied = [ARCH_COLUMNS[field] for field in axes]
    varied += [c for c in ARCH_COLUMNS.values() if c in totals and totals[c].nunique() > 1]
    return list(dict.fromkeys(varied or ["pes"])) + [c for c in SUMMARY_METRICS if c in totals]


@contextmanager
def _quiet_dask(quiet: bool) -> Iterator[None]:
    """No log records while on a Dask cluster: Dask logs a lost scheduler as tracebacks, which the sweep reports in
    one line."""
    if quiet:
        logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        if quiet:
            logging.disable(logging.NOTSET)
