"""`eie-sim simulate`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import (
    add_energy_table_option,
    add_image_option,
    add_output_options,
    add_workload_options,
    arch_from_args,
    emit,
    load_network,
)


def register(sub: Any) -> None:
    parser = sub.add_parser("simulate", help="simulate a workload on EIE and print per-layer results and totals")
    add_workload_options(parser)
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast", help="simulation engine (default fast)")
    add_image_option(parser)
    add_energy_table_option(parser)
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from eie_sim.costs.energy import load_energy_table
        from eie_sim.results.summary import render_result
        from eie_sim.studies.simulate import simulate

        arch = arch_from_args(args)
        table = load_energy_table(args.energy_table) if args.energy_table else None
        network = load_network(args, arch)
        result = simulate(network, arch, engine=args.engine, progress=True, energy_table=table)
        emit(render_result(result, args.format), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})
