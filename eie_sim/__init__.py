"""eie-sim: a cycle-level simulator of EIE, the Efficient Inference Engine (Han et al., ISCA 2016)."""

from eie_sim.arch import ArchConfig, arch_from_toml
from eie_sim.errors import InputError
from eie_sim.formats.workloads import list_workloads, load_workload
from eie_sim.studies.simulate import Result, simulate
from eie_sim.studies.sweep import sweep
from eie_sim.support.fetch import fetch

__all__ = [
    "ArchConfig",
    "InputError",
    "Result",
    "arch_from_toml",
    "fetch",
    "list_workloads",
    "load_workload",
    "simulate",
    "sweep",
]
