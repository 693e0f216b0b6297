"""The EIE hardware configuration: one frozen dataclass, its defaults from the EIE paper, and its validation."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from eie_sim.errors import InputError
from eie_sim.support.arithmetic import ceil_div
from eie_sim.support.files import read_text
from eie_sim.support.parsing import parse_toml

DRAM_TYPES = ("LPDDR4", "DDR3", "GDDR5", "HBM2")
CONV_MAPPINGS = ("channels", "positions")
SPMAT_READ_MODES = ("line-register", "per-slice")


@dataclass(frozen=True)
class ArchConfig:
    """EIE as published (Han et al., ISCA 2016, Sections IV-VI); every field can be overridden."""

    n_pes: int = 64  # processing elements
    clock_mhz: float = 800.0  # Table II
    fifo_depth: int = 8  # activation queue entries per PE
    spmat_kb: float = 128.0  # sparse-matrix SRAM per PE, KiB
    spmat_width: int = 64  # sparse-matrix SRAM word, bits (8 entries of 8 bits a read)
    ptr_kb: float = 32.0  # pointer SRAM per PE (two banks together), KiB
    ptr_bits: int = 16  # pointer width, bits: addresses 2**ptr_bits entries per PE
    weight_bits: int = 4  # virtual-weight (codebook index) width, bits; 16-entry codebook
    index_bits: int = 4  # relative row index width, bits: gaps above 15 need a filler
    act_bits: int = 16  # activation and codebook value width, bits (fixed point)
    rf_entries: int = 64  # entries in each of the source and destination activation register files
    act_sram_kb: float = 2.0  # activation SRAM per PE, KiB
    dram: str = "LPDDR4"  # DRAM type for off-chip traffic
    dram_gbps: float = 25.6  # DRAM bandwidth, GB/s (LPDDR4-3200 x64)
    conv_mapping: str = "channels"  # "positions": conv layers with fewer outputs than PEs split the PEs into groups
    broadcast_latency_cycles: int = 2  # cycles from a broadcast to the earliest start of its slice in a PE
    # "line-register": a PE reads a sparse-matrix word only when it is not the last word it read (the register is
    # cleared at the start of each vector and output tile); "per-slice": a slice reads every word it spans
    spmat_read_mode: str = "line-register"

    def __post_init__(self) -> None:
        validate(self)

    @property
    def entry_bits(self) -> int:
        """Bits of one sparse-matrix entry: virtual weight plus relative index."""
        return self.weight_bits + self.index_bits

    @property
    def entries_per_word(self) -> int:
        return self.spmat_width // self.entry_bits

    @property
    def max_gap(self) -> int:
        """Largest zero run one relative index can express (15 for 4 bits)."""
        return (1 << self.index_bits) - 1

    @property
    def lnzd_nodes(self) -> int:
        """LNZD nodes in the tree: one per 4 PEs at the leaves, then one per 4 nodes upwards (21 for 64 PEs)."""
        nodes, level = 0, self.n_pes
        while level > 1:
            level = ceil_div(level, 4)
            nodes += level
        return max(nodes, 1)

    def replace(self, **changes: Any) -> ArchConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_CHOICES = {"dram": DRAM_TYPES, "conv_mapping": CONV_MAPPINGS, "spmat_read_mode": SPMAT_READ_MODES}
_LIMITS: dict[str, tuple[float, float]] = {
    "n_pes": (1, 4096),
    "clock_mhz": (1e-3, 1e5),
    "fifo_depth": (1, 1 << 16),
    "spmat_kb": (1e-3, 1 << 20),
    "spmat_width": (2, 4096),
    "ptr_kb": (1e-3, 1 << 20),
    "ptr_bits": (4, 40),
    "weight_bits": (1, 8),
    "index_bits": (1, 16),
    "act_bits": (4, 32),
    "rf_entries": (1, 1 << 16),
    "act_sram_kb": (0, 1 << 20),
    "dram_gbps": (1e-3, 1e5),
    "broadcast_latency_cycles": (0, 64),
}


def validate(arch: ArchConfig) -> None:
    """Raise InputError naming the first field that is out of range or of the wrong type."""
    for f in fields(arch):
        value = getattr(arch, f.name)
        if f.name in _CHOICES:
            if value not in _CHOICES[f.name]:
                raise InputError(f"{f.name}: unknown value {value!r:.60}; choose one of {', '.join(_CHOICES[f.name])}")
            continue
        want_int = f.type in ("int", int)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (want_int and not float(value).is_integer())
        ):
            raise InputError(f"{f.name}: expected {'an integer' if want_int else 'a number'}, got {value!r:.60}")
        low, high = _LIMITS[f.name]
        if not low <= value <= high:
            raise InputError(f"{f.name}: {value} is out of range [{low:g}, {high:g}]")
    if arch.spmat_kb * 8192 < arch.spmat_width:
        raise InputError(
            f"spmat_kb: {arch.spmat_kb:g} KiB cannot hold one {arch.spmat_width}-bit word of the sparse-matrix SRAM"
        )
    if arch.ptr_kb * 8192 < 2 * arch.ptr_bits:
        raise InputError(f"ptr_kb: {arch.ptr_kb:g} KiB cannot hold one column's two {arch.ptr_bits}-bit pointers")
    if arch.spmat_width < arch.entry_bits:
        raise InputError(
            f"spmat_width: {arch.spmat_width} bits cannot hold one {arch.entry_bits}-bit entry "
            f"(weight_bits {arch.weight_bits} + index_bits {arch.index_bits})"
        )


def arch_from_toml(path: str | Path, **overrides: Any) -> ArchConfig:
    """Load an ArchConfig from a TOML file (a table of field = value, optionally under [arch]); overrides win."""
    path = Path(path)
    data = parse_toml(read_text(path, "architecture file"), str(path))
    if "arch" in data:
        data = _arch_table(path, data)
    known = {f.name for f in fields(ArchConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(
            f"{path}: unknown architecture field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return make_arch(**{**data, **overrides})


def _arch_table(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The fields under [arch]; a field beside the table would otherwise be silently ignored."""
    table = data["arch"]
    if not isinstance(table, dict):
        raise InputError(f"{path}: arch must be the [arch] table of fields, not a {type(table).__name__} value")
    beside = sorted(set(data) - {"arch"})
    if beside:
        raise InputError(
            f"{path}: {', '.join(beside)} outside the [arch] table; with an [arch] table every field goes in it"
        )
    return table


def make_arch(**values: Any) -> ArchConfig:
    """Build an ArchConfig, coercing integral floats to int for integer fields and ints to float for the others (TOML
    and CLI give numbers), so that the same configuration always has the same values."""
    int_fields = {f.name for f in fields(ArchConfig) if f.type in ("int", int)}
    float_fields = {f.name for f in fields(ArchConfig) if f.type in ("float", float)}
    clean = {}
    for key, value in values.items():
        if value is None:
            continue
        if key in int_fields and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif key in float_fields and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        clean[key] = value
    try:
        return ArchConfig(**clean)
    except TypeError as exc:
        raise InputError(f"architecture: {exc}") from None
