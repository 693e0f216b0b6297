"""Figures the documentation quotes, checked against the code, data and files they come from.

Simulated results are never copied into docs/ by hand: the pages link the generated report (reports/). What the
pages do quote (defaults, model parameters, energies, facts of the pinned SqueezeNet release, the module map) is
checked here, so that a change to the code fails a test until the page follows it.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eie_sim.arch import ArchConfig
from eie_sim.costs.calibration import MODULE_NAMES, TABLE_II_KINDS_MW, TABLE_II_MW, TABLE_II_TOTAL_MW
from eie_sim.costs.energy import COMPONENTS, default_table, energy_model
from eie_sim.formats.synthetic import default_models
from eie_sim.formats.workloads import builtin_specs
from eie_sim.support.fetch import RELEASES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# synthetic SqueezeNet layer names -> the release's prototxt names
REAL_NAMES = {"squeeze1x1": "conv1x1_1", "expand1x1": "conv1x1_2", "expand3x3": "conv3x3_2"}


def page(name: str) -> str:
    return (DOCS / name).read_text()


def prose(text: str) -> str:
    """The text with every run of whitespace made one space, so that quotes may wrap lines."""
    return " ".join(text.split())


def table(text: str, first_header: str) -> list[list[str]]:
    """The body rows (cells stripped) of the markdown table whose header row starts with `| first_header |`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def row(rows: list[list[str]], first_cell: str) -> list[str]:
    return next(r for r in rows if r[0].startswith(first_cell))


def plain(cell: str) -> str:
    return cell.replace("`", "").replace("*", "").strip()


def real_name(synthetic: str) -> str:
    if synthetic == "conv10":
        return "conv_final"
    fire, kind = synthetic.split("/")
    return f"{fire}/{REAL_NAMES[kind]}"


# --------------------------------------------------------------------------------------------------------------
# Architecture, timing


def test_architecture_table_lists_every_field_with_its_default() -> None:
    rows = {plain(r[0]): plain(r[1]) for r in table(page("architecture-config.md"), "field")}
    arch = ArchConfig()
    assert set(rows) == {f.name for f in fields(arch)}
    for f in fields(arch):
        value = getattr(arch, f.name)
        assert rows[f.name] == (f"{value:g}" if isinstance(value, float) else str(value)), f.name
    assert f"{arch.lnzd_nodes} for {arch.n_pes} PEs" in prose(page("architecture-config.md"))


def test_benchmark_ratios_are_the_committed_ones() -> None:
    """The speed ratios docs/sweeps.md quotes are those of reports/bench.csv (regenerate both together)."""
    bench = pd.read_csv(ROOT / "reports" / "bench.csv").set_index("layer")
    text = prose(page("sweeps.md"))
    assert f"about {round(bench.at['suite', 'simpy_over_fast'], -2):.0f} times faster than the simpy engine" in text
    assert f"in about the time ({bench.at['suite', 'fast_over_spmv']:.1f}x)" in text
    slowest = bench.drop(index="suite")["fast_over_spmv"].idxmax()
    assert f"on `{slowest}` ({bench.at[slowest, 'fast_over_spmv']:.1f}x)" in text


def test_fast_engine_loop_is_named() -> None:
    from eie_sim.engine import fast

    assert "compiled with numba (`_runs`)" in prose(page("timing.md")) and callable(fast._runs)


# --------------------------------------------------------------------------------------------------------------
# Energy


