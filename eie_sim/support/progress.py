"""Progress bars that show on a terminal and stay silent otherwise (pipes, files, CI)."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, desc: str, unit: str, enabled: bool = True) -> tqdm:
    """A tqdm bar on stderr, disabled unless `enabled` and stderr is a terminal."""
    return tqdm(
        total=total, desc=desc, unit=unit, disable=not (enabled and sys.stderr.isatty()), leave=False, file=sys.stderr
    )
