"""Energy of EIE runs: per-action energies from a data file with sources, times event counts, plus power x time.

Accelergy-style: each hardware unit is a small component built from the table (`eie_sim/data/energy_45nm.toml`)
for one ArchConfig, and each of its actions returns picojoules. A layer's energy is broken down by component
(`COMPONENTS`); the per-cycle overhead of the PE modules (clock network and always-clocked registers, fitted to
EIE Table II) goes to `clock`, SRAM standby power to `leakage`. Every figure is in pJ unless its name says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from eie_sim.arch import DRAM_TYPES, ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine.job import LayerCounts
from eie_sim.errors import InputError
from eie_sim.support.files import read_text
from eie_sim.support.parsing import parse_toml

TABLE_NAME = "energy_45nm.toml"

# EIE Table II's PE modules, in its order; the central unit (LNZD tree, broadcast) and DRAM are outside the PE.
PE_MODULES = ("queue", "ptr", "spmat", "arithmetic", "act")
COMPONENTS = (
    "spmat_sram",
    "ptr_sram",
    "act_storage",
    "arithmetic",
    "queues",
    "lnzd_broadcast",
    "clock",
    "leakage",
    "dram",
)
_MODULE_COMPONENT = {
    "spmat": "spmat_sram",
    "ptr": "ptr_sram",
    "act": "act_storage",
    "arithmetic": "arithmetic",
    "queue": "queues",
}


@dataclass(frozen=True, eq=False)
class EnergyTable:
    """The parsed energy table; `origin` names the file in error messages."""

    data: Mapping[str, Any]
    origin: str

    def section(self, name: str) -> Mapping[str, Any]:
        """A table section, which must name its source."""
        section = self.data.get(name)
        if not isinstance(section, dict):
            raise InputError(f"{self.origin}: missing section [{name}]")
        if not isinstance(section.get("source"), str) or not section["source"].strip():
            raise InputError(f"{self.origin}: section [{name}] has no source")
        return section

    def number(self, name: str, key: str) -> float:
        value = self.section(name).get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InputError(
                f"{self.origin}: missing or invalid entry {key} in [{name}] (expected a non-negative number)"
            )
        return float(value)

    def numbers(self, name: str, key: str) -> list[float]:
        values = self.section(name).get(key)
        if not isinstance(values, list) or not values or not all(isinstance(v, (int, float)) and v > 0 for v in values):
            raise InputError(
                f"{self.origin}: missing or invalid entry {key} in [{name}] (expected a list of positive numbers)"
            )
        return [float(v) for v in values]


def load_energy_table(path: str | Path | None = None) -> EnergyTable:
    """The packaged 45 nm table, or a user's file of the same layout; checked by building EIE's components and
    every DRAM type, so that a missing entry fails here rather than in the middle of a run."""
    if path is None:
        origin = f"eie_sim/data/{TABLE_NAME}"
        text = resources.files("eie_sim.data").joinpath(TABLE_NAME).read_text()
    else:
        origin = str(path)
        text = read_text(path, "energy table")
    table = EnergyTable(parse_toml(text, origin), origin)
    EnergyModel.build(ArchConfig(), table)
    for kind in DRAM_TYPES:
        DRAM.from_table(table, kind)
    return table


@lru_cache(maxsize=1)
def default_table() -> EnergyTable:
    return load_energy_table()


# --------------------------------------------------------------------------------------------------------------
# Components: each action returns pJ.


@dataclass(frozen=True)
class SRAM:
    """A single-ported SRAM of `capacity_kb` KiB and `width_bits`-bit words (see [sram] for the model)."""

    capacity_kb: float
    width_bits: int
    read_pj: float
    write_pj: float
    leakage_mw: float

    @classmethod
    def from_table(cls, table: EnergyTable, capacity_kb: float, width_bits: int) -> SRAM:
        if capacity_kb == 0:  # an SRAM the configuration leaves out
            return cls(capacity_kb=0.0, width_bits=width_bits, read_pj=0.0, write_pj=0.0, leakage_mw=0.0)
        ref_read = _loglog(
            table.numbers("sram", "capacity_kb"), table.numbers("sram", "ref_read_pj"), capacity_kb, table.origin
        )
        width = width_bits / table.number("sram", "reference_width_bits")
        return cls(
            capacity_kb=capacity_kb,
            width_bits=width_bits,
            read_pj=ref_read * width ** table.number("sram", "read_width_exponent"),
            write_pj=table.number("sram", "write_to_read_at_reference")
            * ref_read
            * width ** table.number("sram", "write_width_exponent"),
            leakage_mw=capacity_kb * table.number("sram", "leakage_mw_per_kb"),
        )

    def read(self, n: int = 1) -> float:
        return n * self.read_pj

    def write(self, n: int = 1) -> float:
        return n * self.write_pj


def _loglog(xs: list[float], ys: list[float], x: float, origin: str) -> float:
    """Piecewise-linear interpolation in log-log space; outside the points the end segments are extended."""
    if len(xs) != len(ys) or len(xs) < 2 or any(b <= a for a, b in zip(xs, xs[1:])):
        raise InputError(
            f"{origin}: [sram] capacity_kb must be increasing and as long as ref_read_pj (two points at least)"
        )
    lx, ly = np.log(xs), np.log(ys)
    i = int(np.clip(np.searchsorted(lx, math.log(x)) - 1, 0, len(xs) - 2))
    slope = (ly[i + 1] - ly[i]) / (lx[i + 1] - lx[i])
    return float(math.exp(ly[i] + slope * (math.log(x) - lx[i])))


@dataclass(frozen=True)
class RegisterFile:
    """The source or destination activation register file; one access moves one activation."""

    read_pj: float
    write_pj: float

    @classmethod
    def from_table(cls, table: EnergyTable) -> RegisterFile:
        return cls(table.number("register_file", "read_pj"), table.number("register_file", "write_pj"))

    def read(self, n: int = 1) -> float:
        return n * self.read_pj

    def write(self, n: int = 1) -> float:
        return n * self.write_pj


@dataclass(frozen=True)
class ArithmeticUnit:
    """Codebook lookup, index accumulation, 16-bit multiply and accumulate: one entry through the pipeline."""

    entry_pj: float
    mac_pj: float  # the multiply and accumulate alone, as a dense datapath without a codebook spends them

    @classmethod
    def from_table(cls, table: EnergyTable) -> ArithmeticUnit:
        parts = ("codebook_lookup_pj", "index_add_pj", "multiply_pj", "accumulate_pj")
        mac = table.number("arithmetic", "multiply_pj") + table.number("arithmetic", "accumulate_pj")
        return cls(entry_pj=sum(table.number("arithmetic", p) for p in parts), mac_pj=mac)

    def entry(self, n: int = 1) -> float:
        return n * self.entry_pj

    def mac(self, n: int = 1) -> float:
        return n * self.mac_pj


@dataclass(frozen=True)
class ActivationQueue:
    push_pj: float
    pop_pj: float

    @classmethod
    def from_table(cls, table: EnergyTable) -> ActivationQueue:
        return cls(table.number("queue", "push_pj"), table.number("queue", "pop_pj"))

    def push(self, n: int = 1) -> float:
        return n * self.push_pj

    def pop(self, n: int = 1) -> float:
        return n * self.pop_pj


@dataclass(frozen=True)
class CentralUnit:
    """The LNZD tree and the broadcast wires: a step evaluates every node of the (sub-)tree that takes it, a
    broadcast drives the wires to every PE of its tree (all PEs, or one PE group under conv_mapping "positions")."""

    node_pj: float
    bit_pe_pj: float  # one broadcast bit over the wires to one PE
    clock_pj_per_cycle: float  # the whole tree's registers

    @classmethod
    def from_table(cls, table: EnergyTable, arch: ArchConfig) -> CentralUnit:
        return cls(
            node_pj=table.number("lnzd", "node_pj"),
            bit_pe_pj=table.number("broadcast", "pj_per_bit_mm") * table.number("broadcast", "wire_mm_per_pe"),
            clock_pj_per_cycle=arch.lnzd_nodes
            * table.number("lnzd", "node_flops")
            * table.number("clock", "pj_per_flop_cycle"),
        )

    def steps(self, n: int, tree_nodes: int) -> float:
        return n * tree_nodes * self.node_pj

    def broadcast(self, n: int, bits: int, tree_pes: int) -> float:
        return n * bits * tree_pes * self.bit_pe_pj


@dataclass(frozen=True)
class DRAM:
    kind: str
    pj_per_bit: float

    @classmethod
    def from_table(cls, table: EnergyTable, kind: str) -> DRAM:
        return cls(kind, table.number("dram", f"{kind}_pj_per_bit"))

    def transfer(self, n_bytes: int) -> float:
        return 8 * n_bytes * self.pj_per_bit


@dataclass(frozen=True)
class EnergyModel:
    """EIE's components for one ArchConfig, with the per-PE-module overheads and leakage."""

    arch: ArchConfig
    spmat: SRAM
    ptr_bank: SRAM  # one of the two pointer banks
    act_sram: SRAM
    rf: RegisterFile
    arithmetic: ArithmeticUnit
    queue: ActivationQueue
    central: CentralUnit
    dram: DRAM
    overhead_pj_per_cycle: Mapping[str, float]  # per PE module
    leakage_mw: Mapping[str, float]  # per PE module

    @classmethod
    def build(cls, arch: ArchConfig, table: EnergyTable | None = None) -> EnergyModel:
        table = table or default_table()
        table.section("technology")
        spmat = SRAM.from_table(table, arch.spmat_kb, arch.spmat_width)
        ptr_bank = SRAM.from_table(table, arch.ptr_kb / 2, arch.ptr_bits)
        act_sram = SRAM.from_table(table, arch.act_sram_kb, arch.act_bits)
        return cls(
            arch=arch,
            spmat=spmat,
            ptr_bank=ptr_bank,
            act_sram=act_sram,
            rf=RegisterFile.from_table(table),
            arithmetic=ArithmeticUnit.from_table(table),
            queue=ActivationQueue.from_table(table),
            central=CentralUnit.from_table(table, arch),
            dram=DRAM.from_table(table, arch.dram),
            overhead_pj_per_cycle={m: table.number("overhead", f"{m}_pj_per_cycle") for m in PE_MODULES},
            leakage_mw={
                "spmat": spmat.leakage_mw,
                "ptr": 2 * ptr_bank.leakage_mw,
                "act": act_sram.leakage_mw,
                "arithmetic": 0.0,
                "queue": 0.0,
            },
        )


