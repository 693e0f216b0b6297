import os
import subprocess
import sys

import matplotlib.image
import pytest

from eie_sim.cli import main
from eie_sim.results.plots import PLOTS, load_efficiency_vs_fifo, plot_all, speedup_vs_pes
from eie_sim.studies.sweep import sweep


@pytest.fixture(scope="module")
def results():
    return sweep("lenet-300-100", {"n_pes": [1, 4, 16], "fifo_depth": [1, 8], "spmat_width": [32, 64]})


def test_every_plot_is_drawn_as_png_and_svg(results, tmp_path):
    written = plot_all(results, tmp_path)
    assert sorted(p.stem for p in written) == sorted(PLOTS)
    for png in written:
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 300 and image.shape[1] > 300
        assert image.std() > 0.01  # not blank
        assert png.with_suffix(".svg").read_text().startswith("<?xml")


def test_the_same_results_give_the_same_files(results, tmp_path):
    """Re-drawing a figure rewrites identical bytes (no date, fixed ids), so a regenerated report shows no diff."""
    first = plot_all(results, tmp_path / "first", names=["energy_breakdown"])[0]
    second = plot_all(results, tmp_path / "second", names=["energy_breakdown"])[0]
    for suffix in (".png", ".svg"):
        assert first.with_suffix(suffix).read_bytes() == second.with_suffix(suffix).read_bytes(), suffix


def test_only_supported_plots_for_a_single_axis(tmp_path):
    frame = sweep("lenet-300-100", {"n_pes": [1, 4]})
    names = {p.stem for p in plot_all(frame, tmp_path)}
    assert "speedup_vs_pes" in names and "load_efficiency_vs_fifo" not in names and "energy_vs_spmat_width" not in names


def test_plot_command(results, tmp_path, capsys):
    csv = tmp_path / "r.csv"
    results.to_csv(csv, index=False)
    assert main(["plot", str(csv), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "speedup_vs_pes.png").exists()
    assert main(["plot", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_speedup_plot_tells_layers_apart_and_names_its_configuration(results):
    fig = speedup_vs_pes(results)
    lines = [line for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    layers = [line for line in lines if line.get_label() != "linear"]
    assert len(layers) == 3 and len({line.get_marker() for line in layers}) == len(layers)
    subtitle = fig.get_suptitle()
    assert "lenet-300-100" in subtitle and "800 MHz" in subtitle and "queue 8" in subtitle
    assert "PEs" not in subtitle  # the swept axis is on the x axis, not in the subtitle


def test_speedup_plot_shows_wall_clock_time_when_dram_limits_it(results):
    assert len(speedup_vs_pes(results).axes) == 1  # lenet fits on chip: compute cycles tell it all
    waiting = results.copy()
    slow = (waiting["pes"] == 16) & (waiting["name"] != "total")
    waiting.loc[slow, "cycles"] = 10 * waiting.loc[slow, "compute_cycles"]
    waiting.loc[slow, "time_us"] = 10 * waiting.loc[slow, "time_us"]
    fig = speedup_vs_pes(waiting)
    assert [ax.get_title() for ax in fig.axes] == ["in compute cycles", "in wall-clock time"]
    wall = fig.axes[1].get_lines()[0].get_ydata()
    compute = fig.axes[0].get_lines()[0].get_ydata()
    assert wall[-1] == pytest.approx(compute[-1] / 10)


def test_other_plots_name_their_configuration(results):
    subtitle = load_efficiency_vs_fifo(results).get_suptitle().split("\n", 1)[1]
    assert "lenet-300-100" in subtitle and "1 PE," in subtitle and "queue" not in subtitle


def test_drawing_leaves_matplotlib_global_state_alone() -> None:
    """Plots are drawn on Figure objects: importing them loads no pyplot and chooses no backend, so a user's own
    plots in the same process keep theirs."""
    code = (
        "import sys, matplotlib, eie_sim.results.plots, eie_sim.results.validation_plots, eie_sim.studies.report; "
        "assert 'matplotlib.pyplot' not in sys.modules; "
        "assert matplotlib.rcParams._get('backend') is matplotlib.rcsetup._auto_backend_sentinel"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
