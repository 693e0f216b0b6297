"""Where a compressed network's bytes go: EIE's on-chip SRAMs, per layer and per PE, and the Deep Compression file.

EIE format (Han et al., ISCA 2016, Section III-B and IV; eie_sim.compress.encode): a PE stores each layer's entries
(non-zeros and fillers) one after another in its sparse-matrix SRAM, `entries_per_word` to a `spmat_width`-bit
word, a layer starting on a fresh word; each (PE, output tile) is a CSC matrix with `cols + 1` pointers of
`ptr_bits` in the pointer SRAM. The network fits on chip when its largest PE's layers together fit both SRAMs
(`spmat_kb`, `ptr_kb` per PE). Separately, a pointer addresses at most 2**ptr_bits entries: with the published
16-bit pointers that is 64K entries, while the 128 KB SRAM holds 128K 8-bit entries (the EIE paper gives both:
an inconsistency); the check is reported per layer (pointers relative to the layer's first entry) and for the whole
network (absolute pointers), and does not enter the fits-on-chip verdict.

Deep Compression file (eie_sim.compress.huffman.stored_size): header, codes, relative indices, codebooks and
biases, with and without Huffman coding, next to a compressed file's own breakdown when the network came from one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import EncodedLayer, encode
from eie_sim.compress.huffman import stored_size
from eie_sim.model.network import Network
from eie_sim.model.ops import Layer
from eie_sim.results.render import to_jsonable
from eie_sim.support.arithmetic import ceil_div
from eie_sim.support.memory_budget import encode_need, network_sizes

PARTS = ("header", "codes", "indices", "codebooks", "biases")
_PLAIN = {"header": "dc_header_bytes", "codes": "dc_codes_bytes", "indices": "dc_index_bytes",
          "codebooks": "dc_codebook_bytes", "biases": "dc_bias_bytes"}  # fmt: skip
_HUFFMAN = {**_PLAIN, "codes": "dc_codes_huffman_bytes", "indices": "dc_index_huffman_bytes"}


@dataclass(frozen=True)
class LayerFootprint:
    """One layer's EIE-format weights in every PE of the chip: the one definition of its SRAM bytes."""

    words: np.ndarray  # (n_pes,) sparse-matrix SRAM words, PE by PE over the whole chip
    pointers: int  # pointers in every PE: cols + 1 per output tile
    copies: int  # PE groups holding a copy each (conv_mapping "positions"), else 1
    enc: EncodedLayer  # the encoding, to cut the layer at a column (prefix_words)

    @classmethod
    def of(cls, enc: EncodedLayer, groups: int = 1) -> LayerFootprint:
        words = ceil_div(enc.pe_entries, enc.entries_per_word)
        return cls(words=np.tile(words, groups), pointers=enc.n_tiles * (enc.cols + 1), copies=groups, enc=enc)

    @property
    def cols(self) -> int:
        return self.enc.cols

    def prefix_pointers(self, cols: int) -> int:
        """Pointers in every PE of columns [0, cols), each tile's p[0..cols] (all of them at the last column)."""
        return self.enc.n_tiles * (cols + 1) if cols else 0

    def prefix_words(self, cols: int) -> np.ndarray:
        """(n_pes,) sparse-matrix words of columns [0, cols), every tile's, PE by PE over the whole chip: a layer
        kept on chip in part keeps a column prefix (all of its words at the last column)."""
        entries = self.enc.entries_before[cols]
        return np.tile(ceil_div(entries, self.enc.entries_per_word), self.copies)

    def spmat_bytes(self, arch: ArchConfig) -> np.ndarray:
        return self.words * arch.spmat_width // 8

    def ptr_bytes(self, arch: ArchConfig) -> int:
        return math.ceil(self.pointers * arch.ptr_bits / 8)

    def chip_bytes(self, arch: ArchConfig) -> int:
        """Bytes in all PEs' SRAMs, copies included."""
        return int(self.spmat_bytes(arch).sum()) + self.words.size * self.ptr_bytes(arch)

    def dram_bytes(self, arch: ArchConfig) -> int:
        """Bytes of one copy: what a load reads from DRAM (the copies are written from the same read)."""
        return self.chip_bytes(arch) // self.copies


