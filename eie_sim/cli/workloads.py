"""`eie-sim workloads`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import add_output_options, emit


def register(sub: Any) -> None:
    parser = sub.add_parser("workloads", help="list the built-in workloads")
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from eie_sim.formats.workloads import workload_table
        from eie_sim.results.render import render

        emit(render(workload_table(), args.format, title="Built-in workloads"), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})