def energy_model(arch: ArchConfig, table: EnergyTable | None = None) -> EnergyModel:
    return _cached_model(arch, table or default_table())


@lru_cache(maxsize=64)
def _cached_model(arch: ArchConfig, table: EnergyTable) -> EnergyModel:
    return EnergyModel.build(arch, table)


# --------------------------------------------------------------------------------------------------------------
# Pricing.


@dataclass(frozen=True)
class SramAccesses:
    """On-chip accesses of one layer: the engine's counts plus the memory model's loads and DRAM transfers."""

    spmat_reads: int  # words
    spmat_writes: int
    ptr_reads: int  # pointers (one bank access each)
    ptr_writes: int
    act_sram_reads: int  # activations
    act_sram_writes: int
    rf_reads: int
    rf_writes: int

    @classmethod
    def of(cls, counts: LayerCounts) -> SramAccesses:
        """The engine's accesses alone (no weight loads, no DRAM transfers)."""
        return cls(
            counts.spmat_reads,
            0,
            counts.ptr_reads,
            0,
            counts.act_sram_reads,
            counts.act_sram_writes,
            counts.rf_reads,
            counts.rf_writes,
        )


def pj_from_mw(mw: float, cycles: int, clock_mhz: float) -> float:
    """Energy in pJ of `mw` milliwatts held for `cycles` clock cycles."""
    return mw * cycles / clock_mhz * 1e3


