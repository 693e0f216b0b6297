"""A dense baseline a reader can trust: the same network on EIE's PEs without compression (docs/memory.md).

It isolates what compression and zero skipping buy. Same PEs, clock, SRAM technology and energy table as EIE; the
weights are dense `act_bits`-bit fixed point (the width of EIE's codebook values, so the arithmetic is the same):
no codebook, no index, no pointer, no skipped zero. Per layer and input vector, every weight is read from a weight
SRAM built like EIE's sparse-matrix SRAM (`spmat_width`-bit words at its read energy) and multiplied with its input:
rows x cols MACs, each reading and writing its accumulator in a register file; every input activation is read once
and broadcast to the PEs, every output written once. Weights stay in the same total SRAM EIE has, n_pes x (spmat_kb
+ ptr_kb); per independent network, what does not fit streams from DRAM every inference (spread over its layers in
proportion to their weights) and is written into the SRAM; activations cross the chip boundary as EIE's do. Time:
one MAC per PE per cycle, rows interleaved over the PEs (and output positions over PE groups) as in EIE, or the
DRAM time if longer; the clock overhead of the PE modules it keeps (weight read, arithmetic, activation read/write)
and every SRAM's leakage run for that time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from eie_sim.arch import ArchConfig
from eie_sim.costs.energy import EnergyModel, pj_from_mw
from eie_sim.costs.memory import PlacedLayer

DENSE_COMPONENTS = ("arithmetic", "weight_sram", "act_storage", "broadcast", "clock", "leakage", "dram")
_CLOCKED_MODULES = ("spmat", "arithmetic", "act")


@dataclass(frozen=True)
class DenseLayer:
    """One layer on the dense datapath: work, traffic, time and energy (pJ by DENSE_COMPONENTS, and `total`)."""

    macs: int
    weight_sram_reads: int  # spmat_width-bit words
    dram_bytes: int
    cycles: int
    energy_pj: dict[str, float]


def dense_baseline(records: Sequence[PlacedLayer], model: EnergyModel) -> list[DenseLayer]:
    """Every layer of a simulated network on the dense datapath (module docstring)."""
    arch = model.arch
    sram_bytes = arch.n_pes * round((arch.spmat_kb + arch.ptr_kb) * 1024)
    held = [r.groups * _weight_bytes(r, arch) for r in records]  # copies included, as in SRAM
    streamed_share = {}
    for network in {r.io.network for r in records}:
        total = sum(h for h, r in zip(held, records) if r.io.network == network)
        streamed_share[network] = max(0, total - sram_bytes) / total if total else 0.0
    return [_layer(r, h * streamed_share[r.io.network], model) for r, h in zip(records, held)]


def _weight_bytes(record: PlacedLayer, arch: ArchConfig) -> int:
    return math.ceil(record.layer.rows * record.layer.cols * arch.act_bits / 8)


def _layer(record: PlacedLayer, streamed_sram_bytes: float, model: EnergyModel) -> DenseLayer:
    arch, layer, io = model.arch, record.layer, record.io
    rows, cols, vectors, groups = layer.rows, layer.cols, record.vectors, record.groups
    macs = rows * cols * vectors
    words = math.ceil(rows * cols * arch.act_bits / arch.spmat_width)
    streamed_words = math.ceil(streamed_sram_bytes * 8 / arch.spmat_width)
    act_bytes = (io.input_elems if io.input_from_dram else 0) + (io.output_elems if io.output_to_dram else 0)
    dram_bytes = math.ceil(streamed_sram_bytes / groups) + math.ceil(act_bytes * arch.act_bits / 8)
    compute = math.ceil(rows / (arch.n_pes // groups)) * cols * math.ceil(vectors / groups)
    cycles = max(compute, math.ceil(dram_bytes / (arch.dram_gbps * 1e3 / arch.clock_mhz)))
    parts = {
        "arithmetic": model.arithmetic.mac(macs),
        "weight_sram": model.spmat.read(words * vectors) + model.spmat.write(streamed_words),
        "act_storage": model.rf.read(macs + cols * vectors) + model.rf.write(macs + rows * vectors),
        "broadcast": model.central.broadcast(cols * vectors, arch.act_bits, arch.n_pes // groups),
        "clock": sum(model.overhead_pj_per_cycle[m] for m in _CLOCKED_MODULES) * arch.n_pes * cycles,
        "leakage": pj_from_mw(sum(model.leakage_mw.values()) * arch.n_pes, cycles, arch.clock_mhz),
        "dram": model.dram.transfer(dram_bytes),
    }
    energy = {c: float(parts[c]) for c in DENSE_COMPONENTS}
    energy["total"] = sum(energy.values())
    return DenseLayer(macs=macs, weight_sram_reads=words * vectors, dram_bytes=dram_bytes, cycles=cycles,
                      energy_pj=energy)  # fmt: skip
