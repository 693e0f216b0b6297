"""Simulating a network on EIE: its functional results once, then each layer's encoding through an engine.

A Session keeps what simulations of one network share, so that a sweep computes each piece once: the functional
results (float32 and fixed point; they depend on the activation width alone) and the EIE encodings (they depend on
the layer and on the PE count, register-file size, index and word widths, code width). Everything else (queue
depth, broadcast latency, clock, memories, DRAM) is engine and cost work done per configuration.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer, encode
from eie_sim.costs.energy import EnergyTable
from eie_sim.costs.layer_costs import layer_costs, total_costs
from eie_sim.costs.memory import layer_io
from eie_sim.engine import get_engine
from eie_sim.engine.job import LayerJob, side_by_side
from eie_sim.errors import InputError
from eie_sim.model.functional import Functional, functional_model
from eie_sim.model.graph import layer_outputs
from eie_sim.model.network import Network
from eie_sim.model.ops import Layer
from eie_sim.results.result import LayerRecord, Result, layer_row, pe_frame, total_row
from eie_sim.support.memory_budget import Need, network_sizes, run_need
from eie_sim.support.progress import progress_bar


class EngineMismatch(RuntimeError):
    """An engine's outputs differ from the fixed-point reference: a defect of the simulator, not of the input."""


@dataclass(frozen=True)
class EncodingKey:
    """The ArchConfig fields an EIE encoding depends on (compress.encode)."""

    n_pes: int
    rf_entries: int
    index_bits: int
    spmat_width: int
    weight_bits: int

    @classmethod
    def of(cls, arch: ArchConfig) -> EncodingKey:
        return cls(arch.n_pes, arch.rf_entries, arch.index_bits, arch.spmat_width, arch.weight_bits)


def position_groups(layer: Layer, arch: ArchConfig) -> int:
    """PE groups for a layer: with conv_mapping "positions", a conv layer with fewer output channels than PEs
    splits the PEs into as many equal groups as still leave each group a PE per output channel; each group has
    its own LNZD sub-tree and broadcast, a copy of the weights, and every groups-th output position."""
    if arch.conv_mapping != "positions" or layer.kind != "conv" or layer.rows >= arch.n_pes:
        return 1
    most = arch.n_pes // layer.rows
    return max(g for g in range(1, most + 1) if arch.n_pes % g == 0)


def memory_need(network: Network, arch: ArchConfig) -> Need:
    """The memory simulating `network` on `arch` needs, from its sizes alone (support.memory_budget)."""
    tensor_values = sum(math.prod(shape) for shape in network.shapes.values())
    return run_need(network_sizes(network), tensor_values, arch.n_pes, arch.rf_entries, arch.max_gap)


@dataclass(frozen=True, eq=False)
class LayerWork:
    """One layer on one configuration: its encoding, the configuration each PE group runs, and a job per group."""

    layer: Layer
    enc: EncodedLayer
    arch: ArchConfig  # the configuration of one PE group (all PEs unless conv_mapping "positions" splits them)
    jobs: tuple[LayerJob, ...]  # one per PE group, each with every groups-th input vector