def pe_module_energy(
    counts: LayerCounts, access: SramAccesses, cycles: int, model: EnergyModel
) -> dict[str, dict[str, float]]:
    """Per Table II module, over all PEs: {'dynamic', 'clock', 'leakage'} energy in pJ over `cycles`."""
    n_pes, clock_mhz = model.arch.n_pes, model.arch.clock_mhz
    dynamic = {
        "queue": model.queue.push(counts.queue_pushes) + model.queue.pop(counts.queue_pushes),
        "ptr": model.ptr_bank.read(access.ptr_reads) + model.ptr_bank.write(access.ptr_writes),
        "spmat": model.spmat.read(access.spmat_reads) + model.spmat.write(access.spmat_writes),
        "arithmetic": model.arithmetic.entry(counts.codebook_lookups),
        "act": model.rf.read(access.rf_reads)
        + model.rf.write(access.rf_writes)
        + model.act_sram.read(access.act_sram_reads)
        + model.act_sram.write(access.act_sram_writes),
    }
    return {
        m: {
            "dynamic": dynamic[m],
            "clock": model.overhead_pj_per_cycle[m] * cycles * n_pes,
            "leakage": pj_from_mw(model.leakage_mw[m] * n_pes, cycles, clock_mhz),
        }
        for m in PE_MODULES
    }


