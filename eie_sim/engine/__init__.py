"""The two engines behind one signature: simulate_layer(job, arch, outputs) -> LayerRun."""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from eie_sim.arch import ArchConfig
from eie_sim.engine.job import LayerJob, LayerRun
from eie_sim.errors import InputError

ENGINES = {"fast": "eie_sim.engine.fast", "simpy": "eie_sim.engine.simpy_model"}


class LayerEngine(Protocol):
    def __call__(self, job: LayerJob, arch: ArchConfig, outputs: bool = True) -> LayerRun: ...


def get_engine(name: str) -> LayerEngine:
    """The simulate_layer function of the engine called `name`."""
    if name not in ENGINES:
        raise InputError(f"--engine: unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return import_module(ENGINES[name]).simulate_layer
