"""Memory a workload and configuration need, estimated before anything large is allocated.

Where the memory goes: every layer's dense code matrix (a byte per weight, two for codes wider than 8 bits); the
float32 reference decoding one layer's weights at a time (4 bytes per weight); the EIE encoding, with a cell per
(output tile, PE, input column) slice in its pointer and per-slice arrays (with many PEs and a small register
file there are far more slices than weights) and its stored entries (non-zeros and fillers); per input vector,
the conv patches and broadcast order (a convolution has a vector per output position); and, while synthetic
weights are drawn, a sampling table per input column. The byte counts per unit are upper bounds fitted to the
measured peak resident memory of the fast engine (the simpy engine needs less memory, and much more time). Work
whose estimate exceeds the memory available now is refused at once, with advice, instead of dying with a
MemoryError (or at the hands of the kernel's OOM killer) in the middle.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.errors import InputError
from eie_sim.model.graph import network_shapes
from eie_sim.model.network import Network

GIB = 1 << 30
BASELINE = 256 << 20  # the interpreter with numpy, scipy and pandas loaded, plus the fast engine's bounded chunks
SLICE_KEPT = 24  # per slice, kept with each layer's encoding in the result (pointers, lengths, words, fillers)
SLICE_RUN = 40  # per slice, while a layer is encoded and run (counts, the engine's work arrays, output matrix)
SLICE_ENCODE = 24  # per slice, while `compress` encodes a layer (counts and pointers; nothing is kept)
ENTRY_KEPT = 16  # per stored entry, kept with the encoding (codes, indices, each entry's row and slice)
ENTRY_RUN = 40  # per stored entry, while the layer is encoded and multiplied
NONZERO_RUN = 100  # per non-zero weight, while the layer is encoded (coordinates, sorting keys)
VECTOR_CELL = 48  # per (input vector, column): im2col patches in float32 and int64, broadcast order
FLOAT_WEIGHT = 4  # per weight: the float32 reference decodes a layer's weights densely (before the layer runs)
TENSOR_VALUE = 12  # per activation: the float32 and int64 copies of every tensor kept in the result
DRAWN_NONZERO = 64  # per synthetic non-zero while it is drawn (positions, magnitudes, sharing)
DRAWN_COLUMN = 2560  # per input column of a synthetic layer: the column sampling table (256 slots of int64)
DRAWN_INPUT = 32  # per synthetic input value while it is drawn (a smooth image is summed from upsampled noise)

_ADVICE = {
    "slices": "use fewer PEs (--pes) or a larger rf_entries (--arch), which make fewer output tiles and column slices",
    "vectors": "use a smaller input (a smaller image, or fewer input vectors in the batch)",
    "weights": "the weights alone are too many for this machine: use a smaller or sparser network",
}


def available_bytes() -> int | None:
    """Memory available to a new allocation now: MemAvailable of /proc/meminfo, else free pages; None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class Need:
    """An estimate of the memory some work needs: bytes in all, where most of them go, and what would cut them."""

    bytes: int
    what: str
    advice: str

    def check(self, subject: str) -> None:
        """Raise InputError, naming `subject`, when the memory available now is smaller than the need."""
        available = available_bytes()
        if available is not None and self.bytes > available:
            raise InputError(
                f"{subject}: needs about {self.bytes / GIB:,.1f} GiB of memory ({self.what}), but "
                f"{available / GIB:,.1f} GiB is available; {self.advice}"
            )


