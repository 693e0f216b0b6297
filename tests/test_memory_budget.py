"""The memory budget: work that cannot fit is refused at once with advice; the estimates bound the real peak."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from eie_sim import ArchConfig, load_workload
from eie_sim.cli import main
from eie_sim.errors import InputError
from eie_sim.studies.simulate import memory_need
from eie_sim.support import memory_budget

HUGE_FC = """name = "huge"
[input]
shape = [2000000]
density = 0.1
[[op]]
type = "fc"
name = "wide"
out = {out}
density = 0.01
bits = 4
"""


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], *names: str) -> str:
    start = time.perf_counter()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert time.perf_counter() - start < 5  # refused before anything large is built
    assert "GiB of memory" in err and "available" in err
    for name in names:
        assert name in err, (name, err)
    return err


def test_an_absurd_layer_is_refused_before_it_is_generated(capsys, tmp_path):
    spec = tmp_path / "huge.toml"
    spec.write_text(HUGE_FC.format(out=2_000_000))
    refused(capsys, ["simulate", str(spec)], str(spec), "2,000,000 x 2,000,000 weights", "smaller or sparser network")


def test_too_many_pes_are_refused_before_the_layer_is_encoded(capsys, monkeypatch, tmp_path):
    """vgg-6 (4096 x 25088) on 4096 PEs with one-entry register files: 103M column slices, some 7 GB to simulate."""
    arch = tmp_path / "rf1.toml"
    arch.write_text("rf_entries = 1\n")
    monkeypatch.setenv("EIE_SIM_MEMORY_LIMIT", "3G")
    for command in ("simulate", "compress"):
        line = refused(capsys, [command, "vgg-6", "--pes", "4096", "--arch", str(arch)], "network vgg-6 on 4096 PEs")
        assert "102,760,448 (tile, PE, column) slices" in line and "fewer PEs (--pes)" in line


def test_a_net_file_claiming_huge_layers_is_refused_from_its_header(capsys, tmp_path):
    prototxt = tmp_path / "huge.prototxt"
    prototxt.write_text(
        'input: "data"\ninput_shape { dim: 1 dim: 3000000 }\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
        "inner_product_param { num_output: 3000000 } }\n"
    )
    net = tmp_path / "huge.net"
    net.write_bytes(struct.pack("<I", 4_000_000_000))  # the header alone: 4e9 entries claimed, nothing else
    refused(capsys, ["simulate", str(net)], str(net), "3,000,000 x 3,000,000")


def test_an_npz_is_measured_from_its_headers_before_it_is_inflated(monkeypatch, tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, **{"a.weight": np.zeros((1000, 1000))})  # 8 MB inflated, a few KB on disk
    monkeypatch.setenv("EIE_SIM_MEMORY_LIMIT", str(memory_budget.BASELINE + 4_000_000))
    with pytest.raises(InputError, match=r"zeros.npz: needs about .* \(1,000,000 weights\)"):
        load_workload(str(path))


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """An .npy file's header alone: it declares `shape`, and no data follows."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["plain", "compressed"])
@pytest.mark.parametrize(
    "member, named",
    [("b.weight", "10,000,000,006 weights"), ("input", "40,000,000,000 bytes of file contents")],
    ids=["weights", "input"],
)
def test_an_npy_header_claiming_100000_by_100000_is_one_line(capsys, tmp_path, compression, member, named):
    path = tmp_path / "claims.npz"
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("a.weight.npy", npy_header((3, 2)) + np.ones((3, 2), "<f4").tobytes())
        archive.writestr(f"{member}.npy", npy_header((100_000, 100_000)))
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MemoryError" not in err and str(path) in err and named in err, err


def test_parallel_workers_multiply_the_need():
    need = memory_need(load_workload("alex-8"), ArchConfig())
    assert need.times(4).bytes == 4 * need.bytes and "4 workers" in need.times(4).what
    assert need.times(1) is need


def test_more_pes_and_smaller_register_files_need_more_memory():
    network = load_workload("vgg-6")
    default = memory_need(network, ArchConfig()).bytes
    assert memory_need(network, ArchConfig(n_pes=4096, rf_entries=1)).bytes > 4 * default
    assert memory_need(network, ArchConfig(n_pes=256)).bytes > default


def test_the_limit_is_the_machine_or_the_environment(monkeypatch):
    monkeypatch.delenv("EIE_SIM_MEMORY_LIMIT", raising=False)
    assert memory_budget.memory_limit() > memory_budget.BASELINE
    monkeypatch.setenv("EIE_SIM_MEMORY_LIMIT", "1.5G")
    assert memory_budget.memory_limit() == int(1.5 * 2**30)
    monkeypatch.setenv("EIE_SIM_MEMORY_LIMIT", "lots")
    with pytest.raises(InputError, match="EIE_SIM_MEMORY_LIMIT"):
        memory_budget.memory_limit()


@pytest.mark.parametrize(
    "workload, arch",
    [("alex-8", {"n_pes": 2048, "rf_entries": 1}), ("squeezenet", {}), ("eie-paper", {})],
    ids=["slices", "convolutions", "paper layers"],
)
@pytest.mark.slow
def test_the_estimate_bounds_the_measured_peak(workload, arch):
    """Peak resident memory of a real run (its own process) against the estimate, which must not be lower."""
    code = (
        "from pathlib import Path\n"
        "from eie_sim import ArchConfig, load_workload, simulate\n"
        f"simulate(load_workload({workload!r}), ArchConfig(**{arch!r}))\n"
        "print(int(Path('/proc/self/status').read_text().split('VmHWM:')[1].split()[0]) * 1024)\n"
    )  # VmHWM, not ru_maxrss: that one keeps the forking pytest process's peak across exec
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    measured = int(done.stdout.split()[-1])
    estimate = memory_need(load_workload(workload), ArchConfig(**arch)).bytes
    assert measured <= estimate, f"measured {measured / 2**20:.0f} MiB > estimated {estimate / 2**20:.0f} MiB"


def test_a_sweep_is_checked_for_all_its_workers_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit that holds one worker's need refuses the same sweep on many workers, before any point runs."""
    from eie_sim.formats.workloads import load_workload
    from eie_sim.studies.simulate import memory_need
    from eie_sim.studies.sweep import sweep

    need = memory_need(load_workload("nt-we"), ArchConfig(n_pes=8)).bytes
    monkeypatch.setenv("EIE_SIM_MEMORY_LIMIT", str(int(need * 1.5)))
    assert len(sweep("nt-we", {"n_pes": [8]}, jobs=1)) == 2  # the layer and the total
    with pytest.raises(InputError, match=r"sweep of nt-we on 4 workers: .*4 workers, each.*fewer parallel jobs"):
        sweep("nt-we", {"n_pes": [4, 8, 16, 32]}, jobs=4)
