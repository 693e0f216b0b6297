"""`eie-sim compress`: the EIE-format footprint and Deep Compression stored size, as tables, JSON or CSV."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import add_output_options, add_workload_options, arch_from_args, emit, load_network
from eie_sim.errors import InputError


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "compress", help="EIE-format footprint per layer and PE, and the Deep Compression stored size"
    )
    add_workload_options(parser)
    parser.add_argument("--save", metavar="MODEL.npz", help="also write the compressed network to MODEL.npz")
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from eie_sim.compress.footprint import network_footprint
        from eie_sim.formats.workloads import save_npz
        from eie_sim.results.storage import render_footprint

        if args.save is not None and not args.save.endswith(".npz"):
            raise InputError(f"--save: {args.save!r} must end in .npz (the format load_workload reads back)")
        arch = arch_from_args(args)
        network = load_network(args, arch)
        text = render_footprint(network_footprint(network, arch), args.format)
        if args.save is not None:
            save_npz(network, args.save)
        emit(text, args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False, "save": False})