@dataclass(frozen=True, eq=False)
class StorageReport:
    """A network's storage on one EIE configuration: per layer, per PE and layer, whole chip, Deep Compression file."""

    workload: str
    arch: ArchConfig
    layers: pd.DataFrame  # one row per layer: EIE columns, then Deep Compression (dc_) columns
    total: dict[str, Any]  # the same columns for the whole network (per-PE figures: the PE's layers together)
    pes: pd.DataFrame  # one row per (layer, PE)
    chip: dict[str, Any]  # the whole network against the per-PE capacities
    stored: pd.DataFrame  # Deep Compression size by part (rows), plain and Huffman-coded (and the file's own)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(
            {
                "workload": self.workload,
                "arch": self.arch.to_dict(),
                "layers": self.layers.to_dict(orient="records"),
                "total": self.total,
                "chip": self.chip,
                "stored_size": self.stored.to_dict(orient="records"),
            }
        )


def layer_footprint(layer: Layer, arch: ArchConfig) -> tuple[dict[str, Any], pd.DataFrame]:
    """(row of per-layer figures, per-PE frame) of one layer encoded for `arch`."""
    enc = encode(layer, arch)
    entries = enc.pe_entries
    zeros_before = np.concatenate([[0], np.cumsum(enc.codes == 0)])
    fillers = zeros_before[enc.pe_start[1:]] - zeros_before[enc.pe_start[:-1]]
    footprint = LayerFootprint.of(enc)
    spmat, ptr = footprint.spmat_bytes(arch), footprint.ptr_bytes(arch)
    pes = pd.DataFrame(
        {
            "layer": layer.name,
            "pe": np.arange(arch.n_pes),
            "entries": entries,
            "fillers": fillers,
            "spmat_bytes": spmat,
            "ptr_bytes": ptr,
        }
    )
    row: dict[str, Any] = {
        "name": layer.name,
        "kind": layer.kind,
        "rows": layer.rows,
        "cols": layer.cols,
        "weight_density": layer.density,
        "nnz": layer.nnz,
        "fillers": enc.n_fillers,
        "entries": enc.n_entries,
        "code_bits": enc.code_bits,
        "entry_bits": enc.entry_bits,
        "tiles": enc.n_tiles,
        "max_pe_entries": int(entries.max()),
        "max_over_mean_pe_entries": float(entries.max() / entries.mean()) if entries.any() else 1.0,
        "spmat_total_bytes": int(spmat.sum()),
        "spmat_max_pe_bytes": int(spmat.max()),
        "ptr_total_bytes": ptr * arch.n_pes,
        "ptr_max_pe_bytes": ptr,
        "ptr_range_ok": bool(entries.max() <= 1 << arch.ptr_bits),
    }
    dc = stored_size(layer, arch.index_bits)
    row.update(dc)
    row["dc_total_bytes"] = sum(dc[column] for column in _PLAIN.values())
    row["dc_huffman_total_bytes"] = sum(dc[column] for column in _HUFFMAN.values())
    return row, pes


def network_footprint(network: Network, arch: ArchConfig) -> StorageReport:
    """Every layer's footprint, the whole-chip verdict and the Deep Compression size of `network` on `arch`."""
    subject = f"network {network.name} on {arch.n_pes} PEs (rf_entries {arch.rf_entries})"
    encode_need(network_sizes(network), arch.n_pes, arch.rf_entries, arch.max_gap).check(subject)
    rows, pe_frames = [], []
    for layer in network.layers:
        row, pes = layer_footprint(layer, arch)
        rows.append(row)
        pe_frames.append(pes)
    layers = pd.DataFrame(rows)
    pes = pd.concat(pe_frames, ignore_index=True)
    return StorageReport(
        workload=network.name,
        arch=arch,
        layers=layers,
        total=total_row(layers, pes),
        pes=pes,
        chip=chip_verdict(pes, layers, arch),
        stored=stored_table(layers, network.stored_bytes),
    )


