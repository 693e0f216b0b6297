"""Which weights stay on chip when a network does not fit its PEs' SRAMs: the partial-residency rule (docs/memory.md).

The pointer SRAM and the sparse-matrix SRAM are two capacities, filled and spilled separately. A layer keeps, in
every PE, a column prefix of its pointers ([0, ptr_cols)) and one of its entries ([0, spmat_cols)); the rest streams
from DRAM every inference through the room the pinned weights leave free in each SRAM (the staging area), in as
many passes as that room takes, inputs that live in DRAM being read once per pass.

The rule, per independent network: a kind of weights that fits whole is pinned whole; for one that does not, a
share of its SRAM (1, 1/2, 1/4, 1/8 or 1/16) is kept for staging and the rest is filled greedily, each step pinning
the next 1/16 of a layer's columns, the rest of the layer, or the most of its columns that still fit, whichever
saves the most of the network's cycles per byte of SRAM, then the most DRAM bytes per byte (a knapsack by ratio).
The staging share trades pinned weights against passes over the inputs, both DRAM traffic: the one that leaves the
network the fewest DRAM bytes per inference (its DRAM energy), then the fewest cycles, wins. With a share of 1
nothing is pinned that does not fit whole, so the plan never moves more bytes than streaming every weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.compress.footprint import LayerFootprint
from eie_sim.support.arithmetic import ceil_div

STAGING_SHARES = (1.0, 0.5, 0.25, 0.125, 0.0625)
BLOCKS = 16  # a greedy step pins 1/BLOCKS of a layer's columns (or the rest, or what still fits)
KINDS = ("ptr", "spmat")


@dataclass(frozen=True)
class LayerDemand:
    """What the rule needs of a layer: its weights, its compute time and its activations that cross to DRAM."""

    footprint: LayerFootprint
    compute_cycles: int
    input_elems: int  # read from DRAM on every pass (0 when the input stays on chip)
    output_elems: int  # written to DRAM once (0 when the output stays on chip)


@dataclass(frozen=True)
class Pin:
    """Columns [0, ptr_cols) of a layer's pointers and [0, spmat_cols) of its entries stay in every PE."""

    ptr_cols: int
    spmat_cols: int

    def cols(self, kind: str) -> int:
        return self.ptr_cols if kind == "ptr" else self.spmat_cols

    def with_cols(self, kind: str, cols: int) -> Pin:
        return Pin(cols, self.spmat_cols) if kind == "ptr" else Pin(self.ptr_cols, cols)


@dataclass(frozen=True)
class Staging:
    """Bytes per PE of each SRAM left for the weights that stream (0 where nothing of that kind streams)."""

    ptr_bytes: int
    spmat_bytes: int


@dataclass(frozen=True)
class Placed:
    """One layer's weights under a pin: counts and bytes over all PEs (copies included), and what they cost."""

    pinned_pointers: int
    streamed_pointers: int
    pinned_words: int
    streamed_words: int
    ptr_pinned_bytes: int
    ptr_streamed_bytes: int
    spmat_pinned_bytes: int
    spmat_streamed_bytes: int
    passes: int  # passes over the layer's inputs: 1, or the pieces its streamed weights are cut into
    dram_weight_bytes: int  # streamed weights, one copy, read every inference
    dram_act_read_bytes: int
    dram_act_write_bytes: int
    dram_cycles: int  # the DRAM bytes at the DRAM's bandwidth
    cycles: int  # max(compute cycles, DRAM cycles): transfers overlap computation

    @property
    def placement(self) -> str:
        streamed = self.ptr_streamed_bytes + self.spmat_streamed_bytes
        if not streamed:
            return "resident"
        return "streamed" if not self.ptr_pinned_bytes + self.spmat_pinned_bytes else "partial"

    @property
    def dram_bytes(self) -> int:
        return self.dram_weight_bytes + self.dram_act_read_bytes + self.dram_act_write_bytes