class Session:
    """A network and what every simulation of it shares, each piece computed on first use and then kept.

    `seconds` adds up the wall time spent per phase (functional, encode, engine, costs) over the session's
    simulations, for benchmarks.
    """

    def __init__(self, network: Network) -> None:
        if not network.layers:
            raise InputError(f"network {network.name}: no fc or conv layer to simulate")
        self.network = network
        self.seconds = dict.fromkeys(("functional", "encode", "engine", "costs"), 0.0)
        self._functional: dict[int, Functional] = {}
        self._encodings: dict[str, tuple[EncodingKey, EncodedLayer]] = {}

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - start

    def functional(self, act_bits: int) -> Functional:
        if act_bits not in self._functional:
            with self._timed("functional"):
                self._functional[act_bits] = functional_model(self.network, act_bits)
        return self._functional[act_bits]

    def encoding(self, layer: Layer, arch: ArchConfig) -> EncodedLayer:
        """The layer's encoding for `arch`; the last one per layer is kept (sweeps visit the points that share an
        encoding one after another, and keeping every encoding would hold many copies of the weights)."""
        key = EncodingKey.of(arch)
        kept = self._encodings.get(layer.name)
        if kept is None or kept[0] != key:
            with self._timed("encode"):
                kept = self._encodings[layer.name] = (key, encode(layer, arch))
        return kept[1]

    def layer_work(self, arch: ArchConfig) -> Iterator[LayerWork]:
        """Every weighted layer's encoding and engine jobs on `arch`, in network order."""
        functional = self.functional(arch.act_bits)
        for layer in self.network.layers:
            groups = position_groups(layer, arch)
            group_arch = arch.replace(n_pes=arch.n_pes // groups)
            enc = self.encoding(layer, group_arch)
            vectors, constants = functional.layer_inputs[layer.name], functional.constants[layer.name]
            jobs = tuple(
                LayerJob(enc, constants.codebook_q, constants.bias_acc, constants.shift, layer.relu, arch.act_bits,
                         vectors[g::groups])
                for g in range(groups)
            )  # fmt: skip
            yield LayerWork(layer, enc, group_arch, jobs)

    def simulate(
        self,
        arch: ArchConfig | None = None,
        engine: str = "fast",
        progress: bool = False,
        verify: bool = False,
        energy_table: EnergyTable | None = None,
    ) -> Result:
        """Run every weighted layer through `engine`; `verify` also computes the fast engine's outputs from the
        encoded entries and checks them against the fixed-point reference (the simpy engine always computes and
        checks them: its datapath is the model)."""
        arch = arch or ArchConfig()
        run_layer = get_engine(engine)
        memory_need(self.network, arch).check(
            f"network {self.network.name} on {arch.n_pes} PEs (rf_entries {arch.rf_entries})"
        )
        io = layer_io(self.network, arch)
        records = []
        desc = f"{self.network.name} ({engine})"
        with progress_bar(len(self.network.layers), desc, "layer", enabled=progress) as bar:
            for work in self.layer_work(arch):
                layer = work.layer
                expected = layer_outputs(layer, self.functional(arch.act_bits).fixed_tensors[layer.output])
                counts = []
                with self._timed("engine"):
                    for g, job in enumerate(work.jobs):
                        run = run_layer(job, work.arch, outputs=verify)
                        if run.outputs is not None:
                            _check_outputs(layer, engine, run.outputs, expected[g :: len(work.jobs)])
                        counts.append(run.counts)
                vectors = self.functional(arch.act_bits).layer_inputs[layer.name]
                density = float(np.count_nonzero(vectors)) / max(vectors.size, 1)
                records.append(
                    LayerRecord(
                        layer, work.enc, side_by_side(counts), len(vectors), density, io[layer.name], len(work.jobs)
                    )
                )
                bar.update(1)
        with self._timed("costs"):
            return self._result(engine, arch, tuple(records), energy_table)

    def _result(
        self, engine: str, arch: ArchConfig, records: tuple[LayerRecord, ...], table: EnergyTable | None
    ) -> Result:
        memory, costs = layer_costs(records, arch, table)
        frame = pd.DataFrame([layer_row(r, arch, c) for r, c in zip(records, costs)])
        useful = sum(r.counts.useful_macs for r in records)
        total = total_row(records, arch, total_costs(memory, costs, useful, arch, table))
        functional = self.functional(arch.act_bits)
        return Result(self.network.name, engine, arch, records, functional, memory, frame, total, pe_frame(records))


def _check_outputs(layer: Layer, engine: str, outputs: np.ndarray, expected: np.ndarray) -> None:
    if not np.array_equal(outputs, expected):
        wrong = int(np.count_nonzero(outputs != expected))
        raise EngineMismatch(
            f"engine {engine}: {wrong} outputs of layer {layer.name} differ from the fixed-point reference"
        )


def simulate(
    network: Network,
    arch: ArchConfig | None = None,
    engine: str = "fast",
    progress: bool = False,
    verify: bool = False,
    energy_table: EnergyTable | None = None,
) -> Result:
    """Run `network` on EIE with the chosen engine (see Session.simulate)."""
    return Session(network).simulate(arch, engine, progress, verify, energy_table)
