"""Notes printed with results: the baselines' legend, and why layers or sweeps are DRAM-bound."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from test_memory import ARCH, chain, fc

from eie_sim.model.network import fc_chain
from eie_sim.results.notes import BASELINES, sweep_notes
from eie_sim.results.summary import render_result
from eie_sim.studies.simulate import simulate


def test_every_output_names_and_explains_both_baselines() -> None:
    result = simulate(chain((48, 40), (24, 48)), ARCH)
    assert result.notes() == list(BASELINES)  # nothing is DRAM-bound
    text = render_result(result, "table")
    assert "dense fp32 weights, DRAM" in text and "dense datapath" in text
    assert all(note in text for note in BASELINES)
    assert json.loads(result.to_json())["notes"] == list(BASELINES)


def test_a_dram_bound_layer_says_which_weights_do_not_fit() -> None:
    network = fc_chain("wide", [fc("first", 600, 40, 0.1, 3), fc("wide", 64, 600, 0.05, 4)], np.ones(40, np.float32))
    result = simulate(network, ARCH.replace(ptr_kb=0.5, rf_entries=160, dram_gbps=0.05))
    notes = result.notes()[len(BASELINES) :]
    assert notes[0].startswith("DRAM-bound") and "wide" in notes[0]
    assert any(note.startswith("pointers need") and "512 B of pointer SRAM" in note for note in notes)


def test_a_sweep_whose_time_rises_with_pes_says_why() -> None:
    rows = []
    for pes, time_us, ptr in ((16, 10.0, 0), (32, 8.0, 100), (64, 9.0, 400)):
        key = f"k{pes}"
        rows.append(
            {"point_key": key, "name": "fc", "pes": pes, "dram": "LPDDR4", "cycles": 900, "compute_cycles": 100}
        )
        rows.append({"point_key": key, "name": "total", "pes": pes, "dram": "LPDDR4", "time_us": time_us,
                     "ptr_streamed_bytes": ptr, "spmat_streamed_bytes": 0, "compute_cycles": 100})  # fmt: skip
    notes = sweep_notes(pd.DataFrame(rows), ["pes", "dram"])
    assert len(notes) == 1
    assert notes[0].startswith("time rises from 32 to 64 PEs (8.0 -> 9.0 us): DRAM-bound fc; pointers streamed")
    assert "100 -> 400 B" in notes[0] and "grow with PEs x tiles" in notes[0]
