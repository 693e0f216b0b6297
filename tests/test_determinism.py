"""Determinism: the same seed gives the same numbers, run after run, process after process and engine after engine;
different seeds give different weights. (Sweeps over job counts and Dask are covered in test_sweep.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sample_files

from eie_sim import ArchConfig, load_workload, simulate
from eie_sim.results.result import Result

SMALL = ArchConfig(n_pes=8, fifo_depth=2, rf_entries=16)


def assert_same(a: Result, b: Result, engines_differ: bool = False) -> None:
    pd.testing.assert_frame_equal(a.layers, b.layers)
    pd.testing.assert_series_equal(a.total, b.total)
    pd.testing.assert_frame_equal(a.pes, b.pes)
    tensors, others = a.functional.fixed_tensors, b.functional.fixed_tensors
    assert tensors.keys() == others.keys()
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(tensor, others[name], err_msg=name)
    if not engines_differ:
        assert a.to_json() == b.to_json()


@pytest.fixture(scope="module")
def cnn_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("spec") / "cnn.toml"
    path.write_text(sample_files.CNN_SPEC)
    return str(path)


@pytest.mark.parametrize("workload", ["lenet-300-100", "alex-8", "cnn"])
def test_same_seed_same_results(workload, cnn_spec):
    name = cnn_spec if workload == "cnn" else workload
    first = simulate(load_workload(name, seed=7), SMALL)
    again = simulate(load_workload(name, seed=7), SMALL)
    assert_same(first, again)


@pytest.mark.parametrize("workload", ["lenet-300-100", "cnn"])
def test_both_engines_give_identical_results(workload, cnn_spec):
    """Cycles, every counter, per-PE busy/starved/idle cycles and every output, on whole networks."""
    network = load_workload(cnn_spec if workload == "cnn" else workload)
    for arch in (SMALL, ArchConfig(), ArchConfig(n_pes=12, fifo_depth=1, rf_entries=2, conv_mapping="positions")):
        assert_same(
            simulate(network, arch, engine="fast", verify=True),
            simulate(network, arch, engine="simpy"),
            engines_differ=True,
        )


def test_different_seeds_give_different_weights_and_inputs(cnn_spec):
    for name in ("lenet-300-100", cnn_spec):
        a, b = load_workload(name, seed=0), load_workload(name, seed=1)
        for first, other in zip(a.layers, b.layers):
            assert first.nnz == other.nnz  # the same density...
            assert not np.array_equal(first.dense_codes(), other.dense_codes())  # ...elsewhere, other values
        assert not np.array_equal(a.input, b.input)
        assert simulate(a, SMALL).total["cycles"] != simulate(b, SMALL).total["cycles"]


def test_output_is_identical_across_processes(tmp_path):
    """Two interpreters with different hash seeds print the same JSON, byte for byte."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run{hash_seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        command = [
            sys.executable,
            "-m",
            "eie_sim",
            "simulate",
            "lenet-300-100",
            "--seed",
            "3",
            "--format",
            "json",
            "--out",
            str(out),
        ]
        subprocess.run(command, check=True, env=env, timeout=120)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