@dataclass(frozen=True)
class LayerSize:
    """What a layer's memory depends on, known before it is generated or run."""

    name: str
    rows: int
    cols: int
    nnz: int
    vectors: int  # input vectors per network input (output positions of a convolution)
    code_bytes: int = 1

    @property
    def weights(self) -> int:
        return self.rows * self.cols

    def slices(self, arch: ArchConfig) -> int:
        """(output tile, PE, column) cells of the encoding: tiles of rf_entries local rows on every PE."""
        return math.ceil(math.ceil(self.rows / arch.n_pes) / arch.rf_entries) * arch.n_pes * self.cols

    def entries(self, arch: ArchConfig) -> int:
        """Stored entries at most: the non-zeros, and a filler per 2**index_bits zeros, at most a slice's worth."""
        tile_rows = min(arch.rf_entries, math.ceil(self.rows / arch.n_pes))
        per_slice = (tile_rows - 1) // (arch.max_gap + 1)
        return self.nnz + min((self.weights - self.nnz) // (arch.max_gap + 1), per_slice * self.slices(arch))


def network_sizes(network: Network, known: dict[str, tuple[int, ...]]) -> list[LayerSize]:
    """Every weighted layer's size, its input vectors taken from the tensor shapes `known`."""
    sizes = []
    for layer in network.layers:
        out = known[layer.output]
        vectors = math.prod(out[1:]) if layer.kind == "conv" else (out[0] if len(out) == 2 else 1)
        nnz = int(np.count_nonzero(layer.codes))
        sizes.append(LayerSize(layer.name, layer.rows, layer.cols, nnz, vectors, layer.codes.itemsize))
    return sizes


def run_need(network: Network, arch: ArchConfig) -> Need:
    """The memory a simulation of `network` on `arch` needs: what every layer keeps, plus the largest layer's work
    (its float32 reference, then its encoding and run)."""
    known = network_shapes(network)
    sizes = network_sizes(network, known)
    kept = BASELINE + TENSOR_VALUE * sum(math.prod(shape) for shape in known.values())
    kept += sum(s.code_bytes * s.weights + SLICE_KEPT * s.slices(arch) + ENTRY_KEPT * s.entries(arch) for s in sizes)
    work = {}
    for s in sizes:
        run = {
            "slices": SLICE_RUN * s.slices(arch),
            "vectors": VECTOR_CELL * s.vectors * s.cols,
            "weights": NONZERO_RUN * s.nnz + ENTRY_RUN * s.entries(arch),
        }
        work[s.name] = run if sum(run.values()) >= FLOAT_WEIGHT * s.weights else {"weights": FLOAT_WEIGHT * s.weights}
    return _need(sizes, arch, kept, work)


def encode_need(network: Network, arch: ArchConfig) -> Need:
    """The memory encoding every layer of `network` for `arch` needs (the compress command keeps no encoding)."""
    sizes = network_sizes(network, network_shapes(network))
    kept = BASELINE + sum(s.code_bytes * s.weights for s in sizes)
    work = {
        s.name: {"slices": SLICE_ENCODE * s.slices(arch), "weights": NONZERO_RUN * s.nnz + ENTRY_RUN * s.entries(arch)}
        for s in sizes
    }
    return _need(sizes, arch, kept, work)


def _need(sizes: list[LayerSize], arch: ArchConfig, kept: int, work: dict[str, dict[str, int]]) -> Need:
    """`kept` bytes plus the work of the layer that needs most; its largest part says where the memory goes."""
    if not sizes:
        return Need(kept, "no weighted layer", "")
    size = max(sizes, key=lambda s: sum(work[s.name].values()))
    parts = work[size.name]
    cause = max(parts, key=lambda part: parts[part])
    what = {
        "slices": f"layer {size.name}: {size.slices(arch):,} (tile, PE, column) slices of EIE format",
        "vectors": f"layer {size.name}: {size.vectors:,} input vectors of {size.cols:,} values",
        "weights": f"layer {size.name}: {size.rows:,} x {size.cols:,} weights",
    }[cause]
    return Need(kept + sum(parts.values()), what, _ADVICE[cause])


def check_run(network: Network, arch: ArchConfig) -> None:
    """Refuse a simulation of `network` on `arch` that would not fit in memory."""
    run_need(network, arch).check(_subject(network, arch))


def check_encode(network: Network, arch: ArchConfig) -> None:
    """Refuse an encoding of `network` for `arch` that would not fit in memory."""
    encode_need(network, arch).check(_subject(network, arch))


def _subject(network: Network, arch: ArchConfig) -> str:
    return f"network {network.name} on {arch.n_pes} PEs (rf_entries {arch.rf_entries})"


def dense_need(sizes: list[LayerSize], input_values: int = 0) -> Need:
    """The memory building layers needs: dense code matrices, the drawing of the largest synthetic layer (its
    non-zeros and column table; a layer read from a file is given with nnz 0: nothing is drawn), and the inputs."""
    codes = sum(s.code_bytes * s.weights for s in sizes)
    drawing = max((DRAWN_NONZERO * s.nnz + (DRAWN_COLUMN * s.cols if s.nnz else 0) for s in sizes), default=0)
    inputs = DRAWN_INPUT * input_values
    total = BASELINE + codes + drawing + inputs
    if inputs > codes + drawing:
        return Need(total, f"inputs of {input_values:,} values", _ADVICE["vectors"])
    largest = max(sizes, key=lambda s: s.weights)
    return Need(total, f"layer {largest.name}: {largest.rows:,} x {largest.cols:,} weights", _ADVICE["weights"])
