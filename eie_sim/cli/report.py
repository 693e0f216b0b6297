"""`eie-sim report`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from eie_sim.cli.options import NON_NEGATIVE, POSITIVE, emit

STUDIES = ("standard", "validation")  # eie_sim.studies.report.STUDIES, named here to keep `--help` fast
DEFAULT_OUT = "eie-sim-report"  # never the repository's committed reports/: regenerating those is a choice


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "report", help="run the standard and validation studies and write Markdown pages, plots and CSVs"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"output directory (default ./{DEFAULT_OUT}/, so that a run from a clone of the repository never "
        "overwrites its committed reports/; regenerate those with --out reports)",
    )
    parser.add_argument(
        "--study",
        choices=STUDIES,
        action="append",
        help="run only this study (repeatable): standard writes README.md (paper layers, PE, queue-depth and "
        "SRAM-width sweeps, a SqueezeNet frame), validation writes validation.md (eie-sim against the EIE paper's "
        "Table II, Table IV, Fig. 9 and Fig. 11); default both",
    )
    parser.add_argument("--jobs", type=POSITIVE, default=1, help="local worker processes for the sweeps (default 1)")
    parser.add_argument(
        "--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)"
    )
    parser.add_argument(
        "--net", metavar="FILE.net", help="also simulate a real Deep Compression SqueezeNet (.net file)"
    )

    def run(args: argparse.Namespace) -> int:
        from eie_sim.studies.report import write_report

        pages = write_report(
            args.out,
            args.jobs,
            args.seed,
            args.net,
            log=lambda text: print(f"eie-sim report: {text}", file=sys.stderr),
            studies=args.study or STUDIES,
        )
        emit("\n".join(str(page) for page in pages))
        return 0

    parser.set_defaults(run=run, writes={"out": True})
