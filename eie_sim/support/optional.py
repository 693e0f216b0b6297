"""Optional dependencies: imported when a feature needs them, with one clear error naming the extra to install."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from eie_sim.errors import InputError

PACKAGES = {"sklearn": "scikit-learn", "PIL": "Pillow", "dask": "Dask"}  # import name -> what pip installs


def require(module: str, needed_for: str, extra: str) -> ModuleType:
    """Import `module`, or fail with "<needed_for> needs <package>: pip install 'eie-sim[<extra>]'"."""
    top = module.split(".")[0]
    try:
        import_module(top)  # a missing package is missing even when a submodule of it is still cached
        return import_module(module)
    except ImportError:
        package = PACKAGES.get(top, top)
        raise InputError(f"{needed_for} needs {package}: pip install 'eie-sim[{extra}]'") from None
