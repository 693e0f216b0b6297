"""How results read: swept axes in the sweep summary, integer counts as integers in CSV and JSON, the top-5
classes in the JSON of an image run, and totals over independent layers that say what they are."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import sample_files

from eie_sim.arch import ArchConfig
from eie_sim.cli import main
from eie_sim.model.network import Network, fc_chain
from eie_sim.model.ops import Layer
from eie_sim.results.result import stack_rows
from eie_sim.results.summary import render_result
from eie_sim.studies.simulate import simulate

WHOLE = ["rows", "cols", "vectors", "nnz", "fillers", "cycles", "tiles"]


def _run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_sweep_summary_shows_every_swept_axis(capsys) -> None:
    out = _run(capsys, "sweep", "lenet-300-100", "--spmat-kb", "32,64", "--ptr-kb", "16,32")
    header = out.splitlines()[2].split()
    assert header[:2] == ["spmat_kib", "ptr_kib"] and "cycles" in header
    rows = [line.split() for line in out.splitlines()[4:] if line.strip()]
    assert sorted((r[0], r[1]) for r in rows) == [("32", "16"), ("32", "32"), ("64", "16"), ("64", "32")]


def test_counts_stay_integers_in_csv(capsys, tmp_path) -> None:
    simulated = pd.read_csv(io.StringIO(_run(capsys, "simulate", "lenet-300-100", "--format", "csv")), dtype=str)
    out = tmp_path / "sweep.csv"
    _run(capsys, "sweep", "lenet-300-100", "--pes", "2,4", "--out", str(out))
    swept = pd.read_csv(out, dtype=str)
    for frame in (simulated, swept):
        layers = frame[frame["name"] != "total"]
        for column in WHOLE:
            assert layers[column].str.fullmatch(r"\d+").all(), (column, list(layers[column]))
        assert frame.loc[frame["name"] == "total", "rows"].isna().all()  # a total has no shape: empty, not NaN


def test_counts_stay_integers_in_json(capsys) -> None:
    simulated = json.loads(_run(capsys, "simulate", "lenet-300-100", "--format", "json"))
    swept = json.loads(_run(capsys, "sweep", "lenet-300-100", "--pes", "2", "--format", "json"))
    for row in [*simulated["layers"], *(r for r in swept if r["name"] != "total")]:
        assert all(type(row[column]) is int for column in WHOLE), row
    total = next(r for r in swept if r["name"] == "total")
    assert total["rows"] is None and type(total["cycles"]) is int


def test_stacked_rows_keep_integer_columns() -> None:
    layers = pd.DataFrame({"name": ["a", "b"], "rows": [4096, 1000], "density": [0.5, 0.25]})
    total = pd.DataFrame([{"name": "total", "density": 0.4, "networks": 2}])
    stacked = stack_rows([layers, total])
    assert str(stacked["rows"].dtype) == "Int64" and str(stacked["networks"].dtype) == "Int64"
    assert stacked["density"].dtype == float
    assert stacked.to_csv(index=False).splitlines()[1:] == ["a,4096,0.5,", "b,1000,0.25,", "total,,0.4,2"]


def test_json_of_an_image_run_carries_the_top_five(capsys, tmp_path) -> None:
    network = sample_files.write_image_npz(tmp_path)
    photo = sample_files.write_image(tmp_path)
    described = json.loads(_run(capsys, "simulate", str(network), "--image", str(photo), "--format", "json"))
    top = described["top5"]
    assert set(top) == {"simulated", "float32"}
    for kind in top.values():
        assert len(kind) == 5 and all(set(c) == {"index", "score"} for c in kind)
        scores = [c["score"] for c in kind]
        assert scores == sorted(scores, reverse=True)
    assert "top5" not in json.loads(_run(capsys, "simulate", "lenet-300-100", "--format", "json"))


CODEBOOK = np.linspace(-1, 1, 16).astype(np.float32)
CODEBOOK[0] = 0


def _layer(name: str, source: str, rng: np.random.Generator, cols: int = 40) -> Layer:
    codes = np.where(rng.random((48, cols)) < 0.3, rng.integers(1, 16, (48, cols)), 0).astype(np.uint8)
    return Layer.from_codes(name, "fc", codes, CODEBOOK, inputs=(source,))


def test_totals_over_independent_layers_say_what_they_are() -> None:
    rng = np.random.default_rng(3)
    extra = {"xa": rng.random(40).astype(np.float32), "xb": rng.random(40).astype(np.float32)}
    layers = (_layer("a", "xa", rng), _layer("b", "xb", rng))
    result = simulate(Network("pair", layers, input=np.zeros(1, np.float32), extra_inputs=extra), ArchConfig(n_pes=8))
    assert result.total["independent_networks"] == 2
    assert "inferences_per_s" not in result.total and "inferences_per_j" not in result.total
    text = render_result(result, "table")
    assert "Total of 2 independent layers, each run once" in text
    assert "per s" not in text and "per inference" not in text and "energy, all layers once" in text


def test_totals_of_one_network_keep_their_rates() -> None:
    rng = np.random.default_rng(3)
    layers = [_layer("a", "input", rng), _layer("b", "input", rng, cols=48)]
    result = simulate(fc_chain("chain", layers, rng.random(40).astype(np.float32)), ArchConfig(n_pes=8))
    assert result.total["independent_networks"] == 1
    assert result.total["inferences_per_s"] == pytest.approx(1e6 / result.total["time_us"])
    assert "inferences (frames) per s" in render_result(result, "table")