def layer_energy(
    counts: LayerCounts, access: SramAccesses, dram_bytes: int, cycles: int, enc: EncodedLayer, model: EnergyModel
) -> dict[str, float]:
    """One layer's energy by component (pJ) over `cycles`, with `total` the sum of the components.

    LNZD steps are bounded by broadcasts plus register rows scanned; a broadcast carries the activation and its
    column index (ceil(log2 cols) bits) over the wires of the tree that sends it (`enc.n_pes` PEs).
    """
    modules = pe_module_energy(counts, access, cycles, model)
    central = model.central
    bits = model.arch.act_bits + max(1, math.ceil(math.log2(max(enc.cols, 2))))
    parts = {_MODULE_COMPONENT[m]: modules[m]["dynamic"] for m in PE_MODULES}
    tree_nodes = model.arch.replace(n_pes=enc.n_pes).lnzd_nodes
    parts["lnzd_broadcast"] = central.steps(counts.broadcasts + counts.lnzd_rows, tree_nodes) + central.broadcast(
        counts.broadcasts, bits, enc.n_pes
    )
    parts["clock"] = sum(modules[m]["clock"] for m in PE_MODULES) + central.clock_pj_per_cycle * cycles
    parts["leakage"] = sum(modules[m]["leakage"] for m in PE_MODULES)
    parts["dram"] = model.dram.transfer(dram_bytes)
    return with_total({c: parts[c] for c in COMPONENTS})


def with_total(parts: Mapping[str, float]) -> dict[str, float]:
    """The components in COMPONENTS order and their sum as `total` (summed in that order, so it is exact)."""
    ordered = {c: float(parts[c]) for c in COMPONENTS}
    ordered["total"] = sum(ordered.values())
    return ordered


def sum_energies(energies: list[Mapping[str, float]]) -> dict[str, float]:
    """Component-wise sum over layers; `total` re-summed from the summed components."""
    return with_total({c: sum(e[c] for e in energies) for c in COMPONENTS})


def power_mw(energy_pj: float, cycles: int, clock_mhz: float) -> float:
    """Average power in mW of `energy_pj` spent over `cycles` clock cycles."""
    return energy_pj * clock_mhz / cycles * 1e-3 if cycles else 0.0


def pe_module_power(counts: Sequence[LayerCounts], model: EnergyModel) -> dict[str, dict[str, float]]:
    """Average power of one PE's Table II modules over the layers' compute cycles, in mW by 'dynamic', 'clock' and
    'leakage': the engine's accesses only (no weight loads, no DRAM), as Table II measures the PE computing."""
    cycles = sum(c.cycles for c in counts)
    total = {m: {"dynamic": 0.0, "clock": 0.0, "leakage": 0.0} for m in PE_MODULES}
    for c in counts:
        for m, kinds in pe_module_energy(c, SramAccesses.of(c), c.cycles, model).items():
            for kind, pj in kinds.items():
                total[m][kind] += pj
    per_pe_cycles = cycles * model.arch.n_pes
    return {
        m: {kind: power_mw(pj, per_pe_cycles, model.arch.clock_mhz) for kind, pj in kinds.items()}
        for m, kinds in total.items()
    }
