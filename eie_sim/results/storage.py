"""A StorageReport (eie-sim compress) as text: terminal tables with the fits-on-chip verdict, JSON or CSV."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from eie_sim.compress.footprint import StorageReport
from eie_sim.results.render import table

EIE_COLUMNS = [
    "name", "rows", "cols", "weight_density", "nnz", "fillers", "code_bits", "max_pe_entries",
    "max_over_mean_pe_entries", "spmat_max_pe_bytes", "spmat_total_bytes", "ptr_max_pe_bytes", "ptr_total_bytes",
    "ptr_range_ok",
]  # fmt: skip
DC_COLUMNS = [
    "name", "dc_entries", "dc_fillers", "dc_codes_bytes", "dc_codes_huffman_bytes", "dc_index_bytes",
    "dc_index_huffman_bytes", "dc_codebook_bytes", "dc_bias_bytes", "dc_total_bytes", "dc_huffman_total_bytes",
]  # fmt: skip


def render_footprint(footprint: StorageReport, fmt: str) -> str:
    """Text for `eie-sim compress`: JSON (one object), CSV (per-layer rows and a total row) or terminal tables."""
    if fmt == "json":
        return json.dumps(footprint.to_dict(), indent=2)
    frame = pd.concat([footprint.layers, pd.DataFrame([footprint.total])], ignore_index=True)
    if fmt == "csv":
        return frame.to_csv(index=False)
    arch, chip = footprint.arch, footprint.chip
    plain, huffman = (int(footprint.stored[c].iloc[-1]) for c in ("plain_bytes", "huffman_bytes"))
    return "\n".join(
        [
            table(
                frame[EIE_COLUMNS],
                f"EIE format of {footprint.workload} on {arch.n_pes} PEs ({arch.index_bits}-bit relative indices, "
                f"{arch.spmat_width}-bit sparse-matrix words, {arch.ptr_bits}-bit pointers)",
            ),
            verdict(chip),
            table(
                frame[DC_COLUMNS], f"Deep Compression stored size per layer ({arch.index_bits}-bit relative indices)"
            ),
            table(
                footprint.stored,
                f"Deep Compression stored size: {plain:,} bytes ({plain / 1024:,.1f} KiB); "
                f"with Huffman coding {huffman:,} bytes ({huffman / 1024:,.1f} KiB)",
            ),
        ]
    )


def verdict(chip: dict[str, Any]) -> str:
    """The fits-on-chip verdict and the pointer-range check, in words and bytes."""

    def usage(what: str, key: str) -> str:
        used, capacity, margin = (
            chip[f"{key}_max_pe_bytes"],
            chip[f"{key}_capacity_pe_bytes"],
            chip[f"{key}_margin_pe_bytes"],
        )
        spare = f"{margin:,} bytes spare" if margin >= 0 else f"{-margin:,} bytes over"
        return f"{what} {used:,} of {capacity:,} bytes ({chip[f'{key}_used_pct']:.1f}%, {spare})"

    lines = [
        f"Fits on chip: {'yes' if chip['fits_on_chip'] else 'NO'}. Largest PE, all layers together: "
        f"{usage('sparse-matrix SRAM', 'spmat')}; {usage('pointer SRAM', 'ptr')}.",
        f"Pointer range ({chip['ptr_range_entries']:,} entries per PE): each layer's largest PE "
        f"{'within it' if chip['ptr_range_ok_per_layer'] else 'EXCEEDS it for some layer (see ptr_range_ok)'}; "
        f"the whole network's largest PE holds {chip['max_pe_entries']:,} entries, "
        f"{'within it' if chip['ptr_range_ok_whole_network'] else 'beyond it'} with absolute pointers.",
    ]
    return "\n".join(lines) + "\n"
