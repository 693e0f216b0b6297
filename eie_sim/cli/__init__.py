"""The `eie-sim` command line."""

from eie_sim.cli.main import main

__all__ = ["main"]
