"""Where weights and activations live, SRAM or DRAM, and the traffic and time that follow (docs/memory.md).

Weights. A layer's EIE-format weights take, in every PE, its sparse-matrix words and its pointers (cols + 1 per
output tile), counted as eie_sim.compress.footprint counts them; a layer fits when, in every PE, its words fit the
sparse-matrix SRAM and its pointers the pointer SRAM. Then:
  * "resident": the whole network fits at once. Weights are loaded once and stay; that one-time load is reported
    (MemoryPlan.resident_load_bytes) but not charged to an inference. "Network" here is each set of layers linked
    by the tensors between them: the EIE paper's nine benchmark layers, each reading an input of its own, are
    nine networks of one layer, each judged alone, as the paper runs them.
  * "loaded": the network does not fit, this layer does. Its weights are read from DRAM once per inference.
  * "streamed": the layer does not fit. It runs in `chunks` (column ranges that fit), each read from DRAM once
    per inference and used for all of the layer's input vectors; inputs that live in DRAM are re-read per chunk.
Weight bytes from DRAM are the whole layer, not only the columns with non-zero inputs: a PE's column slice is one
or two 64-bit words, far below a DRAM burst.

Activations. A tensor lives on chip when its share per PE fits half the activation storage (a register file plus
half the activation SRAM: one half holds a layer's input, the other its output, as EIE's source and destination
register files swap roles). Network inputs come from DRAM; outputs nothing reads go back to DRAM; a tensor that
does not fit is written to DRAM by its producer and read back by its consumer. Glue ops (pooling, concatenation,
flattening) are not EIE work: they cost nothing and happen where their data lives.

Time. DRAM transfers overlap computation (double buffering), so a layer takes max(compute cycles, DRAM bytes /
bandwidth) cycles: a lower bound that ignores the first buffer's fill.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.compress.footprint import LayerFootprint
from eie_sim.costs.energy import SramAccesses
from eie_sim.engine.job import LayerCounts
from eie_sim.model.network import Network
from eie_sim.model.ops import Layer

BASELINE_WEIGHT_BITS = 32  # the dense baseline: float32 weights


@dataclass(frozen=True)
class LayerIO:
    """A layer's activation tensors and whether each crosses the chip boundary."""

    input_elems: int
    output_elems: int
    input_from_dram: bool
    output_to_dram: bool
    network: str  # the independent network the layer belongs to (named by one of its tensors)


class PlacedLayer(Protocol):
    """What the memory model needs of a simulated layer (simulate.LayerRecord has it)."""

    layer: Layer
    enc: EncodedLayer
    counts: LayerCounts
    groups: int
    io: LayerIO


@dataclass(frozen=True)
class LayerTraffic:
    """One layer's memory traffic per inference: accesses, bytes and the cycles they bound."""

    placement: str  # "resident", "loaded" or "streamed"
    chunks: int
    weight_words: int  # EIE-format weights in all PEs (copies included): sparse-matrix words ...
    weight_pointers: int  # ... and pointers
    weight_bytes: int  # ... in bytes
    access: SramAccesses
    sram_read_bytes: int  # sparse-matrix, pointer and activation SRAMs
    sram_write_bytes: int
    dram_weight_bytes: int
    dram_act_read_bytes: int
    dram_act_write_bytes: int
    compute_cycles: int
    dram_cycles: int
    baseline_dram_bytes: int  # the same layer's dense float32 weights, read from DRAM once

    @property
    def dram_read_bytes(self) -> int:
        return self.dram_weight_bytes + self.dram_act_read_bytes

    @property
    def dram_write_bytes(self) -> int:
        return self.dram_act_write_bytes

    @property
    def cycles(self) -> int:
        return max(self.compute_cycles, self.dram_cycles)


@dataclass(frozen=True)
class MemoryPlan:
    network_fits: bool  # every independent network fits whole (all weights resident)
    resident_load_bytes: int  # one-time DRAM read that fills the SRAMs with the resident networks' weights
    layers: tuple[LayerTraffic, ...]


@dataclass(frozen=True)
class Capacity:
    """Per-PE weight storage in bytes (a pointer's 2**ptr_bits address range is reported by eie_sim.compress.footprint,
    not enforced, as there)."""

    spmat_bytes: int
    ptr_bytes: int

    @classmethod
    def of(cls, arch: ArchConfig) -> Capacity:
        return cls(spmat_bytes=round(arch.spmat_kb * 1024), ptr_bytes=round(arch.ptr_kb * 1024))

    def chunks(self, fp: LayerFootprint, arch: ArchConfig) -> int:
        """Pieces the layer must be cut into so that each fits (1 when it fits whole)."""
        need = max(int(fp.spmat_bytes(arch).max(initial=0)) / self.spmat_bytes, fp.ptr_bytes(arch) / self.ptr_bytes)
        return max(1, math.ceil(need))

    def holds_all(self, fps: Sequence[LayerFootprint], arch: ArchConfig) -> bool:
        """Whether every layer's weights fit in every PE at the same time."""
        if not fps:
            return True
        spmat = np.sum([fp.spmat_bytes(arch) for fp in fps], axis=0)
        return int(spmat.max()) <= self.spmat_bytes and sum(fp.ptr_bytes(arch) for fp in fps) <= self.ptr_bytes


