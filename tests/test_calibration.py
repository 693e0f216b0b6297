"""The energy model against EIE Table II, from a real fast-engine simulation of the nine paper layers on 64 PEs.

One simulation (about 6 s) serves every test of the module.
"""

from __future__ import annotations

import pytest

from eie_sim.arch import ArchConfig
from eie_sim.costs.calibration import calibration_frame, fitted_overheads, kind_check, paper_counts
from eie_sim.costs.energy import energy_model
from eie_sim.data.published import TABLE_II_MW, TABLE_II_TOTAL_MW
from eie_sim.engine.job import LayerCounts

pytestmark = pytest.mark.slow  # the paper layers, simulated


@pytest.fixture(scope="module")
def counts() -> list[LayerCounts]:
    return paper_counts("fast")


def test_one_pe_draws_table_two_power(counts: list[LayerCounts]) -> None:
    frame = calibration_frame(counts)
    assert frame["model_mw"].sum() == pytest.approx(TABLE_II_TOTAL_MW, rel=0.10)


def test_module_shares_match_table_two(counts: list[LayerCounts]) -> None:
    frame = calibration_frame(counts)
    assert len(frame) == len(TABLE_II_MW)
    assert frame["share_diff_pp"].abs().max() <= 5.0, frame.to_string()


def test_fitted_overheads_are_physical(counts: list[LayerCounts]) -> None:
    """Dynamic power alone stays under each module's Table II power, and the fitted overheads stay near the table's
    clock network, registers and combinational logic (3.741 mW together): no module is fitted negative."""
    fitted = fitted_overheads(counts)
    assert all(pj > 0 for pj in fitted.values()), fitted
    overhead_mw = sum(fitted.values()) * ArchConfig().clock_mhz / 1e3
    assert 0.5 * 3.741 < overhead_mw < 1.5 * 3.741


def test_sram_power_stays_below_table_two_memory(counts: list[LayerCounts]) -> None:
    """The unfitted split: per-access SRAM energies and leakage cover only part of what Table II books as memory
    (its SRAM macros' clocking and periphery are in the fitted overheads), so the model's SRAM power may fall short
    of Table II's memory power, but never exceed it. The gap itself is reported (scripts/calibrate_energy.py)."""
    memory, logic = kind_check(counts).values()
    assert 0 < memory[0] < memory[1]
    assert logic[0] > logic[1]


def test_per_action_energies_are_plausible_at_45nm() -> None:
    """Against the 45 nm figures (Horowitz, EIE Table I): 16-bit multiply below a 32-bit one (3.1 pJ), SRAM reads
    between 1 and 50 pJ, a DRAM bit (LPDDR4) costing more than 20 SRAM bits."""
    model = energy_model(ArchConfig())
    assert 0.3 < model.arithmetic.entry_pj < 3.1 + 0.1
    for sram in (model.spmat, model.ptr_bank):
        assert 1 < sram.read_pj < 50
    assert model.dram.pj_per_bit > 20 * model.spmat.read_pj / model.spmat.width_bits
