"""Memory a piece of work needs, estimated from declared sizes before anything large is read or allocated.

Work whose estimate exceeds the memory limit is refused at once with advice, instead of dying with a MemoryError or
at the hands of the kernel's OOM killer half-way. The limit is a property of the machine, not of the moment: its
physical memory (or the cgroup's limit, if lower), or EIE_SIM_MEMORY_LIMIT (e.g. "8G") when set, so the same run
on the same machine is accepted or refused the same way every time. Parallel work multiplies the need by the
number of workers. The byte counts per unit are upper bounds of measured peaks (tests/test_memory_budget.py).

Where the memory goes: a layer keeps its non-zeros (position and code: SparseCodes) and, once encoded, its EIE
entries and a cell per (output tile, PE, input column) slice in its pointers and per-slice arrays (with many PEs
and small register files there are far more slices than weights); a network keeps its float32 and fixed-point
tensors and each layer's fixed-point input vectors (a convolution has a vector per output position); drawing
synthetic weights and reading files need transient space per non-zero or per stored byte.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eie_sim.errors import InputError

GIB = 1 << 30
BASELINE = 256 << 20  # the interpreter with numpy, scipy, pandas and the compiled kernels loaded (222 MiB measured)
NONZERO_KEPT = 8  # per non-zero weight kept in a layer (row index, code, and room for a copy)
NONZERO_WORK = 64  # per non-zero while it is drawn, decoded, shared or encoded (coordinates, sort keys, values)
DENSE_WEIGHT = 24  # per weight of a dense float array a reader is given (the array, its mask, its indices)
SLICE_KEPT = 28  # per (tile, PE, column) slice of an encoding (lengths, first and last words, entries before, pointers)
SLICE_WORK = 40  # per slice while a layer is encoded and run
ENTRY_KEPT = 16  # per stored EIE entry (codes, indices, rows, columns)
TENSOR_VALUE = 8  # per activation: float32 and fixed-point copies of every tensor
VECTOR_VALUE = 12  # per (input vector, column) of a layer: fixed-point inputs kept, and their float32/64 copies
DENSE_PRODUCT = 16  # per weight of a layer multiplied as a dense matrix (float64 and float32 copies)
FILE_BYTE = 3  # per byte of a weight file read whole (its bytes and what is decoded from them)

_ADVICE = {
    "slices": "use fewer PEs (--pes) or a larger rf_entries (--arch), which make fewer output tiles and column slices",
    "vectors": "use a smaller input (a smaller image, or fewer input vectors in the batch)",
    "weights": "use a smaller or sparser network",
    "jobs": "use fewer parallel jobs (--jobs)",
}


def _parse_bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    try:
        return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(float(text))
    except (ValueError, IndexError):
        raise InputError(f"EIE_SIM_MEMORY_LIMIT: {text!r} is not a size (e.g. 8G, 512M or a number of bytes)") from None


def _cgroup_limit() -> int | None:
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def memory_limit() -> int:
    """Bytes the simulator may use: EIE_SIM_MEMORY_LIMIT, else the machine's memory (or its cgroup's)."""
    if os.environ.get("EIE_SIM_MEMORY_LIMIT"):
        return _parse_bytes(os.environ["EIE_SIM_MEMORY_LIMIT"])
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    cgroup = _cgroup_limit()
    return min(physical, cgroup) if cgroup else physical


@dataclass(frozen=True)
class Need:
    """An estimate of the memory some work needs: bytes in all, where most of them go, and what would cut them."""

    bytes: int
    what: str
    advice: str

    def times(self, workers: int) -> Need:
        """The need of `workers` copies of the work running at once (parallel sweep workers)."""
        if workers <= 1:
            return self
        return Need(self.bytes * workers, f"{workers} workers, each {self.what}", _ADVICE["jobs"])

    def check(self, subject: str) -> None:
        """Raise InputError, naming `subject`, when the need exceeds the memory limit."""
        limit = memory_limit()
        if self.bytes > limit:
            raise InputError(
                f"{subject}: needs about {self.bytes / GIB:,.1f} GiB of memory ({self.what}), but "
                f"{limit / GIB:,.1f} GiB is available (EIE_SIM_MEMORY_LIMIT or the machine's memory); {self.advice}"
            )


@dataclass(frozen=True)
class LayerSize:
    """What a layer's memory depends on, known before its weights are read or drawn."""

    name: str
    rows: int
    cols: int
    nnz: int  # non-zeros (an upper bound when only the file's size is known)
    vectors: int = 1  # input vectors per network input (output positions of a convolution)

    def slices(self, n_pes: int, rf_entries: int) -> int:
        """(output tile, PE, column) cells of the encoding: tiles of rf_entries local rows on every PE."""
        return math.ceil(math.ceil(self.rows / n_pes) / rf_entries) * n_pes * self.cols

    def entries(self, n_pes: int, rf_entries: int, max_gap: int) -> int:
        """Stored entries at most: the non-zeros, and a filler per max_gap + 1 zeros, at most a slice's worth."""
        tile_rows = min(rf_entries, math.ceil(self.rows / n_pes))
        per_slice = (tile_rows - 1) // (max_gap + 1)
        zeros = self.rows * self.cols - self.nnz
        return self.nnz + min(zeros // (max_gap + 1), per_slice * self.slices(n_pes, rf_entries))


def _largest(parts: Iterable[tuple[str, str, int]]) -> tuple[str, str, int]:
    return max(parts, key=lambda part: part[2], default=("", "weights", 0))


def build_need(sizes: list[LayerSize], dense_weights: int = 0, file_bytes: int = 0, inputs: int = 0) -> Need:
    """Building a network: every layer's non-zeros kept, the largest layer's transient work, dense float weights a
    reader is handed (ONNX, plain .npz), files read whole, and the input values; the largest of these is named."""
    layer, _, work = _largest(
        (f"layer {s.name}: {s.rows:,} x {s.cols:,} weights", "weights", NONZERO_WORK * s.nnz) for s in sizes
    )
    parts = [
        (
            layer or f"{dense_weights:,} weights",
            "weights",
            NONZERO_KEPT * sum(s.nnz for s in sizes) + work + DENSE_WEIGHT * dense_weights,
        ),
        (f"inputs of {inputs:,} values", "vectors", TENSOR_VALUE * inputs),
        (f"{file_bytes:,} bytes of file contents", "weights", FILE_BYTE * file_bytes),
    ]
    what, cause, _ = _largest(parts)
    return Need(BASELINE + sum(part[2] for part in parts), what, _ADVICE[cause])


def _vectors(s: LayerSize) -> tuple[str, str, int]:
    return (
        f"layer {s.name}: {s.vectors:,} input vectors of {s.cols:,} values",
        "vectors",
        VECTOR_VALUE * s.vectors * s.cols,
    )


def network_need(sizes: list[LayerSize], tensor_values: int) -> Need:
    """Holding a network ready to run on any architecture: every layer's non-zeros, every tensor and every layer's
    input vectors. Every simulation needs this and more (run_need), so a network whose declared shapes alone exceed
    the limit is refused before its weights are compressed or its input is drawn."""
    parts = [
        (f"{sum(s.nnz for s in sizes):,} non-zero weights", "weights", NONZERO_KEPT * sum(s.nnz for s in sizes)),
        (f"tensors of {tensor_values:,} values", "vectors", TENSOR_VALUE * tensor_values),
        *(_vectors(s) for s in sizes),
    ]
    what, cause, _ = _largest(parts)
    return Need(BASELINE + sum(part[2] for part in parts), what, _ADVICE[cause])


def run_need(sizes: list[LayerSize], tensor_values: int, n_pes: int, rf_entries: int, max_gap: int) -> Need:
    """Simulating a network: what every layer keeps (non-zeros, encoding, input vectors) and every tensor, plus the
    largest layer's work (encoding and engine, or a dense product)."""
    kept = network_need(sizes, tensor_values).bytes
    parts = []
    for s in sizes:
        slices, entries = s.slices(n_pes, rf_entries), s.entries(n_pes, rf_entries, max_gap)
        kept += SLICE_KEPT * slices + ENTRY_KEPT * entries
        parts += [
            (f"layer {s.name}: {slices:,} (tile, PE, column) slices of EIE format", "slices", SLICE_WORK * slices),
            _vectors(s),
            (
                f"layer {s.name}: {s.rows:,} x {s.cols:,} weights",
                "weights",
                NONZERO_WORK * s.nnz + DENSE_PRODUCT * min(s.rows * s.cols, 1 << 22),
            ),
        ]
    what, cause, work = _largest(parts)
    return Need(kept + work, what, _ADVICE[cause])


def encode_need(sizes: list[LayerSize], n_pes: int, rf_entries: int, max_gap: int) -> Need:
    """Encoding every layer in turn (the compress command keeps no encoding): the largest layer's encoding."""
    kept = BASELINE + NONZERO_KEPT * sum(s.nnz for s in sizes)
    parts = [
        (
            f"layer {s.name}: {s.slices(n_pes, rf_entries):,} (tile, PE, column) slices of EIE format",
            "slices",
            SLICE_WORK * s.slices(n_pes, rf_entries)
            + ENTRY_KEPT * s.entries(n_pes, rf_entries, max_gap)
            + NONZERO_WORK * s.nnz,
        )
        for s in sizes
    ]
    what, cause, work = _largest(parts)
    return Need(kept + work, what, _ADVICE[cause])


def network_sizes(network: Any) -> list[LayerSize]:
    """Every weighted layer of a model.network.Network as a LayerSize (its vectors from the tensor shapes)."""
    sizes = []
    for layer in network.layers:
        out = network.shapes[layer.output]
        vectors = math.prod(out[1:]) if layer.kind == "conv" else (out[0] if len(out) == 2 else 1)
        sizes.append(LayerSize(layer.name, layer.rows, layer.cols, layer.nnz, vectors))
    return sizes
