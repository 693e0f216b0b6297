"""Where weights and activations live, SRAM or DRAM, and the traffic and time that follow (docs/memory.md).

Weights. A layer's EIE-format weights take, in every PE, its sparse-matrix words and its pointers (cols + 1 per
output tile), counted as eie_sim.compress.footprint counts them. When a network fits whole (in every PE, all its layers'
words the sparse-matrix SRAM and all their pointers the pointer SRAM), every layer is "resident": loaded once and
kept; that one-time load is reported (MemoryPlan.resident_load_bytes) but not charged to an inference. When it does
not fit, eie_sim.costs.residency pins column prefixes of each layer's pointers and entries, separately, and the rest
streams from DRAM every inference, in `chunks` passes through the SRAM room left free; inputs that live in DRAM are
re-read per pass. A layer is then "resident" (all pinned), "partial" or "streamed" (nothing pinned). "Network" here
is each set of layers linked by the tensors between them: the EIE paper's nine benchmark layers, each reading an
input of its own, are nine networks of one layer, each judged alone, as the paper runs them. Streamed weight bytes
are whole column ranges, not only the columns with non-zero inputs: a PE's column slice is one or two 64-bit words,
far below a DRAM burst.

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

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.compress.footprint import LayerFootprint
from eie_sim.costs.energy import SramAccesses
from eie_sim.costs.residency import LayerDemand, Placed, pins, place
from eie_sim.engine.job import LayerCounts
from eie_sim.model.network import Network
from eie_sim.model.ops import Layer
from eie_sim.support.arithmetic import ceil_div

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

    @property
    def layer(self) -> Layer: ...
    @property
    def enc(self) -> EncodedLayer: ...
    @property
    def counts(self) -> LayerCounts: ...
    @property
    def vectors(self) -> int: ...
    @property
    def groups(self) -> int: ...
    @property
    def io(self) -> LayerIO: ...


@dataclass(frozen=True)
class LayerTraffic:
    """One layer's memory traffic per inference: where its weights are, accesses, bytes and the cycles they bound."""

    weights: Placed  # pinned and streamed weights, passes, DRAM bytes and cycles (eie_sim.costs.residency)
    weight_bytes: int  # EIE-format weights in all PEs (copies included)
    access: SramAccesses
    sram_read_bytes: int  # sparse-matrix, pointer and activation SRAMs
    sram_write_bytes: int
    compute_cycles: int
    baseline_dram_bytes: int  # the same layer's dense float32 weights, read from DRAM once

    @property
    def placement(self) -> str:
        return self.weights.placement

    @property
    def chunks(self) -> int:
        return self.weights.passes

    @property
    def dram_weight_bytes(self) -> int:
        return self.weights.dram_weight_bytes

    @property
    def dram_read_bytes(self) -> int:
        return self.weights.dram_weight_bytes + self.weights.dram_act_read_bytes

    @property
    def dram_write_bytes(self) -> int:
        return self.weights.dram_act_write_bytes

    @property
    def dram_cycles(self) -> int:
        return self.weights.dram_cycles

    @property
    def cycles(self) -> int:
        return self.weights.cycles


@dataclass(frozen=True)
class MemoryPlan:
    network_fits: bool  # every independent network fits whole (all weights resident)
    resident_load_bytes: int  # one-time DRAM read that fills the SRAMs with the pinned weights
    layers: tuple[LayerTraffic, ...]


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
        return ceil_div(sizes[name], arch.n_pes) > per_pe

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
    demands = [_demand(r, arch) for r in records]
    placed: dict[int, Placed] = {}
    fits = True
    for network in dict.fromkeys(r.io.network for r in records):
        members = [i for i, r in enumerate(records) if r.io.network == network]
        chosen, staging = pins([demands[i] for i in members], arch)
        fits = fits and not (staging.ptr_bytes or staging.spmat_bytes)
        for i, pin in zip(members, chosen):
            placed[i] = place(demands[i], pin, staging, arch)
    layers = tuple(_layer_traffic(r, d.footprint, placed[i], arch) for i, (r, d) in enumerate(zip(records, demands)))
    resident = sum((t.weights.ptr_pinned_bytes + t.weights.spmat_pinned_bytes) // d.footprint.copies
                   for t, d in zip(layers, demands))  # fmt: skip
    return MemoryPlan(network_fits=fits, resident_load_bytes=resident, layers=layers)


def _demand(record: PlacedLayer, arch: ArchConfig) -> LayerDemand:
    io = record.io
    return LayerDemand(
        footprint=LayerFootprint.of(record.enc, record.groups),
        compute_cycles=record.counts.cycles,
        input_elems=io.input_elems if io.input_from_dram else 0,
        output_elems=io.output_elems if io.output_to_dram else 0,
    )


def _layer_traffic(record: PlacedLayer, fp: LayerFootprint, weights: Placed, arch: ArchConfig) -> LayerTraffic:
    counts, io = record.counts, record.io
    inputs_in = io.input_elems * weights.passes if io.input_from_dram else 0
    outputs_out = io.output_elems if io.output_to_dram else 0
    access = SramAccesses(
        spmat_reads=counts.spmat_reads,
        spmat_writes=weights.streamed_words,
        ptr_reads=counts.ptr_reads,
        ptr_writes=weights.streamed_pointers,
        act_sram_reads=counts.act_sram_reads + outputs_out,
        act_sram_writes=counts.act_sram_writes + inputs_in,
        rf_reads=counts.rf_reads,
        rf_writes=counts.rf_writes,
    )
    return LayerTraffic(
        weights=weights,
        weight_bytes=fp.chip_bytes(arch),
        access=access,
        sram_read_bytes=_bytes(access.spmat_reads, access.ptr_reads, access.act_sram_reads, arch),
        sram_write_bytes=_bytes(access.spmat_writes, access.ptr_writes, access.act_sram_writes, arch),
        compute_cycles=counts.cycles,
        baseline_dram_bytes=record.layer.rows * record.layer.cols * BASELINE_WEIGHT_BITS // 8,
    )


def _bytes(spmat_words: int, pointers: int, activations: int, arch: ArchConfig) -> int:
    return (spmat_words * arch.spmat_width + pointers * arch.ptr_bits + activations * arch.act_bits) // 8
