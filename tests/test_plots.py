import matplotlib.image
import pytest

from eie_sim.cli import main
from eie_sim.results.plots import PLOTS, plot_all
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
