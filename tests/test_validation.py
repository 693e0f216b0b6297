"""The validation study: published figures from one module, signed differences, explanations that follow the
numbers, fitted and independent figures told apart, each encoding computed once, and the page it writes.

One reduced study (1 and 64 PEs; 32- and 64-bit words, about 10 s) serves every test of the module.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import eie_sim
from eie_sim.arch import ArchConfig
from eie_sim.cli import main
from eie_sim.cli import report as report_cli
from eie_sim.cli.main import build_parser
from eie_sim.costs.calibration import MODULE_NAMES
from eie_sim.data import published
from eie_sim.studies import report, simulate
from eie_sim.studies.simulate import EncodingKey
from eie_sim.studies.validation import READ_MODES, Validation, configurations, run_validation

PES, WIDTHS = (1, 64), (32, 64)


@pytest.fixture(scope="module")
def study() -> tuple[Validation, list[tuple[str, EncodingKey]]]:
    """The reduced study, with every encoding it computed (layer, key)."""
    encoded = []
    real_encode = simulate.encode

    def counting_encode(layer, arch):
        encoded.append((layer.name, EncodingKey.of(arch)))
        return real_encode(layer, arch)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(simulate, "encode", counting_encode)
        return run_validation(0, pes=PES, widths=WIDTHS), encoded


def _comparison(study, name: str) -> pd.DataFrame:
    return next(c for c in study[0].comparisons if c.name == name).data


def test_each_encoding_is_computed_once(study) -> None:
    _, encoded = study
    keys = {EncodingKey.of(arch) for arch in configurations(PES, WIDTHS)}
    assert len(keys) == 3  # 1 PE; 64 PEs at 64 bits (both read modes share it); 64 PEs at 32 bits
    assert len(encoded) == len(set(encoded)) == 9 * len(keys)


def test_published_figures_live_in_one_module() -> None:
    """Table II and Table IV numbers appear in no other module of the package."""
    package = Path(eie_sim.__file__).parent
    figures = ["9.157", "4.955", "30.3", "34.4", "13.9", "28.1"]
    for path in package.rglob("*.py"):
        if path.name == "published.py":
            continue
        text = path.read_text()
        found = [f for f in figures if re.search(rf"(?<![\d.]){re.escape(f)}(?![\d])", text)]
        assert not found, f"{path} quotes published figures {found}"


def test_latency_against_table_iv(study) -> None:
    data = _comparison(study, "validation_latency")
    assert list(data["layer"]) == list(published.TABLE_IV_ACTUAL_US)
    assert list(data["table_iv_actual_us"]) == list(published.TABLE_IV_ACTUAL_US.values())
    assert list(data["table_iv_theoretical_us"]) == list(published.TABLE_IV_THEORETICAL_US.values())
    expected = 100 * (data["eie_sim_us"] / data["table_iv_actual_us"] - 1)
    assert data["diff_pct"].to_numpy() == pytest.approx(expected.to_numpy())
    runs = study[0].runs
    at_64 = runs[(runs["pes"] == 64) & (runs["spmat_width_bits"] == 64) & (runs["spmat_read_mode"] == READ_MODES[0])]
    times = at_64.set_index("name")["time_us"]
    assert data["eie_sim_us"].to_numpy() == pytest.approx(times[data["layer"]].to_numpy())


def test_latency_gaps_are_explained_from_the_counts(study) -> None:
    data = _comparison(study, "validation_latency")
    for row in data.itertuples():
        if row.placement == "resident":
            assert "theoretical" in row.explanation
            assert f"waiting {1 - row.load_efficiency:.0%}" in row.explanation
            assert f"{abs(row.entries_diff_pct):.0f}%" in row.explanation
            assert row.explanation.startswith("Within 5%") == (abs(row.diff_pct) < 5)
        else:
            assert "DRAM" in row.explanation and "SRAM" in row.explanation


def test_power_says_what_is_fitted(study) -> None:
    comparison = next(c for c in study[0].comparisons if c.name == "validation_power")
    data = comparison.data.set_index("figure")
    for module, name in MODULE_NAMES.items():
        assert data.loc[name, "published_mw"] == published.TABLE_II_MW[module]
        assert data.loc[name, "explanation"].startswith("Fitted")
        parts = data.loc[name, ["dynamic_mw", "overhead_mw", "leakage_mw"]].sum()
        assert parts == pytest.approx(data.loc[name, "eie_sim_mw"])
    assert data.loc["PE total", "published_mw"] == published.TABLE_II_TOTAL_MW
    assert data.loc["by kind: SRAM (Table II memory)", "explanation"].startswith("Independent")
    assert data.loc["by kind: logic and clock", "explanation"].startswith("Not independent")
    assert data.filter(like="chip", axis=0)["published_mw"].item() == published.CHIP_POWER_MW
    assert "**Fitted**" in comparison.text and "**Independent**" in comparison.text
    expected = 100 * (data["eie_sim_mw"] / data["published_mw"] - 1)
    assert data["diff_pct"].to_numpy() == pytest.approx(expected.to_numpy())


def test_scalability_against_linear(study) -> None:
    data = _comparison(study, "validation_scalability").set_index("pes")
    assert data.loc[1, "eie_sim_speedup"] == 1 and data.loc[1, "explanation"] == "The reference."
    assert data["diff_pct"].to_numpy() == pytest.approx(100 * (data["eie_sim_speedup"] / data.index - 1))
    runs = study[0].runs
    at_64 = runs[(runs["pes"] == 64) & (runs["spmat_width_bits"] == 64) & (runs["spmat_read_mode"] == READ_MODES[0])]
    layers = at_64[at_64["name"] != "total"]
    waiting = list(layers.loc[layers["cycles"] > layers["compute_cycles"], "name"])
    explanation = data.loc[64, "explanation"]
    assert ("waits on DRAM" in explanation) == bool(waiting)
    assert all(name in explanation for name in waiting)


def test_width_verdicts_follow_the_signs(study) -> None:
    comparison = next(c for c in study[0].comparisons if c.name == "validation_sram_width")
    data = comparison.data
    assert set(data["read_mode"]) == set(READ_MODES) and set(data["spmat_width_bits"]) == set(WIDTHS)
    others = data[data["spmat_width_bits"] != published.FIG_9_BEST_WIDTH_BITS]
    for row in others.itertuples():
        assert row.explanation.startswith("Agrees" if row.diff_pct > 0 else "Disagrees")
    for mode, rows in data.groupby("read_mode"):
        lowest = rows.loc[rows["read_energy_pj"].idxmin(), "spmat_width_bits"]
        assert f"{lowest} bits with {mode} reads" in comparison.text


def test_report_writes_the_validation_page_alone(study, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(report, "run_validation", lambda *args: study[0])
    out = tmp_path / "site"
    assert main(["report", "--study", "validation", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "validation.md")
    assert not (out / "README.md").exists()
    page = (out / "validation.md").read_text()
    assert page.count("\n## ") == 4
    for target in re.findall(r"\]\(([^)]+)\)", page):
        assert (out / target).exists(), target
    for comparison in study[0].comparisons:
        assert f"![{comparison.title}]({comparison.name}.png)" in page
        written = pd.read_csv(out / f"{comparison.name}.csv")
        assert list(written.columns) == list(comparison.data.columns)
    assert "\n|---|---:|---:|---:|---:|---:|---:|---|\n" in page  # Table IV: numbers right-aligned, words left


def test_report_output_defaults_away_from_the_committed_reports() -> None:
    args = build_parser().parse_args(["report"])
    assert args.out == report_cli.DEFAULT_OUT != "reports"
    assert report_cli.STUDIES == report.STUDIES
    assert ArchConfig().n_pes in published.FIG_11_PES and 64 in published.FIG_9_WIDTHS_BITS


def test_net_needs_the_standard_study(tmp_path, capsys) -> None:
    assert main(["report", "--study", "validation", "--net", "x.net", "--out", str(tmp_path)]) == 2
    assert "--net" in capsys.readouterr().err
