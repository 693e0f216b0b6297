"""Workloads by name or path: the built-in specs (workloads/*.toml), spec files, .npz, .onnx and Deep Compression .net.

A released model's name (`squeezenet-dc`, see eie_sim.support.fetch) stands for its file in the user cache.

Built-ins are data files of the package eie_sim._workloads, each citing its sources. Every layer of a built-in that
reads an input of its own (the EIE paper's benchmark layers) is a workload by itself too, under its layer name.
Synthetic weights are generated on every load, from the seed; nothing is cached on disk.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib.resources import files
from pathlib import Path

import pandas as pd

from eie_sim.errors import InputError
from eie_sim.formats.npz import load_npz, save_npz
from eie_sim.formats.spec import Spec, build, parse_spec
from eie_sim.model.network import Network
from eie_sim.support.fetch import RELEASES, release_file
from eie_sim.support.files import read_text

__all__ = ["load_workload", "list_workloads", "workload_table", "save_npz"]

_FILE_KINDS = ".toml, .npz, .onnx or .net"


@cache
def builtin_specs() -> dict[str, Spec]:
    """The parsed built-in specs by name, in file-name order."""
    specs = {}
    for entry in sorted(files("eie_sim._workloads").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            spec = parse_spec(entry.read_text(), f"workloads/{entry.name}")
            specs[spec.name] = spec
    return specs


def _standalone() -> dict[str, Spec]:
    """Layer name -> the built-in spec it belongs to, for layers that are workloads by themselves."""
    return {layer: spec for spec in builtin_specs().values() for layer in spec.standalone}


def list_workloads() -> list[str]:
    """Built-in networks, then the layers that are workloads by themselves."""
    return [*builtin_specs(), *_standalone()]


def load_workload(name_or_path: str, seed: int = 0, weight_bits: int = 4, image: str | None = None) -> Network:
    """A built-in name or a workload file -> Network.

    `weight_bits` applies to float weights that need sharing (.npz, .onnx); built-ins and .net files carry their
    own code widths (see eie_sim.compress.share.requantize_network to narrow them). `image` (a file or a
    scikit-learn sample photo name) replaces the input of a network that takes a 3 x 227 x 227 image.
    """
    if name_or_path in RELEASES:
        name_or_path = str(release_file(name_or_path))
    network = _load(name_or_path, seed, weight_bits, image)
    if image is None or name_or_path.lower().endswith(".net"):
        return network
    from eie_sim.formats.image import load_image

    picture = load_image(image)
    if network.input.shape != picture.shape:
        raise InputError(
            f"--image: {name_or_path} takes an input of shape {network.input.shape}, not a {picture.shape} image"
        )
    return replace(network, input=picture)


def _load(name_or_path: str, seed: int, weight_bits: int, image: str | None) -> Network:
    specs = builtin_specs()
    if name_or_path in specs:
        return build(specs[name_or_path], seed)
    standalone = _standalone()
    if name_or_path in standalone:
        return build(standalone[name_or_path], seed, only=name_or_path)
    path = Path(name_or_path)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return build(parse_spec(read_text(path, "workload spec"), str(path)), seed)
    if suffix == ".npz":
        return load_npz(path, seed=seed, weight_bits=weight_bits)
    if suffix == ".net":
        from eie_sim.formats.caffe import load_caffe_net

        return load_caffe_net(path, input=image)
    if suffix == ".onnx":
        from eie_sim.formats.onnx import load_onnx

        return load_onnx(path, seed=seed, weight_bits=weight_bits)
    raise InputError(
        f"{name_or_path}: unknown workload; built-ins are {', '.join(list_workloads())}; released models "
        f"(`eie-sim fetch NAME`) are {', '.join(RELEASES)}; files are {_FILE_KINDS}"
    )


def workload_table() -> pd.DataFrame:
    """One row per built-in workload: kind, weighted layers, weights and non-zeros (counts), description, source."""
    rows = [
        {
            "name": spec.name,
            "kind": spec.kind,
            "layers": spec.layers,
            "weights": spec.weights,
            "nonzeros": spec.nonzeros,
            "description": spec.description,
            "source": spec.source,
        }
        for spec in builtin_specs().values()
    ]
    for layer, spec in _standalone().items():
        op = spec.op(layer)
        rows.append(
            {
                "name": layer,
                "kind": "fc-layer",
                "layers": 1,
                "weights": op.weights,
                "nonzeros": op.nonzeros,
                "description": f"one layer of {spec.name}",
                "source": op.raw.get("source", spec.source),
            }
        )
    return pd.DataFrame(rows)