def place(demand: LayerDemand, pin: Pin, staging: Staging, arch: ArchConfig) -> Placed:
    """The layer's weights and DRAM traffic with `pin` kept on chip and the rest streamed through `staging`."""
    fp = demand.footprint
    n_pes = fp.words.size
    pointers = fp.prefix_pointers(pin.ptr_cols)
    ptr_pinned = math.ceil(pointers * arch.ptr_bits / 8)
    ptr_streamed = fp.ptr_bytes(arch) - ptr_pinned  # per PE
    words = fp.prefix_words(pin.spmat_cols)
    spmat_streamed = (fp.words - words) * arch.spmat_width // 8  # per PE
    passes = max(1, _pieces(ptr_streamed, staging.ptr_bytes), _pieces(int(spmat_streamed.max()), staging.spmat_bytes))
    weight_bytes = (n_pes * ptr_streamed + int(spmat_streamed.sum())) // fp.copies
    act_in = math.ceil(demand.input_elems * passes * arch.act_bits / 8)
    act_out = math.ceil(demand.output_elems * arch.act_bits / 8)
    dram_cycles = math.ceil((weight_bytes + act_in + act_out) / (arch.dram_gbps * 1e3 / arch.clock_mhz))
    return Placed(
        pinned_pointers=n_pes * pointers,
        streamed_pointers=n_pes * (fp.pointers - pointers),
        pinned_words=int(words.sum()),
        streamed_words=int((fp.words - words).sum()),
        ptr_pinned_bytes=n_pes * ptr_pinned,
        ptr_streamed_bytes=n_pes * ptr_streamed,
        spmat_pinned_bytes=int(words.sum()) * arch.spmat_width // 8,
        spmat_streamed_bytes=int(spmat_streamed.sum()),
        passes=passes,
        dram_weight_bytes=weight_bytes,
        dram_act_read_bytes=act_in,
        dram_act_write_bytes=act_out,
        dram_cycles=dram_cycles,
        cycles=max(demand.compute_cycles, dram_cycles),
    )


def _pieces(streamed: int, room: int) -> int:
    if streamed <= 0:
        return 0
    assert room > 0, "weights stream only where the rule kept staging room"
    return ceil_div(streamed, room)


@dataclass(frozen=True)
class Capacity:
    """Per-PE weight storage in bytes (a pointer's 2**ptr_bits address range is reported by eie_sim.footprint,
    not enforced, as there)."""

    spmat_bytes: int
    ptr_bytes: int

    @classmethod
    def of(cls, arch: ArchConfig) -> Capacity:
        return cls(spmat_bytes=round(arch.spmat_kb * 1024), ptr_bytes=round(arch.ptr_kb * 1024))

    def bytes(self, kind: str) -> int:
        return self.ptr_bytes if kind == "ptr" else self.spmat_bytes


def pins(demands: Sequence[LayerDemand], arch: ArchConfig) -> tuple[tuple[Pin, ...], Staging]:
    """The pins of one independent network's layers and the staging room they leave (module docstring)."""
    capacity = Capacity.of(arch)
    whole = [Pin(d.footprint.cols, d.footprint.cols) for d in demands]
    over = [k for k in KINDS if _need(demands, whole, k, arch).max(initial=0) > capacity.bytes(k)]
    if not over:
        return tuple(whole), Staging(0, 0)
    best: tuple[tuple[int, int], tuple[Pin, ...], Staging] | None = None
    for share in STAGING_SHARES:
        room = {k: math.ceil(share * capacity.bytes(k)) if k in over else 0 for k in KINDS}
        staging = Staging(room["ptr"], room["spmat"])
        chosen = _Greedy(demands, arch, staging, capacity, over).run()
        placed = [place(d, p, staging, arch) for d, p in zip(demands, chosen)]
        score = (sum(p.dram_bytes for p in placed), sum(p.cycles for p in placed))
        if best is None or score < best[0]:
            best = (score, chosen, staging)
    assert best is not None
    return best[1], best[2]


def _need(demands: Sequence[LayerDemand], chosen: Sequence[Pin], kind: str, arch: ArchConfig) -> np.ndarray:
    """Bytes per PE that the pinned `kind` of weights take (an array over PEs for entries, one figure for pointers)."""
    if kind == "ptr":
        pointers = sum(math.ceil(d.footprint.prefix_pointers(p.ptr_cols) * arch.ptr_bits / 8)
                       for d, p in zip(demands, chosen))  # fmt: skip
        return np.array([pointers])
    words = [d.footprint.prefix_words(p.spmat_cols) for d, p in zip(demands, chosen)]
    return np.sum(words, axis=0) * arch.spmat_width // 8


