"""Options and helpers shared by the sub-commands: architecture flags, workload loading, output."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from eie_sim.arch import ArchConfig, arch_from_toml, make_arch
from eie_sim.errors import InputError
from eie_sim.support.files import write_atomic

if TYPE_CHECKING:
    from eie_sim.model.network import Network

# ArchConfig fields settable from the command line: flag -> (field, type, help)
ARCH_FLAGS: dict[str, tuple[str, type, str]] = {
    "--pes": ("n_pes", int, "number of processing elements (default 64)"),
    "--fifo-depth": ("fifo_depth", int, "activation queue depth per PE (default 8)"),
    "--clock-mhz": ("clock_mhz", float, "clock frequency in MHz (default 800)"),
    "--spmat-kb": ("spmat_kb", float, "sparse-matrix SRAM per PE in KiB (default 128)"),
    "--spmat-width": ("spmat_width", int, "sparse-matrix SRAM word width in bits (default 64)"),
    "--ptr-kb": ("ptr_kb", float, "pointer SRAM per PE in KiB (default 32)"),
    "--weight-bits": (
        "weight_bits",
        int,
        "virtual-weight (codebook index) bits (default 4); when given, wider codebooks are re-quantized to it by "
        "k-means",
    ),
    "--dram": ("dram", str, "DRAM type: LPDDR4, DDR3, GDDR5 or HBM2 (default LPDDR4)"),
    "--dram-gbps": ("dram_gbps", float, "DRAM bandwidth in GB/s (default 25.6)"),
    "--conv-mapping": (
        "conv_mapping",
        str,
        "conv layers: 'channels' (output channels over PEs, default) or 'positions' (narrow layers also split "
        "output positions over PE groups)",
    ),
}


def count_at_least(low: int) -> Callable[[str], int]:
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


NON_NEGATIVE = count_at_least(0)
POSITIVE = count_at_least(1)


class Parser(argparse.ArgumentParser):
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
    parser.add_argument(
        "workload", metavar="WORKLOAD", help="built-in name (see `eie-sim workloads`) or a .toml/.npz/.onnx/.net file"
    )
    add_arch_options(parser)
    parser.add_argument(
        "--seed", type=NON_NEGATIVE, default=0, help="seed for synthetic weights and inputs (default 0)"
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output format (default table)"
    )
    parser.add_argument("--out", metavar="FILE", help="write the output to FILE instead of standard output")


def add_energy_table_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--energy-table",
        metavar="FILE.toml",
        help="per-action energies of another technology, laid out like eie_sim/data/energy_45nm.toml "
        "(default: EIE's 45 nm figures)",
    )


def add_image_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image",
        metavar="PATH_OR_SAMPLE",
        help="input photo for a 227x227 image network: a file, or a scikit-learn sample (china.jpg, flower.jpg)",
    )


def load_network(args: argparse.Namespace, arch: ArchConfig) -> Network:
    """The workload named on the command line; an explicit --weight-bits re-quantizes wider codebooks to it."""
    from eie_sim.compress.share import requantize_network
    from eie_sim.formats.workloads import load_workload

    network = load_workload(
        args.workload, seed=args.seed, weight_bits=arch.weight_bits, image=getattr(args, "image", None)
    )
    return requantize_network(network, args.weight_bits) if args.weight_bits is not None else network


def emit(text: str, out: str | None = None) -> None:
    """Print `text`, or write it to `out` atomically (a temporary file renamed into place).

    Standard output that cannot take it (a full disk, a closed pipe) is an InputError like any unwritable output.
    """
    if out is not None:
        write_atomic(out, text)
        return
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except OSError as exc:
        _discard_stdout()
        raise InputError(f"standard output: cannot write ({exc.strerror})") from None


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that Python's flush at exit does not fail a second time, noisily."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's capture): nothing will be flushed at exit
        pass


def value_list(kind: type) -> Callable[[str], list]:
    """argparse type for comma-separated values of `kind`."""

    def parse(text: str) -> list:
        try:
            return [kind(item) for item in text.split(",") if item.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__} values, got {text!r}") from None

    return parse
