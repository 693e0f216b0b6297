"""The `eie-sim` command line: one module per sub-command; user mistakes become one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from eie_sim.cli import bench, compress, fetch, plot, report, simulate, sweep, train, workloads
from eie_sim.cli.options import Parser
from eie_sim.errors import InputError
from eie_sim.support.files import check_writable

COMMANDS = [workloads, fetch, compress, simulate, sweep, plot, report, bench, train]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="eie-sim", description="Cycle-level simulator of EIE, the Efficient Inference Engine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the work is, so that it unwinds as Ctrl-C does (outputs in progress are removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before any work when an output the command will write cannot be written."""
    for dest, directory in args.writes.items():
        if getattr(args, dest) is not None:
            check_writable(getattr(args, dest), f"--{dest}", directory)


def main(argv: Sequence[str] | None = None) -> int:
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        args = build_parser().parse_args(argv)
        _check_outputs(args)
        return args.run(args)
    except InputError as exc:
        print(f"eie-sim: error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line, whatever the message
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, _Terminated) else signal.SIGINT
        print(f"eie-sim: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