def activation_capacity(arch: ArchConfig) -> int:
    """Activations one tensor may hold per PE and stay on chip: a register file plus half the activation SRAM."""
    return arch.rf_entries + int(arch.act_sram_kb * 8192 // arch.act_bits) // 2


def layer_io(network: Network, arch: ArchConfig) -> dict[str, LayerIO]:
    """Each layer's LayerIO, by layer name, from the network's structure and the size of every tensor."""
    sizes = {name: math.prod(shape) for name, shape in network.shapes.items()}
    produced_by: dict[
        str, tuple[str, ...]
    ] = {}  # tensor -> the base tensors (layer outputs, network inputs) it is made of
    layer_outputs = {layer.output for layer in network.layers}
    external = set(network.inputs)
    for op in network.ops:
        if isinstance(op, Layer):
            produced_by[op.output] = (op.output,)
        else:
            produced_by[op.output] = tuple(
                dict.fromkeys(b for name in op.inputs for b in produced_by.get(name, (name,)))
            )

    per_pe = activation_capacity(arch)

    def off_chip(name: str) -> bool:
        return -(-sizes[name] // arch.n_pes) > per_pe

    linked = _Partition()
    for layer in network.layers:
        for base in produced_by.get(layer.inputs[0], (layer.inputs[0],)):
            linked.join(base, layer.output)

    read_tensors = [layer.inputs[0] for layer in network.layers]
    spilled = {b for name in read_tensors if off_chip(name) for b in produced_by.get(name, (name,))}
    consumed = {b for name in read_tensors for b in produced_by.get(name, (name,))}
    result = {}
    for layer in network.layers:
        source = layer.inputs[0]
        bases = produced_by.get(source, (source,))
        from_dram = off_chip(source) or any(b in external or (b in layer_outputs and off_chip(b)) for b in bases)
        to_dram = off_chip(layer.output) or layer.output in spilled or layer.output not in consumed
        result[layer.name] = LayerIO(sizes[source], sizes[layer.output], from_dram, to_dram, linked.find(layer.output))
    return result


class _Partition:
    """Union-find over tensor names: which tensors belong to one independent network."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, name: str) -> str:
        root = name
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        self.parent[name] = root
        return root

    def join(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def plan_memory(records: Sequence[PlacedLayer], arch: ArchConfig) -> MemoryPlan:
    """Placement and per-inference traffic of every layer of a simulated network (see the module docstring)."""
    capacity = Capacity.of(arch)
    footprints = [LayerFootprint.of(r.enc, r.groups) for r in records]
    networks = {r.io.network for r in records}
    fits = {
        n: capacity.holds_all([fp for r, fp in zip(records, footprints) if r.io.network == n], arch) for n in networks
    }
    layers = tuple(_layer_traffic(r, fp, capacity, fits[r.io.network], arch) for r, fp in zip(records, footprints))
    resident = sum(fp.dram_bytes(arch) for r, fp in zip(records, footprints) if fits[r.io.network])
    return MemoryPlan(network_fits=all(fits.values()), resident_load_bytes=resident, layers=layers)


def _layer_traffic(
    record: PlacedLayer, fp: LayerFootprint, capacity: Capacity, network_fits: bool, arch: ArchConfig
) -> LayerTraffic:
    counts, io = record.counts, record.io
    chunks = capacity.chunks(fp, arch)
    placement = "resident" if network_fits else ("loaded" if chunks == 1 else "streamed")
    words, pointers, weight_bytes = int(fp.words.sum()), fp.pointers * fp.words.size, fp.chip_bytes(arch)
    loaded = placement != "resident"
    act_bytes = arch.act_bits / 8
    inputs_in = io.input_elems * (chunks if io.input_from_dram else 0)
    outputs_out = io.output_elems if io.output_to_dram else 0
    access = SramAccesses(
        spmat_reads=counts.spmat_reads,
        spmat_writes=words if loaded else 0,
        ptr_reads=counts.ptr_reads,
        ptr_writes=pointers if loaded else 0,
        act_sram_reads=counts.act_sram_reads + outputs_out,
        act_sram_writes=counts.act_sram_writes + inputs_in,
        rf_reads=counts.rf_reads,
        rf_writes=counts.rf_writes,
    )
    dram_weight = fp.dram_bytes(arch) if loaded else 0
    dram_in, dram_out = math.ceil(inputs_in * act_bytes), math.ceil(outputs_out * act_bytes)
    bytes_per_cycle = arch.dram_gbps * 1e3 / arch.clock_mhz
    return LayerTraffic(
        placement=placement,
        chunks=chunks,
        weight_words=words,
        weight_pointers=pointers,
        weight_bytes=weight_bytes,
        access=access,
        sram_read_bytes=_bytes(access.spmat_reads, access.ptr_reads, access.act_sram_reads, arch),
        sram_write_bytes=_bytes(access.spmat_writes, access.ptr_writes, access.act_sram_writes, arch),
        dram_weight_bytes=dram_weight,
        dram_act_read_bytes=dram_in,
        dram_act_write_bytes=dram_out,
        compute_cycles=counts.cycles,
        dram_cycles=math.ceil((dram_weight + dram_in + dram_out) / bytes_per_cycle),
        baseline_dram_bytes=record.layer.rows * record.layer.cols * BASELINE_WEIGHT_BITS // 8,
    )


def _bytes(spmat_words: int, pointers: int, activations: int, arch: ArchConfig) -> int:
    return (spmat_words * arch.spmat_width + pointers * arch.ptr_bits + activations * arch.act_bits) // 8
