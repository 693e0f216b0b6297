"""`eie-sim workloads`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import add_output_options, emit


def register(sub: Any) -> None:
    parser = sub.add_parser("workloads", help="list the built-in workloads and the released models (fetched or not)")
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        import pandas as pd

        from eie_sim.formats.workloads import workload_table
        from eie_sim.results.render import render
        from eie_sim.support.fetch import release_table

        table = pd.concat([workload_table().assign(status="built in"), release_table()], ignore_index=True)
        table.insert(2, "status", table.pop("status"))
        emit(render(table, args.format, title="Workloads"), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})
