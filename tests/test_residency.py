"""Partial residency: what fits stays pinned, the rest streams; pointers and entries spill separately."""

from __future__ import annotations

import numpy as np
import pytest
from test_memory import ARCH, chain, fc

from eie_sim.compress.encode import encode
from eie_sim.compress.footprint import LayerFootprint
from eie_sim.costs.residency import Capacity, LayerDemand, pins
from eie_sim.model.network import fc_chain
from eie_sim.studies.simulate import simulate


def test_a_network_that_fits_is_unchanged() -> None:
    """The figures of a network that fits, as the model gave them before partial residency."""
    result = simulate(chain((48, 40), (24, 48)), ARCH)
    layers, total = result.layers, result.total
    assert list(layers["placement"]) == ["resident", "resident"] and list(layers["weight_chunks"]) == [1, 1]
    assert (layers["ptr_streamed_bytes"] == 0).all() and (layers["spmat_streamed_bytes"] == 0).all()
    assert total["cycles"] == 218 and total["dram_read_bytes"] == 80 and total["dram_write_bytes"] == 48
    assert total["sram_write_bytes"] == 80 and total["one_time_load_dram_bytes"] == 1656
    assert total["energy_total_pj"] == pytest.approx(18112.67831077931, rel=1e-12)
    assert total["one_time_load_pj"] == pytest.approx(108507.02488934595, rel=1e-12)
    assert list(layers["energy_total_pj"]) == pytest.approx([12030.175610437946, 6082.502700341363], rel=1e-12)


def test_a_layer_whose_pointers_overflow_streams_only_what_does_not_fit() -> None:
    layer = fc("wide", 64, 600, 0.05, 4)  # its input comes from the layer before, on chip: no re-read per pass
    network = fc_chain("wide", [fc("first", 600, 40, 0.1, 3), layer], np.ones(40, dtype=np.float32))
    arch = ARCH.replace(ptr_kb=0.5, rf_entries=160)  # 512 B per PE against 601 + 41 pointers (1,284 B), one tile
    fp = LayerFootprint.of(encode(layer, arch))
    assert fp.ptr_bytes(arch) > 512
    result = simulate(network, arch)
    row, traffic = result.layers.iloc[1], result.memory.layers[1]
    assert row["placement"] == "partial"
    assert row["spmat_streamed_bytes"] == 0  # the entries fit: all of them stay
    assert 0 < row["ptr_pinned_bytes"] <= arch.n_pes * 512
    assert row["ptr_streamed_bytes"] == arch.n_pes * fp.ptr_bytes(arch) - row["ptr_pinned_bytes"]
    assert row["dram_weight_bytes"] == row["ptr_streamed_bytes"] < row["weight_bytes"] / 2
    assert traffic.access.ptr_writes == traffic.weights.streamed_pointers > 0
    assert traffic.access.spmat_writes == 0


def test_pinning_saves_the_most_dram_time_per_byte_first() -> None:
    """Two layers of the same weights, room for about one: the DRAM-bound one is pinned, wherever it stands."""
    enc = encode(fc("same", 48, 200, 0.2, 5), ARCH)
    fp = LayerFootprint.of(enc)
    arch = ARCH.replace(ptr_kb=1.5 * fp.ptr_bytes(ARCH) / 1024)
    compute_bound = LayerDemand(fp, compute_cycles=10**9, input_elems=0, output_elems=0)
    dram_bound = LayerDemand(fp, compute_cycles=0, input_elems=0, output_elems=0)
    chosen, staging = pins([compute_bound, dram_bound], arch)
    assert staging.ptr_bytes > 0 and staging.spmat_bytes == 0  # only the pointers overflow
    assert chosen[1].ptr_cols == enc.cols and chosen[0].ptr_cols < enc.cols
    assert chosen[0].spmat_cols == chosen[1].spmat_cols == enc.cols
    # equal savings per byte: network order decides
    chosen, _ = pins([dram_bound, dram_bound], arch)
    assert chosen[0].ptr_cols == enc.cols > chosen[1].ptr_cols


def test_the_pinned_weights_fit_their_srams() -> None:
    enc = encode(fc("same", 48, 200, 0.2, 5), ARCH)
    fp = LayerFootprint.of(enc)
    arch = ARCH.replace(ptr_kb=1.5 * fp.ptr_bytes(ARCH) / 1024, spmat_kb=1.2 * int(fp.spmat_bytes(ARCH).max()) / 1024)
    demands = [LayerDemand(fp, compute_cycles=c, input_elems=40, output_elems=0) for c in (0, 100, 10**6)]
    chosen, staging = pins(demands, arch)
    capacity = Capacity.of(arch)
    pointers = sum(np.ceil(fp.prefix_pointers(p.ptr_cols) * arch.ptr_bits / 8) for p in chosen)
    words = np.sum([fp.prefix_words(p.spmat_cols) for p in chosen], axis=0)
    assert pointers + staging.ptr_bytes <= capacity.ptr_bytes
    assert words.max() * arch.spmat_width // 8 + staging.spmat_bytes <= capacity.spmat_bytes


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"spmat_kb": 0.3},
        {"ptr_kb": 0.1},
        {"spmat_kb": 0.2, "ptr_kb": 0.05},
        {"spmat_kb": 0.01, "ptr_kb": 0.01, "n_pes": 3},
    ],
)
def test_placement_bytes_add_up_to_the_layer_footprint(changes: dict[str, float]) -> None:
    arch = ARCH.replace(**changes)
    network = chain((48, 40), (24, 48), (10, 24))
    result = simulate(network, arch)
    for layer, row in zip(network.layers, result.layers.itertuples()):
        fp = LayerFootprint.of(encode(layer, arch))
        pinned = row.ptr_pinned_bytes + row.spmat_pinned_bytes
        streamed = row.ptr_streamed_bytes + row.spmat_streamed_bytes
        assert pinned + streamed == row.weight_bytes == fp.chip_bytes(arch)
        assert row.ptr_pinned_bytes + row.ptr_streamed_bytes == arch.n_pes * fp.ptr_bytes(arch)
        assert row.spmat_pinned_bytes + row.spmat_streamed_bytes == int(fp.spmat_bytes(arch).sum())
        assert row.dram_weight_bytes == streamed
        assert row.placement == ("resident" if not streamed else "streamed" if not pinned else "partial")
