"""The central control unit: the LNZD tree that finds non-zero input activations and broadcasts them to every PE."""

from __future__ import annotations

from collections.abc import Generator, Sequence

import simpy

from eie_sim.engine.simpy_model.activation_queue import ActivationQueue
from eie_sim.engine.simpy_model.activation_rw import ActivationReadWrite
from eie_sim.support.arithmetic import ceil_div


class CentralUnit:
    """LNZD tree plus broadcast (Han et al. 2016, Section IV, "Distributed leading non-zero detection").

    Input activation j sits in PE j mod N, slot j div N, so the vector is a sequence of register rows of N
    activations read from the PEs' source storage. Per cycle the tree takes one step: the next non-zero of the
    current row in index order, or, for a row without non-zeros, the whole row. The step of a non-zero first waits
    until every PE's queue has room, then pushes (value, column) into all N queues in the same cycle, so every PE
    sees the same broadcast order. After the last step it closes the queues (end of vector).
    """

    def __init__(
        self,
        env: simpy.Environment,
        queues: Sequence[ActivationQueue],
        sources: Sequence[ActivationReadWrite],
        cols: int,
    ) -> None:
        self.env = env
        self.queues = queues
        self.sources = sources
        self.cols = cols
        self.broadcasts = 0
        self.rows_scanned = 0

    def run(self) -> Generator[simpy.Event, None, None]:
        """Scan one input vector for one output tile; the process ends one cycle after the last step."""
        n = len(self.queues)
        for row in range(ceil_div(self.cols, n)):
            holders = self.sources[: min(n, self.cols - row * n)]
            activations = [source.read_source(row) for source in holders]
            self.rows_scanned += 1
            nonzeros = [(pe, value) for pe, value in enumerate(activations) if value]
            if not nonzeros:
                yield self.env.timeout(1)
                continue
            for pe, value in nonzeros:
                for queue in self.queues:
                    if queue.full:
                        yield queue.popped()
                item = (value, row * n + pe)
                for queue in self.queues:
                    queue.push(item)
                self.broadcasts += 1
                yield self.env.timeout(1)
        for queue in self.queues:
            queue.close()
