"""The EIE chip for one layer: the central unit and N PEs on one simpy clock, run tile by tile."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from eie_sim.arch import ArchConfig
from eie_sim.engine.job import PIPELINE_DRAIN, LayerCounts, LayerJob, LayerRun
from eie_sim.engine.simpy_model.central_unit import CentralUnit
from eie_sim.engine.simpy_model.pe import ProcessingElement


class Chip:
    """Runs every input vector and every output tile one after another on one clock (time unit: one cycle).

    A tile starts from empty queues and idle PEs; it ends when the central unit has scanned the vector and every
    PE has finished its last slice, plus the arithmetic pipeline's drain; then each PE finishes its outputs.
    """

    def __init__(self, job: LayerJob, arch: ArchConfig) -> None:
        enc = job.enc
        self.env = simpy.Environment()
        self.job = job
        self.pes = [ProcessingElement(self.env, k, job, arch) for k in range(enc.n_pes)]
        self.central = CentralUnit(self.env, [pe.queue for pe in self.pes], [pe.registers for pe in self.pes], enc.cols)
        self.outputs = np.zeros((job.inputs.shape[0], enc.rows), dtype=np.int64)

    def run(self) -> Generator[simpy.Event, None, None]:
        n, env = len(self.pes), self.env
        for vector, x in enumerate(self.job.inputs):
            for pe in self.pes:
                pe.registers.load_source(x[pe.index :: n].tolist())
            for tile in range(self.job.enc.n_tiles):
                for pe in self.pes:
                    pe.start_tile(tile)
                units = [env.process(self.central.run())] + [env.process(pe.run()) for pe in self.pes]
                yield env.all_of(units)
                yield env.timeout(PIPELINE_DRAIN)
                for pe in self.pes:
                    self.outputs[vector, pe.tile_output_rows()] = pe.registers.finish_tile()

    def counts(self) -> LayerCounts:
        pes, cycles = self.pes, int(self.env.now)
        busy = np.array([pe.busy for pe in pes], dtype=np.int64)
        starved = np.array([pe.starved for pe in pes], dtype=np.int64)
        return LayerCounts(
            cycles=cycles,
            broadcasts=self.central.broadcasts,
            lnzd_rows=self.central.rows_scanned,
            queue_pushes=sum(pe.queue.pushes for pe in pes),
            ptr_reads=sum(pe.pointers.reads for pe in pes),
            spmat_reads=sum(pe.spmat.word_reads for pe in pes),
            codebook_lookups=sum(pe.arithmetic.lookups for pe in pes),
            useful_macs=sum(pe.arithmetic.useful_macs for pe in pes),
            filler_macs=sum(pe.arithmetic.fillers for pe in pes),
            empty_slices=sum(pe.empty_slices for pe in pes),
            rf_reads=sum(pe.registers.rf_reads for pe in pes),
            rf_writes=sum(pe.registers.rf_writes for pe in pes),
            act_sram_reads=sum(pe.registers.sram_reads for pe in pes),
            act_sram_writes=sum(pe.registers.sram_writes for pe in pes),
            pe_busy=busy,
            pe_starved=starved,
            pe_idle=cycles - busy - starved,
        )


def simulate_layer(job: LayerJob, arch: ArchConfig, outputs: bool = True) -> LayerRun:
    """Simulate one layer on EIE cycle by cycle: outputs from the modeled datapath (always computed: the
    datapath is the model), timing and counters."""
    chip = Chip(job, arch)
    chip.env.process(chip.run())
    chip.env.run()
    return LayerRun(outputs=chip.outputs, counts=chip.counts())