def test_per_action_energies_are_the_models() -> None:
    rows = table(page("energy.md"), "action")
    text = prose(page("energy.md"))
    model, data = energy_model(ArchConfig()), default_table()
    arithmetic = data.section("arithmetic")

    def pj(x: float) -> str:
        return f"{x:.2f}"

    expected = {
        "sparse-matrix SRAM read": f"{pj(model.spmat.read_pj)} pJ",
        "sparse-matrix SRAM write": f"{pj(model.spmat.write_pj)} pJ",
        "pointer SRAM read": f"{pj(model.ptr_bank.read_pj)} pJ",
        "pointer SRAM write": f"{pj(model.ptr_bank.write_pj)} pJ",
        "activation SRAM read / write": f"{pj(model.act_sram.read_pj)} / {pj(model.act_sram.write_pj)} pJ",
        "activation register file": f"{pj(model.rf.read_pj)} / {pj(model.rf.write_pj)} pJ",
        "16-bit fixed multiply": f"{pj(arithmetic['multiply_pj'])} pJ",
        "accumulate": f"{pj(arithmetic['accumulate_pj'])} pJ",
        "relative-index add": f"{pj(arithmetic['index_add_pj'])} pJ",
        "codebook lookup": f"{pj(arithmetic['codebook_lookup_pj'])} pJ",
        "one entry through the arithmetic unit": f"{pj(model.arithmetic.entry_pj)} pJ",
        "activation queue push / pop": f"{pj(model.queue.push_pj)} / {pj(model.queue.pop_pj)} pJ",
        "LNZD node evaluation": f"{pj(model.central.node_pj)} pJ",
        "broadcast": f"{data.number('broadcast', 'pj_per_bit_mm'):g} pJ/bit/mm x "
        f"{data.number('broadcast', 'wire_mm_per_pe'):g} mm per PE",
        "central-unit clock": f"{1000 * data.number('clock', 'pj_per_flop_cycle'):.2f} fJ per flop per cycle x "
        f"{data.number('lnzd', 'node_flops'):g} flops per LNZD node",
        "DRAM, per bit": ", ".join(
            f"{kind} {data.number('dram', f'{kind}_pj_per_bit'):g}" for kind in ("LPDDR4", "DDR3", "GDDR5", "HBM2")
        )
        + " pJ",
        "SRAM leakage": f"{data.number('sram', 'leakage_mw_per_kb'):.1e}".replace("e-0", "e-") + " mW per KiB",
    }
    for action, energy in expected.items():
        assert row(rows, action)[1] == energy, action
    sram = data.section("sram")
    width = sram["reference_width_bits"]
    assert f"`read(C, W) = ref(C) x (W / {width})^{sram['read_width_exponent']}`" in text
    assert (
        f"`write(C, W) = {sram['write_to_read_at_reference']} x ref(C) x (W / {width})^{sram['write_width_exponent']}`"
        in text
    )
    assert ", ".join(map(str, sram["ref_read_pj"])) + " pJ" in text


def test_energy_components_in_their_order() -> None:
    assert ", ".join(f"`{c}`" for c in COMPONENTS) in prose(page("energy.md"))


def test_table_two_figures_are_the_calibration_targets() -> None:
    text = page("energy.md")
    rows = table(text, "module")
    for module, name in MODULE_NAMES.items():
        assert row(rows, name)[1] == f"{TABLE_II_MW[module]:.3f}", name
    assert row(rows, "PE total")[1] == f"{TABLE_II_TOTAL_MW:.3f}"
    for kind, mw in TABLE_II_KINDS_MW.items():
        assert f"{kind} {mw:.3f} mW" in prose(text), kind


# --------------------------------------------------------------------------------------------------------------
# Workloads


def test_fitted_sigmas_are_the_squeezenet_specs() -> None:
    spec = tomllib.loads((ROOT / "workloads" / "squeezenet.toml").read_text())
    ops = {op["name"]: op for op in spec["op"]}
    rows = table(page("workloads.md"), "layer")
    assert len(rows) == 13
    for name, _, _, *sigmas in rows:
        for key, cell in zip(("row_sigma", "channel_sigma", "position_sigma"), sigmas):
            if cell == "-":
                assert key not in ops[name], (name, key)
            else:
                assert float(cell) == ops[name].get(key, 0.0), (name, key)


def test_default_weight_model_is_the_shipped_one() -> None:
    text = prose(page("workloads.md"))
    fc, conv = default_models()["fc"], default_models()["conv"]
    assert f"`row_sigma {fc.row_sigma:.3f}, channel_sigma {fc.channel_sigma:.3f}`" in text
    assert (
        f"`row_sigma {conv.row_sigma:.3f}, channel_sigma {conv.channel_sigma:.3f}, "
        f"position_sigma {conv.position_sigma:.3f}`" in text
    )
    assert f"`1 + {fc.shape_slope:g} * ln(1/density)`" in text
    assert f"`{fc.magnitude_scale:g} / sqrt(fan_in)`" in text
    assert f"standard deviation {fc.bias_scale:g} x the layer's" in text


def test_squeezenet_spec_counts() -> None:
    spec = builtin_specs()["squeezenet"]
    assert f"the synthetic `squeezenet` has {spec.nonzeros:,}." in prose(page("workloads.md"))
    for fire in ("fire8", "fire9"):
        ops = [op for op in spec.ops if op.name.startswith(f"{fire}/") and op.weight_shape]
        assert sum(op.nonzeros + op.weight_shape[0] for op in ops) == 77_581, fire
    assert "fire8 and fire9 then hold 77,581 parameters" in prose(page("workloads.md"))


# --------------------------------------------------------------------------------------------------------------
# The real SqueezeNet: checksums always, the file's own figures when the release is at hand


def test_release_checksums_are_the_pinned_ones() -> None:
    rows = {plain(r[0]): plain(r[2]) for r in table(page("squeezenet.md"), "file")}
    assert rows == RELEASES["squeezenet-dc"].sha256
    assert RELEASES["squeezenet-dc"].base_url.split("/")[-2] in page("squeezenet.md")


@pytest.fixture(scope="module")
def release(real_model):
    from eie_sim.formats.caffe import load_caffe_net

    return load_caffe_net(real_model.net, real_model.prototxt, input=np.zeros((3, 227, 227), np.float32))


