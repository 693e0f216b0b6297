"""Output error of EIE's 16-bit fixed point against float32, per weighted layer, with the codebook and activation
formats chosen as eie-sim chooses them (the most fractional bits that hold the largest magnitude) and, for
comparison, with fractional bits capped at bits - 1 (a format that cannot scale up values below 0.5).

Usage: python scripts/fixed_point_error.py [WORKLOAD ...]   (default: eie-paper squeezenet-dc)

The error of a layer is the RMS of (fixed - float32) over its outputs, relative to the RMS of the float32 outputs;
both runs use the same shared weights, so it is the error of the number format alone.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from unittest import mock

import numpy as np

from eie_sim import load_workload
from eie_sim.model import fixedpoint
from eie_sim.model.functional import Functional, functional_model

BITS = 16
CHOSEN_FRAC_BITS = fixedpoint.frac_bits_for


def capped_frac_bits(max_abs: float, bits: int) -> int:
    """The format rule with at most bits - 1 fractional bits."""
    return min(bits - 1, CHOSEN_FRAC_BITS(max_abs, bits))


def layer_errors(functional: Functional) -> dict[str, float]:
    errors = {}
    for layer in functional.network.layers:
        reference = functional.float_tensors[layer.output].astype(np.float64)
        error = functional.output(layer.output) - reference
        scale = math.sqrt(np.mean(reference**2)) or 1.0
        errors[layer.name] = math.sqrt(np.mean(error**2)) / scale
    return errors


def main(workloads: list[str]) -> None:
    print(f"{'workload':<14} {'layer':<20} {'codebook max |w|':>16} {'capped: rel. RMS':>17} {'eie-sim: rel. RMS':>18}")
    for name in workloads:
        network = load_workload(name)
        chosen = layer_errors(functional_model(network, BITS))
        with mock.patch.object(fixedpoint, "frac_bits_for", capped_frac_bits):
            capped = layer_errors(functional_model(network, BITS))
        for layer in network.layers:
            largest = float(np.max(np.abs(layer.codebook)))
            errors = f"{capped[layer.name]:>17.2e} {chosen[layer.name]:>18.2e}"
            print(f"{Path(name).stem:<14} {layer.name:<20} {largest:>16.4f} {errors}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["eie-paper", "squeezenet-dc"])
