"""`eie-sim report`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from eie_sim.cli.options import NON_NEGATIVE, POSITIVE, emit


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="run the standard studies and write README.md, plots and CSVs")
    parser.add_argument("--out", metavar="DIR", default="reports", help="output directory (default reports/)")
    parser.add_argument("--jobs", type=POSITIVE, default=1, help="local worker processes for the sweeps (default 1)")
    parser.add_argument(
        "--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)"
    )
    parser.add_argument(
        "--net", metavar="FILE.net", help="also simulate a real Deep Compression SqueezeNet (.net file)"
    )

    def run(args: argparse.Namespace) -> int:
        from eie_sim.studies.report import write_report

        readme = write_report(
            args.out, args.jobs, args.seed, args.net, log=lambda text: print(f"eie-sim report: {text}", file=sys.stderr)
        )
        emit(readme)
        return 0

    parser.set_defaults(run=run, writes={"out": True})
