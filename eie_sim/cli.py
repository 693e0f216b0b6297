"""The `eie-sim` command line: one sub-command per task; user mistakes become one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, Callable, Sequence

from .arch import ArchConfig, arch_from_toml, make_arch
from .errors import InputError
from .io import check_writable, write_atomic
from .network import Network

# ArchConfig fields settable from the command line: flag -> (field, type, help)
ARCH_FLAGS: dict[str, tuple[str, type, str]] = {
    "--pes": ("n_pes", int, "number of processing elements (default 64)"),
    "--fifo-depth": ("fifo_depth", int, "activation queue depth per PE (default 8)"),
    "--clock-mhz": ("clock_mhz", float, "clock frequency in MHz (default 800)"),
    "--spmat-kb": ("spmat_kb", float, "sparse-matrix SRAM per PE in KiB (default 128)"),
    "--spmat-width": ("spmat_width", int, "sparse-matrix SRAM word width in bits (default 64)"),
    "--ptr-kb": ("ptr_kb", float, "pointer SRAM per PE in KiB (default 32)"),
    "--weight-bits": ("weight_bits", int, "virtual-weight (codebook index) bits (default 4); when given, wider codebooks are re-quantized to it by k-means"),
    "--dram": ("dram", str, "DRAM type: LPDDR4, DDR3, GDDR5 or HBM2 (default LPDDR4)"),
    "--dram-gbps": ("dram_gbps", float, "DRAM bandwidth in GB/s (default 25.6)"),
    "--conv-mapping": ("conv_mapping", str, "conv layers: 'channels' (output channels over PEs, default) or 'positions' (narrow layers also split output positions over PE groups)"),
}


def _count(low: int) -> Callable[[str], int]:
    """argparse type for an integer of at least `low` (a seed, a number of jobs or repeats)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


NON_NEGATIVE = _count(0)
POSITIVE = _count(1)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as an InputError (one line, exit 2) instead of printing its usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message)


def add_arch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", metavar="FILE.toml", help="architecture file (ArchConfig fields); flags override it")
    for flag, (_, kind, help_text) in ARCH_FLAGS.items():
        parser.add_argument(flag, type=kind, default=None, help=help_text)


def arch_from_args(args: argparse.Namespace) -> ArchConfig:
    overrides = {field: getattr(args, flag[2:].replace("-", "_")) for flag, (field, _, _) in ARCH_FLAGS.items()}
    if args.arch:
        return arch_from_toml(args.arch, **{k: v for k, v in overrides.items() if v is not None})
    return make_arch(**overrides)


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    """The WORKLOAD argument, the architecture flags and the seed, as `compress` and `simulate` take them."""
    parser.add_argument("workload", metavar="WORKLOAD", help="built-in name (see `eie-sim workloads`) or a .toml/.npz/.onnx/.net file")
    add_arch_options(parser)
    parser.add_argument("--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format (default table)")
    parser.add_argument("--out", metavar="FILE", help="write the output to FILE instead of standard output")


def add_image_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image", metavar="PATH_OR_SAMPLE",
        help="input photo for a 227x227 image network: a file, or a scikit-learn sample (china.jpg, flower.jpg)",
    )


def load_network(args: argparse.Namespace, arch: ArchConfig) -> Network:
    """The workload named on the command line; an explicit --weight-bits re-quantizes wider codebooks to it."""
    from .compress.share import requantize_network
    from .workloads import load_workload

    network = load_workload(args.workload, seed=args.seed, weight_bits=arch.weight_bits, image=getattr(args, "image", None))
    return requantize_network(network, args.weight_bits) if args.weight_bits is not None else network