def total_row(layers: pd.DataFrame, pes: pd.DataFrame) -> dict[str, Any]:
    """The layer columns for the whole network: sums, and per-PE figures of each PE's layers together."""
    per_pe = pes.groupby("pe")[["entries", "spmat_bytes", "ptr_bytes"]].sum()
    summed = [c for c in layers.columns if c not in ("name", "kind", "weight_density", "code_bits", "entry_bits")]
    total: dict[str, Any] = {"name": "total", "kind": "", **{c: layers[c].sum() for c in summed}}
    weights = int((layers["rows"] * layers["cols"]).sum())
    total.update(
        rows=int(layers["rows"].sum()),
        cols=int(layers["cols"].sum()),
        weight_density=int(layers["nnz"].sum()) / max(weights, 1),
        code_bits=int(layers["code_bits"].max()),
        entry_bits=int(layers["entry_bits"].max()),
        max_pe_entries=int(per_pe["entries"].max()),
        max_over_mean_pe_entries=float(per_pe["entries"].max() / max(per_pe["entries"].mean(), 1e-12)),
        spmat_max_pe_bytes=int(per_pe["spmat_bytes"].max()),
        ptr_max_pe_bytes=int(per_pe["ptr_bytes"].max()),
        ptr_range_ok=bool(layers["ptr_range_ok"].all()),
    )
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in total.items()}


def chip_verdict(pes: pd.DataFrame, layers: pd.DataFrame, arch: ArchConfig) -> dict[str, Any]:
    """The whole network in the largest PE against the per-PE SRAM capacities, with the margins left (or missing)."""
    per_pe = pes.groupby("pe")[["entries", "spmat_bytes", "ptr_bytes"]].sum()
    spmat_capacity, ptr_capacity = round(arch.spmat_kb * 1024), round(arch.ptr_kb * 1024)
    spmat_max, ptr_max = int(per_pe["spmat_bytes"].max()), int(per_pe["ptr_bytes"].max())
    max_entries = int(per_pe["entries"].max())
    return {
        "fits_on_chip": spmat_max <= spmat_capacity and ptr_max <= ptr_capacity,
        "spmat_capacity_pe_bytes": spmat_capacity,
        "spmat_max_pe_bytes": spmat_max,
        "spmat_margin_pe_bytes": spmat_capacity - spmat_max,
        "spmat_used_pct": 100.0 * spmat_max / spmat_capacity,
        "ptr_capacity_pe_bytes": ptr_capacity,
        "ptr_max_pe_bytes": ptr_max,
        "ptr_margin_pe_bytes": ptr_capacity - ptr_max,
        "ptr_used_pct": 100.0 * ptr_max / ptr_capacity,
        "ptr_range_entries": 1 << arch.ptr_bits,
        "max_pe_entries": max_entries,
        "ptr_range_ok_per_layer": bool(layers["ptr_range_ok"].all()),
        "ptr_range_ok_whole_network": max_entries <= 1 << arch.ptr_bits,
        "spmat_total_bytes": int(per_pe["spmat_bytes"].sum()),
        "ptr_total_bytes": int(per_pe["ptr_bytes"].sum()),
    }


def stored_table(layers: pd.DataFrame, file_bytes: dict[str, int]) -> pd.DataFrame:
    """Deep Compression size by part, plain and with Huffman coding; a compressed file's own figures beside."""
    frame = pd.DataFrame(
        {
            "part": [*PARTS, "total"],
            "plain_bytes": [int(layers[_PLAIN[p]].sum()) for p in PARTS] + [int(layers["dc_total_bytes"].sum())],
            "huffman_bytes": [int(layers[_HUFFMAN[p]].sum()) for p in PARTS]
            + [int(layers["dc_huffman_total_bytes"].sum())],
        }
    )
    if file_bytes:
        frame["file_bytes"] = [int(file_bytes.get(p, 0)) for p in PARTS] + [int(sum(file_bytes.values()))]
    return frame
