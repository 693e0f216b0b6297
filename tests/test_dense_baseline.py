"""The dense-datapath baseline, worked out by hand on tiny networks."""

from __future__ import annotations

import numpy as np
import pytest
from test_memory import ARCH, CODEBOOK, chain

from eie_sim.costs.energy import energy_model, pj_from_mw
from eie_sim.model.network import Network
from eie_sim.model.ops import Layer
from eie_sim.studies.simulate import simulate


def test_mac_count_sram_reads_time_and_energy_of_two_fc_layers() -> None:
    result = simulate(chain((48, 40), (24, 48)), ARCH)  # 4 PEs; 160 KiB of SRAM each holds every dense weight
    layers = result.layers
    assert list(layers["dense_macs"]) == [48 * 40, 24 * 48]
    assert list(layers["dense_weight_sram_reads"]) == [48 * 40 * 16 // 64, 24 * 48 * 16 // 64]  # 4 weights a word
    assert list(layers["dense_cycles"]) == [12 * 40, 6 * 48]  # rows / 4 PEs x cols, a MAC per PE per cycle
    assert list(layers["dense_dram_bytes"]) == [40 * 2, 24 * 2]  # the network's input and output only
    m = energy_model(ARCH)
    for (rows, cols), row in zip([(48, 40), (24, 48)], layers.itertuples()):
        macs, cycles = rows * cols, row.dense_cycles
        by_hand = (
            macs * (0.62 + 0.1)  # 16-bit multiply and 32-bit accumulate, [arithmetic] of the energy table
            + m.spmat.read(macs // 4)
            + m.rf.read(macs + cols)  # accumulators, and each input once
            + m.rf.write(macs + rows)  # accumulators, and each output once
            + m.central.broadcast(cols, 16, 4)
            + (
                m.overhead_pj_per_cycle["spmat"]
                + m.overhead_pj_per_cycle["arithmetic"]
                + m.overhead_pj_per_cycle["act"]
            )
            * 4
            * cycles
            + pj_from_mw(sum(m.leakage_mw.values()) * 4, cycles, ARCH.clock_mhz)
            + m.dram.transfer(row.dense_dram_bytes)
        )
        assert row.dense_energy_pj == pytest.approx(by_hand, rel=1e-12)
        assert row.dense_energy_ratio == pytest.approx(by_hand / row.energy_total_pj)
    assert result.total["dense_energy_pj"] == pytest.approx(layers["dense_energy_pj"].sum())


def test_weights_beyond_the_same_total_sram_stream_from_dram() -> None:
    arch = ARCH.replace(spmat_kb=0.5, ptr_kb=0.25)  # 4 PEs x 768 B = 3,072 B against 3,840 + 2,304 B of weights
    layers = simulate(chain((48, 40), (24, 48)), arch).layers
    assert list(layers["dense_dram_bytes"]) == [3840 // 2 + 40 * 2, 2304 // 2 + 24 * 2]  # half of each streams


def test_a_conv_layer_takes_a_mac_per_weight_and_output_position() -> None:
    rng = np.random.default_rng(2)
    codes = np.where(rng.random((4, 2, 3, 3)) < 0.5, rng.integers(1, 16, (4, 2, 3, 3)), 0).astype(np.uint8)
    conv = Layer.from_codes("c", "conv", codes, CODEBOOK, pad=1, inputs=("input",))
    network = Network("conv", (conv,), input=rng.random((2, 5, 5)).astype(np.float32))
    row = simulate(network, ARCH).layers.iloc[0]
    assert row["vectors"] == 25  # 5 x 5 output positions
    assert row["dense_macs"] == 4 * 18 * 25
    assert row["dense_weight_sram_reads"] == 25 * (4 * 18 * 16 // 64)  # the weights, once per position
    assert row["dense_cycles"] == 1 * 18 * 25  # one output channel per PE
