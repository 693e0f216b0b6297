"""The energy table and model: loading, missing entries, the SRAM model's monotony, totals and power."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from eie_sim.arch import ArchConfig
from eie_sim.cli.main import main
from eie_sim.compress.encode import encode
from eie_sim.costs.energy import (
    COMPONENTS,
    SRAM,
    SramAccesses,
    default_table,
    energy_model,
    layer_energy,
    load_energy_table,
    power_mw,
    sum_energies,
)
from eie_sim.engine.job import LayerCounts
from eie_sim.errors import InputError
from eie_sim.model.network import fc_chain
from eie_sim.model.ops import Layer
from eie_sim.studies.simulate import simulate

TABLE_TEXT = (Path(__file__).parents[1] / "eie_sim" / "data" / "energy_45nm.toml").read_text()


def counts(**values: int) -> LayerCounts:
    fields = ["cycles", "broadcasts", "lnzd_rows", "queue_pushes", "ptr_reads", "spmat_reads", "codebook_lookups",
              "useful_macs", "filler_macs", "empty_slices", "rf_reads", "rf_writes", "act_sram_reads",
              "act_sram_writes"]  # fmt: skip
    per_pe = np.zeros(values.pop("n_pes", 4), dtype=np.int64)
    return LayerCounts(**{f: values.get(f, 0) for f in fields}, pe_busy=per_pe, pe_starved=per_pe, pe_idle=per_pe)


def test_packaged_table_loads_with_a_source_for_every_section() -> None:
    table = load_energy_table()
    assert all(isinstance(section.get("source"), str) and section["source"] for section in table.data.values())
    assert table.number("technology", "node_nm") == 45


def test_sram_model_is_anchored_at_eie_table_one() -> None:
    """A 32-bit read of a 32 KB SRAM costs 5 pJ (EIE Table I, Horowitz); DRAM costs far more per bit."""
    sram = SRAM.from_table(default_table(), 32, 32)
    assert sram.read_pj == pytest.approx(5.0)
    model = energy_model(ArchConfig())
    assert 10 < model.spmat.read_pj < 25  # 64-bit read of the 128 KB sparse-matrix SRAM
    assert model.dram.pj_per_bit > 20 * model.spmat.read_pj / 64


@pytest.mark.parametrize(
    ("old", "missing"),
    [
        ("multiply_pj = 0.62", "multiply_pj"),
        ("HBM2_pj_per_bit = 3.9", "HBM2_pj_per_bit"),
        ("spmat_pj_per_cycle = ", "spmat_pj_per_cycle"),
    ],
)
def test_a_missing_entry_is_an_error_naming_it(tmp_path: Path, old: str, missing: str) -> None:
    lines = [line for line in TABLE_TEXT.splitlines() if not line.startswith(old)]
    assert len(lines) == len(TABLE_TEXT.splitlines()) - 1
    path = tmp_path / "energy.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError, match=missing):
        load_energy_table(path)


def test_a_section_without_source_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "energy.toml"
    path.write_text(TABLE_TEXT.replace('[queue]\nnode_nm = 45\nsource = "', '[queue]\nnode_nm = 45\nnote = "'))
    with pytest.raises(InputError, match=r"\[queue\] has no source"):
        load_energy_table(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x = " + b"[" * 5000 + b"1" + b"]" * 5000, "nested too deep"),
        (None, "more than 16 MiB"),
        (b"x = \x80", "UTF-8"),
    ],
    ids=["deep", "huge", "bytes"],
)
def test_an_unreadable_table_is_one_error_naming_it(tmp_path: Path, data: bytes | None, message: str) -> None:
    path = tmp_path / "energy.toml"
    path.write_bytes(data or b"")
    if data is None:
        os.truncate(path, 16 * 2**20 + 1)  # sparse: nothing is written to the disk
    with pytest.raises(InputError, match=f"{path}: .*{message}"):
        load_energy_table(path)


def test_sram_energy_rises_with_capacity_and_width() -> None:
    table = default_table()
    capacities = np.geomspace(0.25, 4096, 40)  # KiB, beyond the table's points at both ends
    widths = [8, 16, 32, 64, 128, 256, 512]
    grid = [[SRAM.from_table(table, float(c), w) for w in widths] for c in capacities]
    for action in ("read_pj", "write_pj"):
        energy = np.array([[getattr(s, action) for s in row] for row in grid])
        assert np.all(np.diff(energy, axis=0) > 0), action
        assert np.all(np.diff(energy, axis=1) > 0), action
    per_bit = np.array([[s.read_pj / s.width_bits for s in row] for row in grid])
    assert np.all(np.diff(per_bit, axis=1) < 0)  # wider words amortize the periphery


def test_layer_energy_by_hand_and_total_is_the_sum_of_components() -> None:
    arch = ArchConfig(n_pes=4)
    model = energy_model(arch)
    c = counts(n_pes=4, cycles=1000, broadcasts=10, lnzd_rows=3, queue_pushes=40, ptr_reads=80, spmat_reads=25,
               codebook_lookups=90, rf_reads=200, rf_writes=180, act_sram_reads=7, act_sram_writes=5)  # fmt: skip
    enc = encode(
        Layer.from_codes("l", "fc", np.ones((8, 100), dtype=np.uint8), np.array([0.0, 1.0], dtype=np.float32)), arch
    )
    energy = layer_energy(c, SramAccesses.of(c), dram_bytes=64, cycles=1000, enc=enc, model=model)
    assert list(energy) == [*COMPONENTS, "total"]
    assert energy["total"] == sum(energy[k] for k in COMPONENTS)
    assert energy["spmat_sram"] == pytest.approx(25 * model.spmat.read_pj)
    assert energy["ptr_sram"] == pytest.approx(80 * model.ptr_bank.read_pj)
    assert energy["arithmetic"] == pytest.approx(90 * model.arithmetic.entry_pj)
    assert energy["queues"] == pytest.approx(40 * (model.queue.push_pj + model.queue.pop_pj))
    assert energy["act_storage"] == pytest.approx(
        200 * model.rf.read_pj + 180 * model.rf.write_pj + 7 * model.act_sram.read_pj + 5 * model.act_sram.write_pj
    )
    bits = arch.act_bits + math.ceil(math.log2(100))
    assert energy["lnzd_broadcast"] == pytest.approx(
        13 * arch.lnzd_nodes * model.central.node_pj + 10 * bits * 4 * model.central.bit_pe_pj
    )
    assert energy["clock"] == pytest.approx(
        1000 * (4 * sum(model.overhead_pj_per_cycle.values()) + model.central.clock_pj_per_cycle)
    )
    leakage_mw = 4 * sum(model.leakage_mw.values())
    assert energy["leakage"] == pytest.approx(leakage_mw * 1e-3 * (1000 / 800e6) * 1e12)
    assert energy["dram"] == pytest.approx(64 * 8 * 8.0)  # LPDDR4, 8 pJ/bit


def test_sums_over_layers_keep_total_equal_to_components() -> None:
    rng = np.random.default_rng(1)
    layers = [
        dict(zip(COMPONENTS, rng.random(len(COMPONENTS)) * 10 ** rng.integers(0, 9, len(COMPONENTS)))) for _ in range(7)
    ]
    total = sum_energies(layers)
    assert total["total"] == sum(total[c] for c in COMPONENTS)
    for c in COMPONENTS:
        assert total[c] == pytest.approx(sum(layer[c] for layer in layers))


def test_power_is_energy_over_time() -> None:
    assert power_mw(1e9, 800_000, 800.0) == pytest.approx(1.0 * 1e3)  # 1 mJ in 1 ms = 1 W
    assert power_mw(5.0, 0, 800.0) == 0.0


def test_simulation_results_carry_consistent_energy_and_power() -> None:
    rng = np.random.default_rng(0)
    codebook = np.linspace(-1, 1, 16).astype(np.float32)
    codebook[0] = 0
    layers = [
        Layer.from_codes(
            f"fc{i}",
            "fc",
            np.where(rng.random((r, c)) < 0.2, rng.integers(1, 16, (r, c)), 0).astype(np.uint8),
            codebook,
        )
        for i, (r, c) in enumerate([(96, 80), (40, 96)])
    ]
    result = simulate(fc_chain("tiny", layers, rng.random(80).astype(np.float32)), ArchConfig(n_pes=8))
    for row in [*result.layers.to_dict(orient="records"), result.total.to_dict()]:
        assert row["energy_total_pj"] == sum(row[f"energy_{c}_pj"] for c in COMPONENTS)
        assert row["power_mw"] == pytest.approx(row["energy_total_pj"] * 1e-12 / (row["time_us"] * 1e-6) * 1e3)
    total = result.total
    assert total["pj_per_useful_mac"] == pytest.approx(total["energy_total_pj"] / total["useful_macs"])
    assert total["inferences_per_j"] == pytest.approx(1e12 / total["energy_total_pj"])
    nested = result.to_dict()
    for row in [*nested["layers"], nested["total"]]:
        assert set(row["energy_pj"]) == {*COMPONENTS, "total"}
        assert row["energy_pj"]["total"] == sum(row["energy_pj"][c] for c in COMPONENTS)
        assert not any(key.startswith("energy_") and key.endswith("_pj") for key in row if key != "energy_pj")


def test_dram_type_changes_only_dram_energy() -> None:
    prices = {kind: energy_model(ArchConfig(dram=kind)).dram.pj_per_bit for kind in ("LPDDR4", "DDR3", "GDDR5", "HBM2")}
    assert prices == {"LPDDR4": 8.0, "DDR3": 70.0, "GDDR5": 14.0, "HBM2": 3.9}
    lp, hbm = energy_model(ArchConfig()), energy_model(ArchConfig(dram="HBM2"))
    assert all(
        getattr(lp, name) == getattr(hbm, name)
        for name in ("spmat", "ptr_bank", "act_sram", "rf", "arithmetic", "queue")
    )


@pytest.mark.parametrize(("capacity", "width"), list(itertools.product([2.0, 128.0], [16, 64])))
def test_model_components_follow_the_arch(capacity: float, width: int) -> None:
    model = energy_model(ArchConfig(spmat_kb=capacity, spmat_width=width))
    assert model.spmat == SRAM.from_table(default_table(), capacity, width)


def _doubled_dram_table(tmp_path: Path) -> Path:
    """The packaged table with every DRAM access energy doubled: another technology, as a user would write it."""
    text = resources.files("eie_sim.data").joinpath("energy_45nm.toml").read_text()
    doubled = re.sub(r"(?m)^([A-Z0-9]+_pj_per_bit)( *= *)([0-9.]+)", lambda m: f"{m[1]}{m[2]}{2 * float(m[3])}", text)
    assert doubled != text
    path = tmp_path / "energy_other.toml"
    path.write_text(doubled)
    return path


def test_the_cli_prices_a_run_with_another_energy_table(tmp_path: Path) -> None:
    """`--energy-table FILE` reaches the cost model: doubling DRAM energies doubles the DRAM energy of a run that
    streams its weights, and leaves the cycles alone."""
    table = _doubled_dram_table(tmp_path)
    runs = []
    for extra in ([], ["--energy-table", str(table)]):
        out = tmp_path / f"run{len(runs)}.json"
        assert main(["simulate", "vgg-6", "--format", "json", "--out", str(out), *extra]) == 0
        runs.append(json.loads(out.read_text())["total"])
    assert runs[1]["cycles"] == runs[0]["cycles"]
    assert runs[0]["energy_pj"]["dram"] > 0
    assert runs[1]["energy_pj"]["dram"] == pytest.approx(2 * runs[0]["energy_pj"]["dram"], rel=1e-9)
    assert runs[1]["energy_pj"]["spmat_sram"] == runs[0]["energy_pj"]["spmat_sram"]


def test_a_sweep_with_another_energy_table_is_another_sweep(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    table = _doubled_dram_table(tmp_path)
    out = tmp_path / "pes.csv"
    assert main(["sweep", "nt-we", "--pes", "8", "--out", str(out)]) == 0
    assert main(["sweep", "nt-we", "--pes", "8", "--out", str(out), "--energy-table", str(table)]) == 2
    assert "energy table" in capsys.readouterr().err
