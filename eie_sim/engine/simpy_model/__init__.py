"""The simpy engine: EIE as communicating hardware units, one module per unit, one event per unit of work.

chip.Chip wires the central unit (LNZD tree and broadcast) to N processing elements through their activation
queues; each PE drives its pointer-read, sparse-matrix-read, arithmetic and activation read/write units.
"""

from eie_sim.engine.simpy_model.chip import simulate_layer

__all__ = ["simulate_layer"]
