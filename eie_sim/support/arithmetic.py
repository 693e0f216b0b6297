"""Integer arithmetic the hardware's sizes are made of."""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Count = TypeVar("Count", int, np.ndarray)


def ceil_div(numerator: Count, denominator: int) -> Count:
    """numerator / denominator rounded up, for non-negative counts (an int, or an array of them): the words, rows,
    tiles or passes that hold them all."""
    return -(-numerator // denominator)