class _Greedy:
    """One greedy fill for one staging room: pins column prefixes by savings per byte while they fit."""

    def __init__(
        self, demands: Sequence[LayerDemand], arch: ArchConfig, staging: Staging, capacity: Capacity, over: list[str]
    ) -> None:
        self.demands, self.arch, self.staging, self.over = demands, arch, staging, over
        self.budget = {k: capacity.bytes(k) - (staging.ptr_bytes if k == "ptr" else staging.spmat_bytes) for k in KINDS}
        self.chosen = [Pin(0 if "ptr" in over else d.footprint.cols, 0 if "spmat" in over else d.footprint.cols)
                       for d in demands]  # fmt: skip
        self.used = {k: _need(demands, self.chosen, k, arch) for k in over}
        self.known: dict[tuple[int, str, int], np.ndarray] = {}
        self.placed = [place(d, p, staging, arch) for d, p in zip(demands, self.chosen)]

    def bytes_at(self, i: int, kind: str, cols: int) -> np.ndarray:
        """Bytes per PE of layer i's `kind` of weights in columns [0, cols), remembered: the fill asks again and
        again."""
        key = (i, kind, cols)
        if key not in self.known:
            fp = self.demands[i].footprint
            if kind == "ptr":
                self.known[key] = np.array([math.ceil(fp.prefix_pointers(cols) * self.arch.ptr_bits / 8)])
            else:
                self.known[key] = fp.prefix_words(cols) * self.arch.spmat_width // 8
        return self.known[key]

    def fits(self, i: int, kind: str, cols: int) -> tuple[bool, np.ndarray]:
        extra = self.bytes_at(i, kind, cols) - self.bytes_at(i, kind, self.chosen[i].cols(kind))
        return bool(np.all(self.used[kind] + extra <= self.budget[kind])), extra

    def targets(self, i: int, kind: str) -> list[int]:
        """The column counts one step may pin to: the next block and the whole layer if they fit, else the most
        columns that do."""
        now, cols = self.chosen[i].cols(kind), self.demands[i].footprint.cols
        if now == cols:
            return []
        step = min(cols, now + max(1, ceil_div(cols, BLOCKS)))
        fitting = [c for c in dict.fromkeys((step, cols)) if self.fits(i, kind, c)[0]]
        if fitting:
            return fitting
        low, high = now, step  # the most columns that fit, by bisection: low fits, high does not
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if self.fits(i, kind, mid)[0] else (low, mid)
        return [low] if low > now else []

    def run(self) -> tuple[Pin, ...]:
        while True:
            best: tuple[tuple[float, float, int], int, str, int, np.ndarray, Placed] | None = None
            for i, demand in enumerate(self.demands):
                for kind in self.over:
                    for cols in self.targets(i, kind):
                        _, extra = self.fits(i, kind, cols)
                        placed = place(demand, self.chosen[i].with_cols(kind, cols), self.staging, self.arch)
                        key = _ratio(self.placed[i], placed, int(extra.max()), -i)
                        if best is None or key > best[0]:
                            best = (key, i, kind, cols, extra, placed)
            if best is None:
                return tuple(self.chosen)
            _, i, kind, cols, extra, placed = best
            self.chosen[i] = self.chosen[i].with_cols(kind, cols)
            self.used[kind] = self.used[kind] + extra
            self.placed[i] = placed


def _ratio(before: Placed, after: Placed, sram_bytes: int, order: int) -> tuple[float, float, int]:
    """(cycles saved, DRAM bytes saved) per byte of SRAM in the fullest PE, then network order; a step that takes
    no byte (columns without an entry in any PE) comes first."""
    if sram_bytes <= 0:
        return (math.inf, math.inf, order)
    return ((before.cycles - after.cycles) / sram_bytes, (before.dram_bytes - after.dram_bytes) / sram_bytes, order)