def emit(text: str, out: str | None) -> None:
    """Print `text`, or write it to `out` atomically (a temporary file renamed into place)."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    write_atomic(out, text)


def _cmd_workloads(sub: Any) -> None:
    parser = sub.add_parser("workloads", help="list the built-in workloads")
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from .report_format import render
        from .workloads import workload_table

        emit(render(workload_table(), args.format, title="Built-in workloads"), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})


def _cmd_compress(sub: Any) -> None:
    parser = sub.add_parser("compress", help="EIE-format footprint per layer and PE, and the Deep Compression stored size")
    add_workload_options(parser)
    parser.add_argument("--save", metavar="MODEL.npz", help="also write the compressed network to MODEL.npz")
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from .footprint import network_footprint, render_footprint
        from .workloads import save_npz

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


def _cmd_simulate(sub: Any) -> None:
    parser = sub.add_parser("simulate", help="simulate a workload on EIE and print per-layer results and totals")
    add_workload_options(parser)
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast", help="simulation engine (default fast)")
    add_image_option(parser)
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from .simulate import simulate
        from .summary import render_result

        arch = arch_from_args(args)
        network = load_network(args, arch)
        result = simulate(network, arch, engine=args.engine, progress=True)
        emit(render_result(result, args.format), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})


def _value_list(kind: type) -> Callable[[str], list]:
    """argparse type for comma-separated values of `kind`."""

    def parse(text: str) -> list:
        try:
            return [kind(item) for item in text.split(",") if item.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}") from None

    return parse


def _cmd_sweep(sub: Any) -> None:
    parser = sub.add_parser("sweep", help="simulate a workload over the cartesian product of architecture axes")
    parser.add_argument("workload", metavar="WORKLOAD", help="built-in name or workload file")
    parser.add_argument("--arch", metavar="FILE.toml", help="base architecture file; axes override it")
    for flag, (_, kind, help_text) in ARCH_FLAGS.items():
        parser.add_argument(flag, type=_value_list(kind), default=None, help=f"comma-separated values: {help_text}")
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast", help="simulation engine (default fast)")
    parser.add_argument("--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)")
    parser.add_argument("--out", metavar="FILE", help="results .csv or .parquet; finished points are kept and skipped on re-run")
    parser.add_argument("--jobs", type=POSITIVE, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="what to print (default table)")

    def run(args: argparse.Namespace) -> int:
        from .report_format import render
        from .sweep import sweep

        base = arch_from_toml(args.arch) if args.arch else ArchConfig()
        axes = {field: getattr(args, flag[2:].replace("-", "_")) for flag, (field, _, _) in ARCH_FLAGS.items()}
        axes = {field: values for field, values in axes.items() if values is not None}
        frame = sweep(args.workload, axes, base, args.engine, args.seed, args.out, args.jobs, args.scheduler, progress=True)
        totals = frame[frame["name"] == "total"]
        shown = totals[[c for c in SWEEP_SUMMARY if c in totals]] if args.format == "table" else frame
        sys.stdout.write(render(shown.reset_index(drop=True), args.format, title=f"Sweep of {args.workload}: totals per configuration"))
        return 0

    parser.set_defaults(run=run, writes={"out": False})


def _cmd_bench(sub: Any) -> None:
    parser = sub.add_parser("bench", help="time the engines on the EIE paper layers against a scipy SpMV")
    parser.add_argument("workload", nargs="?", default="eie-paper", help="workload to time (default eie-paper)")
    add_arch_options(parser)
    parser.add_argument("--repeats", type=POSITIVE, default=5, help="repeats per measurement; the median is kept (default 5)")
    parser.add_argument("--simpy-repeats", type=NON_NEGATIVE, default=1, help="repeats of the slow simpy engine; 0 skips it (default 1)")
    parser.add_argument("--csv", metavar="FILE", default="reports/bench.csv", help="where to write the table (default reports/bench.csv)")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="what to print (default table)")

    def run(args: argparse.Namespace) -> int:
        from .bench import bench
        from .report_format import render

        frame = bench(args.workload, arch_from_args(args), args.repeats, args.simpy_repeats, progress=True)
        write_atomic(args.csv, frame.to_csv(index=False))
        sys.stdout.write(render(frame, args.format, title="Engine wall time (median seconds; ratios of medians)"))
        return 0

    parser.set_defaults(run=run, writes={"csv": False})


def _cmd_plot(sub: Any) -> None:
    parser = sub.add_parser("plot", help="draw the figures a sweep's results support (PNG and SVG)")
    parser.add_argument("results", metavar="RESULTS", help="results file written by `eie-sim sweep --out` (.csv or .parquet)")
    parser.add_argument("--out", metavar="DIR", default="plots", help="output directory (default plots/)")

    def run(args: argparse.Namespace) -> int:
        from .plots import plot_all
        from .sweep import read_results

        written = plot_all(read_results(args.results), args.out)
        if not written:
            raise InputError(f"{args.results}: nothing to plot (sweep at least one axis, e.g. --pes 1,2,4)")
        print("\n".join(str(path) for path in written))
        return 0

    parser.set_defaults(run=run, writes={"out": True})


def _cmd_report(sub: Any) -> None:
    parser = sub.add_parser("report", help="run the standard studies and write README.md, plots and CSVs")
    parser.add_argument("--out", metavar="DIR", default="reports", help="output directory (default reports/)")
    parser.add_argument("--jobs", type=POSITIVE, default=1, help="local worker processes for the sweeps (default 1)")
    parser.add_argument("--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)")
    parser.add_argument("--net", metavar="FILE.net", help="also simulate a real Deep Compression SqueezeNet (.net file)")

    def run(args: argparse.Namespace) -> int:
        from .report import write_report

        readme = write_report(args.out, args.jobs, args.seed, args.net, log=lambda text: print(f"eie-sim report: {text}", file=sys.stderr))
        print(readme)
        return 0

    parser.set_defaults(run=run, writes={"out": True})


def _cmd_compress_train(sub: Any) -> None:
    parser = sub.add_parser("compress-train", help="train a real model, compress it (prune, share) and simulate it on EIE")
    parser.add_argument("example", choices=("digits",), help="the example: digits (an MLP on scikit-learn's 8x8 digits)")
    parser.add_argument("--density", type=float, default=0.08, help="fraction of the weights kept by pruning (default 0.08)")
    parser.add_argument("--regularization", choices=("l1", "l2"), default="l2", help="the model carried on to sharing (default l2)")
    add_arch_options(parser)
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast", help="simulation engine (default fast)")
    parser.add_argument("--seed", type=NON_NEGATIVE, default=0, help="seed for initialization and minibatch order (default 0)")
    add_output_options(parser)

    def run(args: argparse.Namespace) -> int:
        from .digits import render, run_digits

        result = run_digits(args.density, arch_from_args(args), args.seed, args.regularization, args.engine)
        emit(render(result, args.format), args.out)
        return 0

    parser.set_defaults(run=run, writes={"out": False})


SWEEP_SUMMARY = ["pes", "fifo_depth_entries", "spmat_width_bits", "clock_mhz", "weight_bits", "dram", "cycles", "time_us", "useful_gop_per_s", "load_efficiency", "energy_total_pj", "power_mw"]

_COMMANDS: list[Callable[[Any], None]] = [_cmd_workloads, _cmd_compress, _cmd_simulate, _cmd_sweep, _cmd_plot, _cmd_report, _cmd_bench, _cmd_compress_train]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="eie-sim", description="Cycle-level simulator of EIE, the Efficient Inference Engine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for register in _COMMANDS:
        register(sub)
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
