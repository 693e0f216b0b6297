"""eie-sim: a cycle-level simulator of EIE, the Efficient Inference Engine (Han et al., ISCA 2016).

The public API is imported on first use, so that the command line starts without loading numpy, pandas or scipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eie_sim.arch import ArchConfig, arch_from_toml
    from eie_sim.errors import InputError
    from eie_sim.formats.workloads import list_workloads, load_workload
    from eie_sim.results.result import Result
    from eie_sim.studies.simulate import Session, simulate
    from eie_sim.studies.sweep import sweep
    from eie_sim.support.fetch import fetch

_API = {
    "ArchConfig": "eie_sim.arch",
    "arch_from_toml": "eie_sim.arch",
    "InputError": "eie_sim.errors",
    "list_workloads": "eie_sim.formats.workloads",
    "load_workload": "eie_sim.formats.workloads",
    "Result": "eie_sim.results.result",
    "Session": "eie_sim.studies.simulate",
    "simulate": "eie_sim.studies.simulate",
    "sweep": "eie_sim.studies.sweep",
    "fetch": "eie_sim.support.fetch",
}
__all__ = [
    "ArchConfig",
    "InputError",
    "Result",
    "Session",
    "arch_from_toml",
    "fetch",
    "list_workloads",
    "load_workload",
    "simulate",
    "sweep",
]  # the keys of _API


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'eie_sim' has no attribute {name!r}")
    return getattr(import_module(_API[name]), name)
