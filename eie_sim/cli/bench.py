"""`eie-sim bench`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import NON_NEGATIVE, POSITIVE, add_arch_options, arch_from_args, emit
from eie_sim.support.files import write_atomic


def register(sub: Any) -> None:
    parser = sub.add_parser("bench", help="time the engines on the EIE paper layers against a scipy SpMV")
    parser.add_argument("workload", nargs="?", default="eie-paper", help="workload to time (default eie-paper)")
    add_arch_options(parser)
    parser.add_argument(
        "--repeats", type=POSITIVE, default=5, help="repeats per measurement; the median is kept (default 5)"
    )
    parser.add_argument(
        "--simpy-repeats", type=NON_NEGATIVE, default=1, help="repeats of the slow simpy engine; 0 skips it (default 1)"
    )
    parser.add_argument(
        "--csv",
        metavar="FILE",
        default="reports/bench.csv",
        help="where to write the table (default reports/bench.csv)",
    )
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="what to print (default table)"
    )

    def run(args: argparse.Namespace) -> int:
        from eie_sim.results.render import render
        from eie_sim.studies.bench import bench

        frame = bench(args.workload, arch_from_args(args), args.repeats, args.simpy_repeats, progress=True)
        write_atomic(args.csv, frame.to_csv(index=False))
        emit(render(frame, args.format, title="Engine wall time (median seconds; ratios of medians)"))
        return 0

    parser.set_defaults(run=run, writes={"csv": False})
