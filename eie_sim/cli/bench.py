"""`eie-sim bench`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import NON_NEGATIVE, POSITIVE, add_arch_options, arch_from_args, emit


def register(sub: Any) -> None:
    parser = sub.add_parser("bench", help="time the engines per layer, and a PE-count sweep phase by phase")
    parser.add_argument("workload", nargs="?", default="eie-paper", help="workload to time (default eie-paper)")
    add_arch_options(parser)
    parser.add_argument("--repeats", type=POSITIVE, default=5, help="repeats per measurement; medians kept (default 5)")
    parser.add_argument(
        "--simpy-repeats", type=NON_NEGATIVE, default=1, help="repeats of the slow simpy engine; 0 skips it (default 1)"
    )
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    parser.add_argument("--out", metavar="FILE", help="write the per-layer table to FILE instead of printing it")

    def run(args: argparse.Namespace) -> int:
        from eie_sim.results.render import render
        from eie_sim.studies.bench import SWEEP_PES, bench_layers, bench_sweep

        arch = arch_from_args(args)
        layers = bench_layers(args.workload, arch, args.repeats, args.simpy_repeats, progress=True)
        emit(
            render(layers, args.format, title="Engine wall time per layer (median seconds; ratios of medians)"),
            args.out,
        )
        if args.format == "table":
            sweep = bench_sweep(args.workload, SWEEP_PES, arch)
            title = f"Where the time of a sweep over {len(SWEEP_PES)} PE counts goes (one session, one run)"
            emit(render(sweep, "table", title=title))
        return 0

    parser.set_defaults(run=run, writes={"out": False})
