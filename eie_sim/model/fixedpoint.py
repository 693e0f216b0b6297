"""The fixed-point arithmetic of EIE, defined once and used by both engines and by the numpy reference.

Activations and codebook values are `bits`-bit two's-complement numbers with a per-tensor number of fractional
bits (dynamic fixed point). Products are accumulated exactly in a wide accumulator (int64 here; a layer would need
more than 2**31 maximal products to overflow it). The activation write unit then rounds the accumulator to the
output format (round half up, i.e. add half an LSB and shift right arithmetically), saturates to `bits` bits and
applies ReLU where the layer has one.
"""

from __future__ import annotations

import math

import numpy as np

ACC_DTYPE = np.int64


def qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def saturate(values: np.ndarray, bits: int) -> np.ndarray:
    """Clamp integers to the signed `bits`-bit range."""
    return np.clip(values, -qmax(bits) - 1, qmax(bits))


MAX_FRAC_BITS = 500  # keeps 2**frac, and an accumulator's 2**(frac + frac), finite in float64


def frac_bits_for(max_abs: float, bits: int) -> int:
    """The most fractional bits that still represent +-max_abs without saturating: more than `bits` - 1 for
    values below 1/2 (a codebook whose largest value is 0.06 keeps all 16 bits), negative for large ones."""
    if not np.isfinite(max_abs) or max_abs <= 0:
        return bits - 1
    return min(MAX_FRAC_BITS, math.floor(math.log2(qmax(bits)) - math.log2(max_abs)))  # no overflow for subnormals


def to_fixed(values: np.ndarray, frac_bits: int, bits: int) -> np.ndarray:
    """Round floats to the nearest representable value (ties to even) and saturate; returns int64."""
    scaled = np.multiply(values, 2.0**frac_bits, dtype=np.float64)  # one float64 array, rounded and clamped in place
    np.rint(scaled, out=scaled)
    np.clip(scaled, -qmax(bits) - 1, qmax(bits), out=scaled)
    return scaled.astype(ACC_DTYPE)


def to_float(values: np.ndarray, frac_bits: int) -> np.ndarray:
    return np.asarray(values, dtype=np.float64) * 2.0**-frac_bits


def round_shift(acc: np.ndarray, shift: int) -> np.ndarray:
    """Divide by 2**shift rounding half up (shift > 0), or multiply (shift <= 0); exact integer arithmetic.

    floor((acc + 2**(shift-1)) / 2**shift) is computed as floor((floor(acc / 2**(shift-1)) + 1) / 2), which is the
    same number and cannot overflow, whatever the shift (a concatenation's shared format can make it exceed 63).
    """
    acc = np.asarray(acc, dtype=ACC_DTYPE)
    if shift <= 0:
        return acc << -shift
    return ((acc >> (shift - 1)) + 1) >> 1


def bias_to_acc(bias: np.ndarray | None, acc_frac_bits: int, rows: int) -> np.ndarray:
    """The bias in accumulator format: the accumulator starts from it (rounded, not saturated: it is wide)."""
    if bias is None:
        return np.zeros(rows, dtype=ACC_DTYPE)
    return np.rint(np.asarray(bias, dtype=np.float64) * 2.0**acc_frac_bits).astype(ACC_DTYPE)


def finish(acc: np.ndarray, shift: int, bits: int, relu: bool) -> np.ndarray:
    """Accumulator -> output activation: round, saturate, ReLU. The one place outputs are formed.

    A left shift (shift < 0) saturates any non-zero value once it is `bits` places or more, and a value already
    beyond `bits` bits stays beyond: saturating first and shifting at most `bits` places gives the same result
    without overflowing int64.
    """
    if shift < 0:
        acc, shift = saturate(np.asarray(acc, dtype=ACC_DTYPE), bits), max(shift, -bits)
    out = saturate(round_shift(acc, shift), bits)
    return np.maximum(out, 0) if relu else out


def average(total: np.ndarray, count: int | np.ndarray) -> np.ndarray:
    """Integer mean rounded half up, as a pooling unit with a divider would compute it."""
    total = np.asarray(total, dtype=ACC_DTYPE)
    return np.floor_divide(2 * total + count, 2 * count)
