import pytest

from eie_sim.arch import ArchConfig, arch_from_toml, make_arch
from eie_sim.errors import InputError


def test_defaults_are_the_published_eie():
    arch = ArchConfig()
    assert (arch.n_pes, arch.clock_mhz, arch.fifo_depth, arch.spmat_kb, arch.ptr_kb) == (64, 800.0, 8, 128.0, 32.0)
    assert arch.entries_per_word == 8 and arch.max_gap == 15
    assert arch.lnzd_nodes == 21  # Han et al. 2016, Section IV: 16 + 4 + 1 nodes for 64 PEs


@pytest.mark.parametrize(
    "field,value",
    [
        ("n_pes", 0),
        ("n_pes", -3),
        ("fifo_depth", 0),
        ("clock_mhz", 0.0),
        ("spmat_width", 4),
        ("weight_bits", 0),
        ("n_pes", 2.5),
        ("dram", "SDRAM"),
    ],
)
def test_impossible_values_name_the_field(field, value):
    with pytest.raises(InputError, match=field):
        make_arch(**{field: value})


def test_toml_with_overrides(tmp_path):
    path = tmp_path / "arch.toml"
    path.write_text("[arch]\nn_pes = 16\nfifo_depth = 4\nclock_mhz = 1000\n")
    arch = arch_from_toml(path, fifo_depth=2)
    assert (arch.n_pes, arch.fifo_depth, arch.clock_mhz) == (16, 2, 1000.0)


@pytest.mark.parametrize("text,match", [("n_pes = [", "not valid TOML"), ("pes = 4", "unknown architecture field")])
def test_bad_toml_is_a_clear_error(tmp_path, text, match):
    path = tmp_path / "arch.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        arch_from_toml(path)


def test_missing_toml(tmp_path):
    with pytest.raises(InputError, match=r"nope.toml: no such file \(the architecture file\)"):
        arch_from_toml(tmp_path / "nope.toml")
