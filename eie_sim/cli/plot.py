"""`eie-sim plot`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import emit
from eie_sim.errors import InputError


def register(sub: Any) -> None:
    parser = sub.add_parser("plot", help="draw the figures a sweep's results support (PNG and SVG)")
    parser.add_argument(
        "results", metavar="RESULTS", help="results file written by `eie-sim sweep --out` (.csv or .parquet)"
    )
    parser.add_argument("--out", metavar="DIR", default="plots", help="output directory (default plots/)")

    def run(args: argparse.Namespace) -> int:
        from eie_sim.results.plots import plot_all
        from eie_sim.studies.sweep import read_results

        written = plot_all(read_results(args.results), args.out)
        if not written:
            raise InputError(f"{args.results}: nothing to plot (sweep at least one axis, e.g. --pes 1,2,4)")
        emit("\n".join(str(path) for path in written))
        return 0

    parser.set_defaults(run=run, writes={"out": True})
