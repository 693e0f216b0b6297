"""simulate() end to end: bit-exact outputs on the paper layers with both engines, the JSON contract, positions
mapping."""

import json

import numpy as np
import pytest

from eie_sim import ArchConfig, load_workload, simulate
from eie_sim.cli import main

LAYER_KEYS = {
    "name",
    "rows",
    "cols",
    "nnz",
    "fillers",
    "cycles",
    "time_us",
    "useful_macs",
    "load_efficiency",
    "sram_read_bytes",
    "dram_read_bytes",
    "dram_write_bytes",
    "energy_pj",
}
TOTAL_KEYS = {"cycles", "time_us", "energy_pj", "power_mw", "sram_read_bytes", "dram_read_bytes"}


@pytest.fixture(scope="module")
def paper():
    network = load_workload("eie-paper")
    return network, simulate(network, verify=True)  # every layer's engine outputs against the reference


def test_every_paper_layer_is_bit_exact_and_close_to_float(paper):
    network, result = paper
    functional = result.functional
    for layer in network.layers:
        floats = functional.float_tensors[layer.output]
        error = np.abs(result.output(layer.output) - floats).max()
        assert error <= 0.01 * np.abs(floats).max() + 2.0 ** -functional.formats.tensor_frac[layer.output], layer.name


def test_simpy_engine_agrees_on_a_paper_layer(paper):
    network, fast = paper
    alex8 = load_workload("alex-8")
    slow = simulate(alex8, engine="simpy")  # computes its outputs in its datapath and checks them
    row = fast.layers.set_index("name").loc["alex-8"]
    assert slow.layers.loc[0, "cycles"] == row["cycles"]
    assert slow.layers.loc[0, "useful_macs"] == row["useful_macs"]


def test_json_output_has_the_contract_keys(capsys):
    assert main(["simulate", "alex-8", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["workload"] == "alex-8" and data["engine"] == "fast"
    assert set(data["arch"]) == set(ArchConfig().to_dict())
    assert set(data["layers"][0]) >= LAYER_KEYS
    assert set(data["total"]) >= TOTAL_KEYS
    energy = data["layers"][0]["energy_pj"]
    assert energy["total"] == pytest.approx(sum(v for k, v in energy.items() if k != "total"))
    assert data["layers"][0]["cycles"] > 0 and 0 < data["layers"][0]["load_efficiency"] <= 1


def test_table_and_csv_outputs(capsys, tmp_path):
    assert main(["simulate", "lenet-300-100"]) == 0
    table = capsys.readouterr().out
    assert "cycles" in table and "GOP/s" in table and "uJ" in table and "mW" in table
    out = tmp_path / "r.csv"
    assert main(["simulate", "lenet-300-100", "--format", "csv", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("name,") and lines[-1].startswith("total,") and len(lines) == 5


@pytest.mark.slow
def test_positions_mapping_speeds_up_narrow_convolutions_with_identical_outputs():
    network = load_workload("squeezenet")
    channels = simulate(network, ArchConfig(conv_mapping="channels"))
    positions = simulate(network, ArchConfig(conv_mapping="positions"))
    assert np.array_equal(channels.output(), positions.output())
    squeeze = positions.layers.set_index("name").loc["fire2/squeeze1x1"]
    assert squeeze["pe_groups"] == 4
    assert squeeze["cycles"] < channels.layers.set_index("name").loc["fire2/squeeze1x1", "cycles"] / 3
    assert positions.total["cycles"] < channels.total["cycles"]
    assert (positions.pes.groupby("layer").size() == 64).all()
