"""The memory model: weights resident, partly pinned or streamed; activations at the chip boundary; DRAM time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eie_sim.arch import ArchConfig
from eie_sim.compress.encode import encode
from eie_sim.compress.footprint import LayerFootprint, network_footprint
from eie_sim.costs.memory import activation_capacity
from eie_sim.model.network import Network, fc_chain
from eie_sim.model.ops import Layer
from eie_sim.studies.simulate import simulate

ARCH = ArchConfig(n_pes=4, rf_entries=16, act_sram_kb=1.0)
CODEBOOK = np.concatenate([[0.0], np.linspace(-1, 1, 15)]).astype(np.float32)


def fc(name: str, rows: int, cols: int, density: float, seed: int, inputs: tuple[str, ...] = ("input",)) -> Layer:
    rng = np.random.default_rng(seed)
    codes = np.where(rng.random((rows, cols)) < density, rng.integers(1, 16, (rows, cols)), 0).astype(np.uint8)
    return Layer.from_codes(name, "fc", codes, CODEBOOK, inputs=inputs)


def chain(*shapes: tuple[int, int]) -> Network:
    layers = [fc(f"fc{i}", rows, cols, 0.3, i) for i, (rows, cols) in enumerate(shapes)]
    return fc_chain("chain", layers, np.random.default_rng(9).random(shapes[0][1]).astype(np.float32))


def footprints(network: Network, arch: ArchConfig) -> list[LayerFootprint]:
    return [LayerFootprint.of(encode(layer, arch)) for layer in network.layers]


def test_a_network_that_fits_is_resident_and_agrees_with_the_footprint_report() -> None:
    network = chain((48, 40), (24, 48))
    result = simulate(network, ARCH)
    chip = network_footprint(network, ARCH).chip
    assert chip["fits_on_chip"] and result.memory.network_fits
    assert list(result.layers["placement"]) == ["resident", "resident"]
    assert result.total["dram_weight_bytes"] == 0
    assert result.total["one_time_load_dram_bytes"] == chip["spmat_total_bytes"] + chip["ptr_total_bytes"]
    assert (
        result.total["one_time_load_pj"] > 8 * 8.0 * result.total["one_time_load_dram_bytes"]
    )  # DRAM plus SRAM writes


def test_a_network_that_does_not_fit_keeps_what_fits_and_streams_the_rest() -> None:
    network = chain((48, 40), (24, 48))
    fps = footprints(network, ARCH)
    largest = max(int(fp.spmat_bytes(ARCH).max()) for fp in fps)
    arch = ARCH.replace(spmat_kb=largest / 1024)  # every layer fits alone, not both together
    result = simulate(network, arch)
    assert not network_footprint(network, arch).chip["fits_on_chip"] and not result.memory.network_fits
    layers = result.layers
    assert set(layers["placement"]) & {"resident", "partial"}  # something is pinned
    assert (layers["ptr_streamed_bytes"] == 0).all()  # the pointers fit: they stay whole
    assert 0 < layers["spmat_pinned_bytes"].sum() <= arch.n_pes * round(arch.spmat_kb * 1024)
    streamed = layers["spmat_streamed_bytes"]
    assert list(layers["dram_weight_bytes"]) == list(streamed)
    assert 0 < result.total["dram_weight_bytes"] < sum(fp.chip_bytes(arch) for fp in fps)
    traffic = result.memory.layers[0]
    assert traffic.access.spmat_writes == traffic.weights.streamed_words  # the streamed words pass through the SRAM
    assert traffic.access.ptr_writes == 0
    assert (
        result.total["one_time_load_dram_bytes"]
        == layers["spmat_pinned_bytes"].sum() + layers["ptr_pinned_bytes"].sum()
    )
    assert result.total["energy_dram_pj"] > simulate(network, ARCH).total["energy_dram_pj"]


def test_a_layer_that_does_not_fit_streams_the_rest_in_passes() -> None:
    network = chain((48, 40), (24, 48))
    fps = footprints(network, ARCH)
    need = int(fps[0].spmat_bytes(ARCH).max())
    arch = ARCH.replace(spmat_kb=need / 3 / 1024)
    result = simulate(network, arch)
    first = result.memory.layers[0]
    assert first.placement == "partial"
    assert first.chunks >= 2
    assert first.dram_weight_bytes == first.weights.spmat_streamed_bytes  # streamed pieces read once per inference
    assert first.weights.dram_act_read_bytes == 40 * 2 * first.chunks  # the input, from DRAM, read once per pass


def test_dram_bandwidth_bounds_the_time() -> None:
    network = chain((48, 40), (24, 48))
    arch = ARCH.replace(spmat_kb=0.05, dram_gbps=0.01)
    row = simulate(network, arch).layers.iloc[0]
    bytes_per_cycle = arch.dram_gbps * 1e3 / arch.clock_mhz
    assert row["dram_cycles"] == math.ceil((row["dram_read_bytes"] + row["dram_write_bytes"]) / bytes_per_cycle)
    assert row["cycles"] == row["dram_cycles"] > row["compute_cycles"]
    assert row["time_us"] == pytest.approx(row["cycles"] / arch.clock_mhz)
    fast = simulate(network, arch.replace(dram_gbps=1e4)).layers.iloc[0]
    assert fast["cycles"] == fast["compute_cycles"] == row["compute_cycles"]
    assert fast["load_efficiency"] == pytest.approx(row["load_efficiency"])  # the PEs' balance ignores DRAM stalls


def test_activations_cross_the_chip_boundary_at_the_ends_only() -> None:
    result = simulate(chain((48, 40), (24, 48), (10, 24)), ARCH)
    layers = result.layers
    assert list(layers["dram_read_bytes"]) == [40 * 2, 0, 0]
    assert list(layers["dram_write_bytes"]) == [0, 0, 10 * 2]


def test_an_intermediate_tensor_too_big_for_activation_storage_goes_through_dram() -> None:
    arch = ARCH.replace(act_sram_kb=0.0)
    big = activation_capacity(arch) * arch.n_pes + 4  # one tensor past what stays on chip
    result = simulate(chain((big, 40), (10, big)), arch)
    layers = result.layers
    assert list(layers["dram_write_bytes"]) == [big * 2, 10 * 2]
    assert list(layers["dram_read_bytes"]) == [40 * 2, big * 2]


def test_independent_layers_are_judged_alone() -> None:
    """Like the EIE paper's benchmark layers: each reads its own input, each fits alone, not both together."""
    rng = np.random.default_rng(3)
    a, b = fc("a", 48, 40, 0.3, 1, inputs=("xa",)), fc("b", 48, 40, 0.3, 2, inputs=("xb",))
    extra = {"xa": rng.random(40).astype(np.float32), "xb": rng.random(40).astype(np.float32)}
    network = Network("pair", (a, b), input=np.zeros(1, dtype=np.float32), extra_inputs=extra)
    largest = max(int(fp.spmat_bytes(ARCH).max()) for fp in footprints(network, ARCH))
    result = simulate(network, ARCH.replace(spmat_kb=largest / 1024))
    assert list(result.layers["placement"]) == ["resident", "resident"]
    assert list(result.layers["dram_read_bytes"]) == [80, 80]
    assert list(result.layers["dram_write_bytes"]) == [96, 96]


def test_dense_float_baseline() -> None:
    result = simulate(chain((48, 40), (24, 48)), ARCH)
    layers = result.layers
    assert list(layers["baseline_dram_bytes"]) == [48 * 40 * 4, 24 * 48 * 4]
    assert list(layers["baseline_energy_pj"]) == pytest.approx([b * 8 * 8.0 for b in layers["baseline_dram_bytes"]])
    assert list(layers["baseline_energy_ratio"]) == pytest.approx(
        list(layers["baseline_energy_pj"] / layers["energy_total_pj"])
    )
