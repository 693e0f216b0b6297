"""A processing element: its activation queue and datapath units, driven by one simpy process per tile."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer
from eie_sim.engine.job import LayerJob
from eie_sim.engine.simpy_model.activation_queue import ActivationQueue
from eie_sim.engine.simpy_model.activation_rw import ActivationReadWrite
from eie_sim.engine.simpy_model.arithmetic import ArithmeticUnit
from eie_sim.engine.simpy_model.pointer_read import PointerRead
from eie_sim.engine.simpy_model.spmat_read import SparseMatrixRead


class ProcessingElement:
    """PE k: the rows i with i mod N == k (Han et al. 2016, Section III-B, Figure 4).

    Per broadcast it pops (value, column j) from its queue (no earlier than the broadcast latency allows), reads the
    pointer pair of slice j, streams the slice's entries through the arithmetic unit one a cycle, and takes
    `max(1, entries)` cycles: an empty slice still costs the cycle of its pointer read. The pointer, sparse-matrix
    and arithmetic units form a fixed pipeline with no back-pressure between them, so they are plain objects called
    once per slice and the whole slice is one simpy timeout; only the queue separates the PE from the central unit.
    """

    def __init__(self, env: simpy.Environment, index: int, job: LayerJob, arch: ArchConfig) -> None:
        enc: EncodedLayer = job.enc
        first, last = int(enc.pe_start[index]), int(enc.pe_start[index + 1])
        self.env = env
        self.index = index
        self.cols = enc.cols
        self.output_rows = np.arange(index, enc.rows, enc.n_pes)  # global row of each local row
        self.queue = ActivationQueue(env, arch.fifo_depth, arch.broadcast_latency_cycles)
        self.pointers = PointerRead(enc.ptr[index])
        self.spmat = SparseMatrixRead(
            enc.codes[first:last], enc.zeros[first:last], enc.entries_per_word, arch.spmat_read_mode
        )
        self.registers = ActivationReadWrite(
            job.bias_acc[self.output_rows].tolist(), enc.tile_rows, enc.n_tiles == 1, job.shift, job.act_bits, job.relu
        )
        self.arithmetic = ArithmeticUnit(job.codebook_q.tolist(), self.registers)
        self.tile = 0
        self.busy = 0  # cycles spent on column slices
        self.starved = 0  # cycles waiting on an empty queue
        self.empty_slices = 0

    def start_tile(self, tile: int) -> None:
        self.tile = tile
        self.queue.open()
        self.spmat.clear_line()
        self.registers.start_tile(tile)

    def tile_output_rows(self) -> np.ndarray:
        """Global rows of the current tile's outputs, in local-row order."""
        size = self.registers.rf_entries
        return self.output_rows[self.tile * size : (self.tile + 1) * size]

    def run(self) -> Generator[simpy.Event, None, None]:
        """Process the current tile's broadcasts until the queue is closed and empty."""
        env, queue = self.env, self.queue
        base = self.tile * self.cols
        free_at = env.now
        while True:
            if not queue.items:
                if queue.closed:
                    return
                yield queue.pushed()
                continue
            if env.now < queue.head_ready():
                yield env.timeout(queue.head_ready() - env.now)
            activation, column = queue.pop()
            self.starved += int(env.now - free_at)
            start, end = self.pointers.read(base + column)
            codes, zeros = self.spmat.read(start, end)
            self.arithmetic.run_slice(codes, zeros, activation)
            if end == start:
                self.empty_slices += 1
            cycles = max(1, end - start)
            self.busy += cycles
            yield env.timeout(cycles)
            free_at = env.now
