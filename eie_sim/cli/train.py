"""`eie-sim compress-train`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.cli.options import NON_NEGATIVE, add_arch_options, add_output_options, arch_from_args, emit


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "compress-train", help="train a real model, compress it (prune, share) and simulate it on EIE"
    )
    parser.add_argument(
        "example", choices=("digits",), help="the example: digits (an MLP on scikit-learn's 8x8 digits)"
    )
    parser.add_argument(
        "--density", type=float, default=0.08, help="fraction of the weights kept by pruning (default 0.08)"
    )
    parser.add_argument(
        "--regularization", choices=("l1", "l2"), default="l2", help="the model carried on to sharing (default l2)"
    )
    add_arch_options(parser)
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast", help="simulation engine (default fast)")
    parser.add_argument(
        "--seed", type=NON_NEGATIVE, default=0, help="seed for initialization and minibatch order (default 0)"
    )
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from eie_sim.examples.digits import run_digits
        from eie_sim.results.digits import render_digits

        result = run_digits(args.density, arch_from_args(args), args.seed, args.regularization, args.engine)
        emit(render_digits(result, args.format), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})
