"""eie-sim: a cycle-level simulator of EIE, the Efficient Inference Engine (Han et al., ISCA 2016)."""

from .arch import ArchConfig, arch_from_toml
from .errors import InputError
from .simulate import Result, simulate
from .sweep import sweep
from .workloads import list_workloads, load_workload

__all__ = ["ArchConfig", "InputError", "Result", "arch_from_toml", "list_workloads", "load_workload", "simulate", "sweep"]
