""".npz network files: the plain interchange format, and the exact compressed form that save_npz writes.

Plain format (any tool can write it with numpy.savez): arrays `<layer>.weight` (outputs x inputs for FC;
out x in x kh x kw for conv), optional `<layer>.bias`, optional `input`. Layers run in stored order, each reading
the previous one's output (a conv output is flattened before an FC layer); convolutions have stride 1 and no
padding; every layer but the last has a ReLU. Weights with at most 2**B - 1 distinct non-zero values keep them as
their codebook; others are shared by k-means (eie_sim.compress.share). Without `input`, an FC-first network gets a
seeded ReLU-like input (half-normal values, 50% zeros); a conv-first one must bring its input.

Compressed form (save_npz): per layer `<layer>.gaps` (zeros before each non-zero weight, in Caffe order) and
`<layer>.codes` (its code), `<layer>.codebook`, optional `<layer>.bias`; `input`, the extra inputs under their
tensor names, and `graph`: a JSON string with every op's fields (shapes, strides, pads, ReLU, tensor names, pools,
concatenations), so that loading gives back the same network, codes and all.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
import zlib
from dataclasses import fields
from pathlib import Path
from tokenize import TokenError
from typing import Any, BinaryIO, Literal

import numpy as np

from eie_sim.compress.share import make_layer
from eie_sim.errors import InputError
from eie_sim.formats import synthetic
from eie_sim.model.network import Network
from eie_sim.model.ops import INPUT, Concat, Flatten, Layer, Op, Pool
from eie_sim.model.sparse import SparseCodes, code_dtype
from eie_sim.support.files import write_atomic
from eie_sim.support.memory_budget import Need, build_need
from eie_sim.support.parsing import parse_json

GRAPH = "graph"
_FORMAT = "eie-sim network"
_OPS: dict[str, type] = {"Layer": Layer, "Pool": Pool, "Concat": Concat, "Flatten": Flatten}
_ARRAY_FIELDS = ("codes", "codebook", "bias")  # a Layer's fields stored as arrays; its `shape` is in the graph
_ZIP_MAGIC = b"PK\x03\x04"
_LAYER_ARRAYS = ("gaps", "codes", "codebook", "bias")  # per layer, in the compressed form


def save_npz(network: Network, path: str | Path) -> None:
    """Write `network` as a compressed .npz that load_npz reads back to the same network (atomically)."""
    arrays: dict[str, Any] = {}
    ops = []
    for op in network.ops:
        record = {f.name: getattr(op, f.name) for f in fields(op) if f.name not in _ARRAY_FIELDS}
        ops.append({"op": type(op).__name__, **record})
        if isinstance(op, Layer):
            position, codes = op.codes.row_major()
            gap = np.diff(position, prepend=-1) - 1
            arrays[f"{op.name}.gaps"] = gap.astype(np.min_scalar_type(int(gap.max(initial=0))))
            arrays[f"{op.name}.codes"] = codes
            arrays[f"{op.name}.codebook"] = np.asarray(op.codebook, dtype=np.float64)
            if op.bias is not None:
                arrays[f"{op.name}.bias"] = op.bias
    for name, tensor in {INPUT: network.input, **network.extra_inputs}.items():
        if name in arrays or name == GRAPH:
            raise InputError(f"{path}: input tensor name {name!r} collides with another array of the file")
        arrays[name] = tensor
    graph = {"format": _FORMAT, "version": 1, "name": network.name, "source": network.source, "ops": ops,
             "extra_inputs": list(network.extra_inputs)}  # fmt: skip
    arrays[GRAPH] = np.array(json.dumps(graph))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(path, buffer.getvalue())


def load_npz(path: str | Path, seed: int = 0, weight_bits: int = 4) -> Network:
    """Read a .npz network file (plain or compressed form); every mistake is an InputError naming the file."""
    path = Path(path)
    arrays = _read_arrays(path)
    try:
        return _from_graph(path, arrays) if GRAPH in arrays else _from_chain(path, arrays, seed, weight_bits)
    except InputError as exc:
        message = str(exc)
        raise InputError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not an .npz file")
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC or not zipfile.is_zipfile(handle):  # numpy would try it as a pickle
                raise InputError(f"{path}: not an .npz file (not a zip archive of .npy arrays)")
            handle.seek(0)
            declared_need(handle).check(str(path))  # from the .npy headers, before any array is inflated
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
    except InputError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        RuntimeError,
        SyntaxError,
        TokenError,
    ) as exc:
        # RuntimeError (NotImplementedError too): zipfile's encrypted members, unsupported versions and features;
        # SyntaxError and TokenError: numpy parses a header as a Python literal, and a garbled one may not tokenize
        raise InputError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None


def declared_need(handle: BinaryIO) -> Need:
    """The memory loading an .npz needs, from the shapes and types its .npy headers declare: a dense weight array
    is processed further (its non-zeros found and shared), any other array is only kept."""
    weights = other = 0
    with zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = header(member)  # the header alone
            if info.filename.endswith(".weight.npy"):
                weights += math.prod(shape)
            else:
                other += math.prod(shape) * dtype.itemsize
    return build_need([], dense_weights=weights, file_bytes=other)


def _weights(arrays: dict[str, np.ndarray], name: str, kind: str) -> np.ndarray:
    weights = arrays[f"{name}.weight"]
    want = 2 if kind == "fc" else 4
    if weights.ndim != want or weights.dtype.kind not in "fiu":
        raise InputError(f"{name}.weight: expected a {want}-D numeric array, got {weights.dtype} shape {weights.shape}")
    return weights


def _bias(arrays: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    bias = arrays.get(f"{name}.bias")
    if bias is None or bias.dtype.kind == "f":
        return bias
    if bias.dtype.kind not in "iu":
        raise InputError(f"{name}.bias: expected numbers, got {bias.dtype}")
    return bias.astype(np.float64)


def _from_chain(path: Path, arrays: dict[str, np.ndarray], seed: int, weight_bits: int) -> Network:
    names = [key[: -len(".weight")] for key in arrays if key.endswith(".weight")]
    if not names:
        raise InputError(f"{path}: no <layer>.weight arrays (a network file holds <layer>.weight, <layer>.bias, input)")
    known = {INPUT} | {f"{n}.weight" for n in names} | {f"{n}.bias" for n in names}
    stray = sorted(set(arrays) - known)
    if stray:
        raise InputError(
            f"{path}: unexpected array(s) {', '.join(stray)}; expected <layer>.weight, <layer>.bias, input"
        )
    ops: list[Op] = []
    previous, planes = INPUT, False
    for index, name in enumerate(names):
        weights = arrays[f"{name}.weight"]
        if weights.ndim not in (2, 4):
            raise InputError(
                f"{name}.weight: expected 2 dimensions (outputs x inputs) or 4 (out x in x kh x kw), "
                f"got shape {weights.shape}"
            )
        kind: Literal["fc", "conv"] = "fc" if weights.ndim == 2 else "conv"
        weights = _weights(arrays, name, kind)
        if kind == "fc" and planes:
            ops.append(Flatten(name=f"{name}/flatten", inputs=(previous,)))
            previous = ops[-1].output
        layer = make_layer(
            name, kind, weights, weight_bits, bias=_bias(arrays, name), relu=index < len(names) - 1, inputs=(previous,)
        )
        ops.append(layer)
        previous, planes = layer.output, kind == "conv"
    first = ops[0]
    assert isinstance(first, Layer)
    x = arrays.get(INPUT)
    if x is None:
        if first.kind == "conv":
            raise InputError(
                f"{path}: the first layer {first.name} is a convolution; add an `input` array (channels, height, width)"
            )
        x = np.maximum(synthetic.stream(seed, "input", path.name).standard_normal(first.cols), 0).astype(np.float32)
    _check_input(first, x)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, which Network refuses
        x = x.astype(np.float32)
    return Network(name=path.stem, ops=tuple(ops), input=x, source=str(path))


def _check_input(first: Layer, x: np.ndarray) -> None:
    if x.dtype.kind not in "fiu":
        raise InputError(f"input: expected numbers, got {x.dtype}")
    if first.kind == "fc":
        if x.shape[-1:] != (first.cols,) or x.ndim > 2:
            raise InputError(f"input: shape {x.shape} does not fit layer {first.name}, which takes {first.cols} inputs")
    elif x.ndim != 3 or x.shape[0] != first.shape[1]:
        raise InputError(
            f"input: shape {x.shape} does not fit layer {first.name}, which takes {first.shape[1]} channels"
        )


def _from_graph(path: Path, arrays: dict[str, np.ndarray]) -> Network:
    try:
        graph = parse_json(str(arrays[GRAPH]), f"{path}: the graph array")
        if not isinstance(graph, dict) or graph.get("format") != _FORMAT or not isinstance(graph.get("ops"), list):
            raise InputError(f"{path}: the graph array is not an {_FORMAT} graph")
        if not all(isinstance(name, str) for name in graph["extra_inputs"]):
            raise InputError(f"{path}: extra_inputs must be a list of tensor names")
        records = [_checked(record, index) for index, record in enumerate(graph["ops"])]
        shapes = [record["shape"] for record in records if record["op"] == "Layer"]
        if not shapes:
            raise InputError(f"{path}: the graph has no Layer op")
        layers = [record["name"] for record in records if record["op"] == "Layer"]
        known = {GRAPH, INPUT, *graph["extra_inputs"]} | {f"{n}.{part}" for n in layers for part in _LAYER_ARRAYS}
        stray = sorted(set(arrays) - known)
        if stray:
            raise InputError(f"{path}: unexpected array(s) {', '.join(stray)} beside the graph's layers and inputs")
        return Network(
            name=str(graph["name"]),
            ops=tuple(_op(record, arrays) for record in records),
            input=arrays[INPUT],
            extra_inputs={name: arrays[name] for name in graph["extra_inputs"]},
            source=str(graph["source"]),
        )
    except InputError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed network graph ({type(exc).__name__}: {exc})") from None


_JSON_TYPES = {"str": str, "int": int, "bool": bool}


def _checked(record: Any, index: int) -> dict[str, Any]:
    """A graph op record whose fields have the JSON types of its dataclass (and, for a Layer, a valid shape)."""
    if not isinstance(record, dict) or record.get("op") not in _OPS:
        raise InputError(f"graph op #{index + 1}: expected an object whose op is one of {', '.join(_OPS)}")
    kind = _OPS[record["op"]]
    types: dict[str, str] = {f.name: str(f.type) for f in fields(kind) if f.name not in _ARRAY_FIELDS}
    types.update({"op": "str", "shape": "shape"} if kind is Layer else {"op": "str"})
    for key, value in record.items():
        want = types.get(key)
        if want is None:
            raise InputError(f"graph op #{index + 1}: unknown field {key!r} for a {record['op']}")
        if not _json_fits(want, value):
            raise InputError(f"graph op #{index + 1}: field {key} = {value!r:.60} is not a valid {want}")
    return dict(record)


def _json_fits(want: str, value: Any) -> bool:
    """Whether a JSON value fits a field annotated `want` (a shape is a list of 2 or 4 positive integers)."""
    if want == "tuple[str, ...]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if want == "shape":
        return isinstance(value, list) and len(value) in (2, 4) and all(type(v) is int and v > 0 for v in value)
    if want.startswith("Literal"):
        return isinstance(value, str)
    return type(value) is _JSON_TYPES.get(want)


def _op(record: dict[str, Any], arrays: dict[str, np.ndarray]) -> Op:
    kind = _OPS[record.pop("op")]
    record["inputs"] = tuple(record["inputs"])
    if kind is not Layer:
        return kind(**record)
    name, shape = record["name"], tuple(record.pop("shape"))
    gaps, values = arrays[f"{name}.gaps"], arrays[f"{name}.codes"]
    size = math.prod(shape)
    if gaps.ndim != 1 or values.ndim != 1 or gaps.dtype.kind not in "ui" or values.dtype.kind not in "ui":
        raise InputError(f"layer {name}: gaps and codes must be vectors of integers")
    if gaps.size != values.size or (gaps.size and (int(gaps.min()) < 0 or int(values.min()) < 1)):
        raise InputError(f"layer {name}: needs as many gaps (at least 0) as codes (at least 1)")
    if float(gaps.sum(dtype=np.float64)) + gaps.size > size or int(values.max(initial=0)) >= 1 << 16:
        raise InputError(
            f"layer {name}: {gaps.size} gaps and codes do not fit shape {list(shape)} (or a code is wider than 16 bits)"
        )
    position = np.cumsum(gaps.astype(np.int64) + 1) - 1  # below `size`, checked above in floats, so no overflow
    codes = SparseCodes.from_positions(
        (shape[0], size // shape[0]), position, values.astype(code_dtype(16 if values.max(initial=0) > 255 else 8))
    )
    return Layer(shape=shape, codes=codes, codebook=arrays[f"{name}.codebook"], bias=_bias(arrays, name), **record)
