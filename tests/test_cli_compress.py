"""`eie-sim compress`: tables, JSON, CSV, --save, and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eie_sim.cli import main


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", "lenet-300-100", "--pes", "16"]) == 0
    out = capsys.readouterr().out
    assert "EIE format of lenet-300-100 on 16 PEs" in out and "spmat_max_pe_bytes" in out
    assert "Fits on chip: yes" in out and "Deep Compression stored size:" in out and "with Huffman coding" in out


def test_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", "lenet-300-100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"workload", "arch", "layers", "total", "chip", "stored_size"}
    assert [layer["name"] for layer in data["layers"]] == ["ip1", "ip2", "ip3"] and data["chip"]["fits_on_chip"]
    assert data["stored_size"][-1]["part"] == "total"
    assert main(["compress", "lenet-300-100", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "spmat_max_pe_bytes" in lines[0] and "dc_huffman_total_bytes" in lines[0]
    assert len(lines) == 1 + 3 + 1 and lines[-1].startswith("total,")


def test_weight_bits_requantizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compress", "squeezenet", "--weight-bits", "4", "--format", "json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert {layer["code_bits"] for layer in layers} == {4}


def test_save_and_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, report = tmp_path / "model.npz", tmp_path / "report.json"
    assert main(["compress", "squeezenet", "--save", str(model), "--format", "json", "--out", str(report)]) == 0
    assert capsys.readouterr().out == ""
    assert main(["compress", str(model), "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    original = json.loads(report.read_text())
    assert again["layers"] == original["layers"] and again["stored_size"] == original["stored_size"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["squeezenut"], "squeezenut: unknown workload"),
        (["{tmp}/missing.npz"], "missing.npz: no such file"),
        (["{tmp}/corrupt.npz"], "corrupt.npz: not an .npz file"),
        (["{tmp}/spec.toml"], "spec.toml: not valid TOML"),
        (["lenet-300-100", "--pes", "0"], "n_pes"),
        (["lenet-300-100", "--weight-bits", "0"], "weight_bits"),
        (["lenet-300-100", "--arch", "{tmp}/none.toml"], "none.toml"),
        (["lenet-300-100", "--save", "{tmp}/model.txt"], "--save"),
        (["lenet-300-100", "--format", "xml"], "--format"),
    ],
)
def test_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "corrupt.npz").write_bytes(b"\x00" * 64)
    (tmp_path / "spec.toml").write_text("name = [")
    out = tmp_path / "out.txt"
    argv = ["compress", *(a.replace("{tmp}", str(tmp_path)) for a in args), "--out", str(out)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err and not out.exists() and not (tmp_path / "model.txt").exists()