def test_release_file_sizes(real_model) -> None:
    rows = {plain(r[0]): int(r[1].replace(",", "")) for r in table(page("squeezenet.md"), "file")}
    sizes = {"compressed_SqueezeNet.net": real_model.net, "SqueezeNet_deploy.prototxt": real_model.prototxt}
    assert rows == {name: path.stat().st_size for name, path in sizes.items()}
    download_kb = round(sum(rows.values()) / 1000)
    for text in (page("index.md"), (ROOT / "README.md").read_text()):
        assert f"({download_kb} KB, once" in prose(text)


def test_release_layers_table(release) -> None:
    rows = table(page("squeezenet.md"), "layer")
    layers = {layer.name: layer for layer in release.layers}
    assert [r[0].split()[0] for r in rows[:-1]] == list(layers)
    for cells in rows[:-1]:
        layer = layers[cells[0].split()[0]]
        assert cells[1] == " x ".join(map(str, layer.shape)), layer.name
        assert cells[2] == f"{layer.nnz:,}", layer.name
        assert cells[3] == f"{100 * layer.nnz / math.prod(layer.shape):.2f}%", layer.name
        assert cells[4] == f"{release.fillers[layer.name]:,}", layer.name
    weights = sum(math.prod(layer.codes.shape) for layer in release.layers)
    nnz = sum(layer.nnz for layer in release.layers)
    total = [plain(c) for c in rows[-1]]
    assert total[1:] == [
        f"{weights:,}",
        f"{nnz:,}",
        f"{100 * nnz / weights:.2f}%",
        f"{sum(release.fillers.values()):,}",
    ]
    biases = sum(layer.codes.shape[0] for layer in release.layers)
    quoted = f"({100 * nnz / weights:.1f}% of the {weights:,} weights; {weights + biases:,} parameters with"
    assert quoted in prose(page("squeezenet.md"))


def test_conv10_is_not_uniform(release) -> None:
    mask = release.layer("conv_final").codes.dense() != 0
    rows, cols = mask.shape
    density = mask.mean()
    text = page("squeezenet.md")
    cells = table(text, "conv10 non-zeros")
    for label, counts, n in (("per row", mask.sum(axis=1), cols), ("per column", mask.sum(axis=0), rows)):
        assert row(cells, label)[1:] == [
            f"{counts.mean():.1f}",
            f"{counts.std():.1f}",
            f"{counts.min()}-{counts.max()}",
            f"{math.sqrt(n * density * (1 - density)):.1f}",
        ], label
    per_pe = np.bincount(np.nonzero(mask)[0] % 64, minlength=64)
    assert f"the busiest PE holds {per_pe.max() / per_pe.mean():.3f}x" in prose(text)
    rng = np.random.default_rng(0)
    uniform = []
    for _ in range(20):
        kept = rng.choice(rows * cols, int(mask.sum()), replace=False) // cols
        counts = np.bincount(kept % 64, minlength=64)
        uniform.append(counts.max() / counts.mean())
    assert f"uniform random sparsity gives {np.mean(uniform):.2f}x" in prose(text)


def test_fit_table_real_statistics(release) -> None:
    for name, density, stats, *_ in table(page("workloads.md"), "layer"):
        layer = release.layer(real_name(name))
        mask = layer.codes.dense() != 0
        columns = mask.sum(axis=0)
        per_channel = columns.reshape(-1, layer.kernel * layer.kernel).sum(axis=1)
        measured = (mask.sum(axis=1).std(), per_channel.std(), columns.std())
        assert density == f"{mask.mean():.3f}", name
        assert stats == " / ".join(f"{x:.1f}" for x in measured), name


@pytest.mark.parametrize("photo", ["china.jpg", "flower.jpg"])
def test_float_top5_classes(real_model, photo: str) -> None:
    pytest.importorskip("PIL")
    pytest.importorskip("sklearn")
    from eie_sim.formats.caffe import load_caffe_net
    from eie_sim.model.functional import functional_model

    network = load_caffe_net(real_model.net, real_model.prototxt, input=photo)
    _, reference = functional_model(network, 16).top_classes(5)
    quoted = row(table(page("squeezenet.md"), "photo"), photo)[1]
    assert [int(c) for c in re.findall(r"\b(\d+) [a-z]", quoted)] == reference.tolist()


# --------------------------------------------------------------------------------------------------------------
# The module map


def test_code_layout_lists_every_module() -> None:
    listed = set(re.findall(r"^\| `(eie_sim/[\w/]+\.py)` \|", page("code-layout.md"), flags=re.MULTILINE))
    present = {str(path.relative_to(ROOT)) for path in (ROOT / "eie_sim").rglob("*.py")}
    assert listed == present
