"""EIE-format footprint per layer and PE, the fits-on-chip verdict, and the Deep Compression stored size."""

from __future__ import annotations

import numpy as np
import pytest

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import encode
from eie_sim.compress.footprint import layer_footprint, network_footprint
from eie_sim.formats.workloads import load_workload
from eie_sim.model.network import fc_chain
from eie_sim.model.ops import Layer
from eie_sim.results.storage import render_footprint


def _layer(codes: np.ndarray, name: str = "fc") -> Layer:
    return Layer.from_codes(
        name,
        "fc",
        np.asarray(codes, dtype=np.uint8),
        np.arange(16, dtype=np.float64),
        bias=np.zeros(len(codes), dtype=np.float32),
    )


def test_layer_by_hand() -> None:
    codes = np.zeros((8, 3), dtype=np.uint8)
    codes[0, :] = 1  # PE 0: three entries
    codes[[1, 3, 5, 7], 0] = 2  # PE 1: four entries in column 0
    codes[7, 1:] = 3  # PE 1: two more
    row, pes = layer_footprint(_layer(codes), ArchConfig(n_pes=2))
    np.testing.assert_array_equal(pes["entries"], [3, 6])
    np.testing.assert_array_equal(pes["spmat_bytes"], [8, 8])  # 8-bit entries, 8 to a 64-bit word
    np.testing.assert_array_equal(pes["ptr_bytes"], [(3 + 1) * 2] * 2)  # one tile: cols + 1 pointers of 16 bits
    assert row["nnz"] == 9 and row["fillers"] == 0 and row["max_pe_entries"] == 6
    assert row["max_over_mean_pe_entries"] == pytest.approx(6 / 4.5)
    assert row["spmat_total_bytes"] == 16 and row["ptr_total_bytes"] == 16 and row["ptr_range_ok"]


def test_tiles_fillers_and_words() -> None:
    rng = np.random.default_rng(2)
    codes = np.where(rng.random((300, 20)) < 0.03, 5, 0).astype(np.uint8)
    arch = ArchConfig(n_pes=2, rf_entries=64, spmat_width=64, weight_bits=4, index_bits=4)
    row, pes = layer_footprint(_layer(codes), arch)
    enc = encode(_layer(codes), arch)
    assert row["tiles"] == 3 and row["fillers"] == enc.n_fillers == pes["fillers"].sum()
    np.testing.assert_array_equal(pes["entries"], enc.pe_entries)
    np.testing.assert_array_equal(pes["spmat_bytes"], -(-enc.pe_entries // 8) * 8)
    assert row["ptr_max_pe_bytes"] == 3 * (20 + 1) * 2


def test_pointer_range_and_capacity_checks() -> None:
    codes = np.ones((40, 2), dtype=np.uint8)  # 80 entries on one PE
    network = fc_chain("net", [_layer(codes, "a"), _layer(np.eye(5, 40), "b")], np.ones(2))
    tight = network_footprint(network, ArchConfig(n_pes=1, ptr_bits=6, rf_entries=4096, spmat_kb=0.05))
    assert list(tight.layers["ptr_range_ok"]) == [False, True]
    chip = tight.chip
    assert not chip["ptr_range_ok_per_layer"] and not chip["ptr_range_ok_whole_network"]
    assert chip["max_pe_entries"] == 80 + 5 and chip["ptr_range_entries"] == 64
    assert not chip["fits_on_chip"] and chip["spmat_margin_pe_bytes"] == round(0.05 * 1024) - chip["spmat_max_pe_bytes"]
    text = render_footprint(tight, "table")
    assert "Fits on chip: NO" in text and "bytes over" in text and "EXCEEDS" in text
    roomy = network_footprint(network, ArchConfig(n_pes=1, rf_entries=4096))
    assert roomy.chip["fits_on_chip"] and roomy.chip["ptr_range_ok_whole_network"]
    assert (
        roomy.total["spmat_max_pe_bytes"]
        == roomy.chip["spmat_max_pe_bytes"]
        == roomy.layers["spmat_max_pe_bytes"].sum()
    )
    assert len(roomy.pes) == 2


def test_squeezenet_stored_size_and_fit() -> None:
    """SqueezeNet paper: Deep Compression to 6 bits gives 0.47 MB; the synthetic model lands within 20%."""
    footprint = network_footprint(load_workload("squeezenet"), ArchConfig())
    stored = footprint.stored.set_index("part")
    for column in ("plain_bytes", "huffman_bytes"):
        assert stored.loc["total", column] == pytest.approx(470_000, rel=0.2)
        assert stored.loc["total", column] == stored[column].drop("total").sum()
    assert (stored["huffman_bytes"] <= stored["plain_bytes"]).all()
    assert footprint.chip["fits_on_chip"] and footprint.chip["ptr_range_ok_per_layer"]
    assert footprint.total["nnz"] == sum(layer.nnz for layer in load_workload("squeezenet").layers)


def test_real_squeezenet_stored_size_equals_the_file(real_model) -> None:
    network = load_workload(str(real_model.net))
    footprint = network_footprint(network, ArchConfig())
    stored = footprint.stored.set_index("part")
    np.testing.assert_array_equal(stored["plain_bytes"], stored["file_bytes"])
    assert stored.loc["total", "plain_bytes"] == real_model.net.stat().st_size == 675_763
    assert footprint.layers["dc_fillers"].sum() == sum(network.fillers.values())
