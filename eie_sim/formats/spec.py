"""Workload specs (TOML) -> Networks with synthetic compressed weights: the format of workloads/*.toml.

A spec names the network and its sources, optionally describes the network input (`[input]`), and lists ops in
execution order (`[[op]]`): `fc`, `conv`, `pool`, `concat`, `flatten`. An op reads the previous op's output (the
first op reads "input") unless it lists `inputs`. A weighted op gives its size, its weight `density` and its
code `bits`, and may override the synthetic weight model (eie_sim.formats.synthetic.WeightModel fields). An `fc` op
with an `[op.input]` table (`density`, `signed`) reads an independent input vector of its own: the first such input
is the network's "input", the others are Network.extra_inputs named "<op>/input"; such a layer is also a workload
alone.
Shapes are inferred op by op, so the spec is checked (and its weights counted) without generating anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from eie_sim.compress.share import share
from eie_sim.errors import InputError
from eie_sim.formats import synthetic
from eie_sim.formats.synthetic import WeightModel
from eie_sim.model.network import Network
from eie_sim.model.ops import INPUT, Concat, Flatten, Layer, Op, Pool
from eie_sim.model.shapes import concat_output, conv_output, planes, pool_output
from eie_sim.model.sparse import SparseCodes
from eie_sim.support.memory_budget import LayerSize, build_need
from eie_sim.support.parsing import parse_toml

_MODEL_KEYS = {"row_sigma", "channel_sigma", "position_sigma", "shape_slope", "magnitude_scale", "bias_scale"}
_WEIGHTED = {"name", "type", "inputs", "out", "density", "bits", "relu", "source", *_MODEL_KEYS}
_OP_KEYS = {
    "fc": _WEIGHTED | {"in", "input"},
    "conv": _WEIGHTED | {"kernel", "stride", "pad", "groups"},
    "pool": {"name", "type", "inputs", "mode", "kernel", "stride", "pad", "global"},
    "concat": {"name", "type", "inputs"},
    "flatten": {"name", "type", "inputs"},
}
_TOP_KEYS = {"name", "kind", "description", "source", "input", "weights", "op"}


@dataclass(frozen=True)
class SpecOp:
    """One op of a spec with everything inferred: its tensors, shapes and, for a weighted op, its full weight shape."""

    raw: dict[str, Any]
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    weight_shape: tuple[int, ...] = ()  # (out, in, kh, kw) for conv, (out, in) for fc
    own_input: str = ""  # the tensor an fc op with an [op.input] table reads

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def weights(self) -> int:
        """Weights of the layer as trained (a grouped convolution has only its diagonal blocks)."""
        return math.prod(self.weight_shape) // self.raw.get("groups", 1) if self.weight_shape else 0

    @property
    def nonzeros(self) -> int:
        return round(self.raw["density"] * self.weights) if self.weight_shape else 0


@dataclass(frozen=True)
class Spec:
    """A parsed, checked workload spec: its ops, each checked with its shapes, and the tensors given before the first
    op."""

    name: str
    kind: str
    description: str
    source: str
    origin: str  # the file it came from, for messages
    input: dict[str, Any]
    ops: tuple[SpecOp, ...]
    models: dict[str, WeightModel]

    @property
    def standalone(self) -> tuple[str, ...]:
        """Layers with an input of their own, each also a workload by itself."""
        return tuple(op.name for op in self.ops if op.own_input)

    @property
    def layers(self) -> int:
        return sum(1 for op in self.ops if op.weight_shape)

    @property
    def weights(self) -> int:
        return sum(op.weights for op in self.ops)

    @property
    def nonzeros(self) -> int:
        return sum(op.nonzeros for op in self.ops)

    def op(self, name: str) -> SpecOp:
        return next(op for op in self.ops if op.name == name)


class _Reader:
    """Typed access to one TOML table, every mistake reported with the file and the table it is in."""

    def __init__(self, table: dict[str, Any], where: str, allowed: set[str]) -> None:
        if not isinstance(table, dict):
            raise InputError(f"{where}: expected a table, got {table!r:.60}")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        self.table, self.where = table, where

    def get(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        low: float | None = None,
        high: float | None = None,
    ) -> Any:
        if key not in self.table:
            if default is None:
                raise InputError(f"{self.where}: missing key {key!r}")
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            raise InputError(f"{self.where}: {key} must be {' or '.join(k.__name__ for k in kinds)}, got {value!r:.60}")
        if low is not None and not low <= cast(float, value) <= (high if high is not None else math.inf):
            raise InputError(
                f"{self.where}: {key} = {value} is out of range [{low}, {high if high is not None else 'inf'}]"
            )
        return value

    def names(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.table.get(key, list(default))
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise InputError(f"{self.where}: {key} must be a non-empty list of tensor names, got {value!r:.60}")
        return tuple(value)


def parse_spec(text: str, origin: str) -> Spec:
    """Parse and check a spec; shapes are inferred, nothing is generated."""
    data = parse_toml(text, origin)
    top = _Reader(data, origin, _TOP_KEYS)
    name = top.get("name", str)
    models = _models(data.get("weights", {}), origin)
    network_input: dict[str, Any] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    if "input" in data:
        network_input = _input_table(data["input"], f"{origin} [input]")
        shapes[INPUT] = tuple(network_input["shape"])
    tables = data.get("op", [])
    if not isinstance(tables, list) or not tables:
        raise InputError(f"{origin}: a spec needs at least one [[op]]")
    ops: list[SpecOp] = []
    previous, seen = INPUT, set()
    for index, raw in enumerate(tables):
        where = f"{origin} op #{index + 1}"
        if not isinstance(raw, dict):
            raise InputError(f"{where}: expected an [[op]] table, got {raw!r:.60}")
        if not isinstance(raw.get("type"), str) or raw["type"] not in _OP_KEYS:
            raise InputError(f"{where}: type must be one of {', '.join(_OP_KEYS)}, got {raw.get('type')!r:.60}")
        reader = _Reader(raw, where, _OP_KEYS[raw["type"]])
        op_name = reader.get("name", str)
        where = f"{origin} op {op_name!r}"
        reader.where = where
        if op_name in seen or op_name == INPUT:
            raise InputError(f"{where}: the name is already taken")
        seen.add(op_name)
        first_own = not network_input and not any(p.own_input for p in ops)
        try:
            spec_op = _read_op(reader, raw["type"], previous, shapes, first_own)
        except InputError as exc:
            raise InputError(str(exc) if str(exc).startswith(origin) else f"{where}: {exc}") from None
        shapes[op_name] = spec_op.output_shape
        ops.append(spec_op)
        previous = op_name
    if not any(op.weight_shape for op in ops):
        raise InputError(f"{origin}: a spec needs at least one fc or conv op")
    return Spec(
        name=name,
        kind=top.get("kind", str, ""),
        description=top.get("description", str, ""),
        source=top.get("source", str, ""),
        origin=origin,
        input=network_input,
        ops=tuple(ops),
        models=models,
    )


def _models(table: Any, origin: str) -> dict[str, WeightModel]:
    reader = _Reader(table, f"{origin} [weights]", {"fc", "conv"})
    defaults = synthetic.default_models()
    return {kind: defaults[kind].updated(reader.table.get(kind, {}), f"{origin} [weights.{kind}]") for kind in defaults}


def _input_table(table: Any, where: str) -> dict[str, Any]:
    reader = _Reader(table, where, {"shape", "model", "density", "signed"})
    model = reader.get("model", str, "sparse")
    shape = reader.get("shape", list)
    if not shape or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape):
        raise InputError(f"{where}: shape must be a list of positive integers, got {shape!r:.60}")
    if model == "image" and len(shape) != 3:
        raise InputError(f"{where}: an image input has shape [channels, height, width], got {shape}")
    if model not in ("image", "sparse"):
        raise InputError(f"{where}: model must be 'image' or 'sparse', got {model!r:.60}")
    return {
        "shape": shape,
        "model": model,
        "density": float(reader.get("density", (float, int), 1.0, 0.0, 1.0)),
        "signed": reader.get("signed", bool, False),
    }


def _read_op(reader: _Reader, kind: str, previous: str, shapes: dict[str, tuple[int, ...]], first_own: bool) -> SpecOp:
    raw, where = reader.table, reader.where
    own = kind == "fc" and "input" in raw
    inputs = (INPUT if first_own else f"{raw['name']}/input",) if own else reader.names("inputs", (previous,))
    if own and "inputs" in raw:
        raise InputError(f"{where}: an op with its own [op.input] cannot also list inputs")
    if own:
        fan_in = reader.get("in", int, low=1)
        if not isinstance(raw["input"], dict):
            raise InputError(f"{where}: input must be a table (density, signed), got {raw['input']!r:.60}")
        table = _input_table({**raw["input"], "shape": [fan_in]}, f"{where} [op.input]")
        raw = {**raw, "input": table}
        shapes = {**shapes, inputs[0]: (fan_in,)}
    for tensor in inputs:
        if tensor not in shapes:
            raise InputError(f"{where}: reads {tensor!r}, which no earlier op produces (and no [input] defines)")
    source = shapes[inputs[0]]
    if kind in ("fc", "conv"):
        raw["density"] = float(reader.get("density", (float, int), None, 0.0, 1.0))
        reader.get("bits", int, None, 1, 8)
        reader.get("relu", bool, True)
        reader.get("source", str, "")
        for key in _MODEL_KEYS & set(raw):
            reader.get(key, (float, int), None, 0.0)
    if kind == "fc":
        out = reader.get("out", int, low=1)
        if len(source) != 1:
            raise InputError(
                f"{where}: an fc layer needs a vector input, {inputs[0]!r} has shape {list(source)}; add a flatten op"
            )
        if "in" in raw and reader.get("in", int, low=1) != source[0]:
            raise InputError(f"{where}: in = {raw['in']} but {inputs[0]!r} has {source[0]} values")
        return SpecOp(raw, inputs, (out,), (out, source[0]), inputs[0] if own else "")
    if kind == "conv":
        out, kernel = reader.get("out", int, low=1), reader.get("kernel", int, low=1)
        stride, pad, groups = (
            reader.get("stride", int, 1, 1),
            reader.get("pad", int, 0, 0),
            reader.get("groups", int, 1, 1),
        )
        channels = planes(raw["name"], source)[0]
        if channels % groups or out % groups:
            raise InputError(f"{where}: groups = {groups} must divide the {channels} input and {out} output channels")
        shape = conv_output(raw["name"], out, channels, kernel, stride, pad, source)
        return SpecOp(raw, inputs, shape, (out, channels, kernel, kernel))
    if kind == "pool":
        mode = reader.get("mode", str, "max")
        pool = Pool(
            raw["name"],
            mode,
            kernel=reader.get("kernel", int, 1 if raw.get("global") else None, 1),
            stride=reader.get("stride", int, 1, 1),
            pad=reader.get("pad", int, 0, 0),
            global_=reader.get("global", bool, False),
        )
        return SpecOp(raw, inputs, pool_output(pool, source))
    if kind == "concat":
        return SpecOp(raw, inputs, concat_output(raw["name"], [shapes[t] for t in inputs]))
    return SpecOp(raw, inputs, (math.prod(source),))


def build(spec: Spec, seed: int = 0, only: str | None = None) -> Network:
    """The network of a spec with synthetic weights and inputs from `seed`; `only` picks one standalone layer.

    Every layer and input is drawn from its own random stream (seed, name), so a layer is the same alone or in
    its network.
    """
    chosen = spec.ops if only is None else (spec.op(only),)
    sizes = [
        LayerSize(op.name, op.weight_shape[0], math.prod(op.weight_shape[1:]), op.nonzeros)
        for op in chosen
        if op.weight_shape
    ]
    drawn = [spec.input] if spec.input and only is None else []
    drawn += [op.raw["input"] for op in chosen if op.own_input]
    build_need(sizes, inputs=sum(math.prod(table["shape"]) for table in drawn)).check(spec.origin)
    inputs: dict[str, np.ndarray] = {}
    if spec.input and only is None:
        inputs[INPUT] = _draw_input(spec.input, seed, spec.name)
    ops: list[Op] = []
    for spec_op in chosen:
        tensors = spec_op.inputs
        if spec_op.own_input:
            tensor = INPUT if only is not None else spec_op.own_input
            inputs[tensor] = _draw_input(spec_op.raw["input"], seed, spec_op.name)
            tensors = (tensor,)
        ops.append(_make_op(spec_op, tensors, spec, seed))
    first = inputs.pop(INPUT)
    return Network(
        name=only or spec.name,
        ops=tuple(ops),
        input=first,
        extra_inputs=inputs,
        source=spec.op(only).raw.get("source", spec.source) if only else spec.source,
    )


def _draw_input(table: dict[str, Any], seed: int, owner: str) -> np.ndarray:
    rng = synthetic.stream(seed, "input", owner)
    if table["model"] == "image":
        return synthetic.smooth_image(rng, *table["shape"])
    return synthetic.sparse_activations(rng, math.prod(table["shape"]), table["density"], table["signed"]).reshape(
        table["shape"]
    )


def _make_op(spec_op: SpecOp, inputs: tuple[str, ...], spec: Spec, seed: int) -> Op:
    raw, name = spec_op.raw, spec_op.name
    kind = raw["type"]
    if kind == "pool":
        return Pool(
            name=name,
            mode=raw.get("mode", "max"),
            kernel=raw.get("kernel", 1),
            stride=raw.get("stride", 1),
            pad=raw.get("pad", 0),
            global_=raw.get("global", False),
            inputs=inputs,
        )
    if kind == "concat":
        return Concat(name=name, inputs=inputs)
    if kind == "flatten":
        return Flatten(name=name, inputs=inputs)
    model = spec.models[kind].updated({k: raw[k] for k in _MODEL_KEYS & set(raw)}, f"{spec.origin} op {name!r}")
    codes, codebook, bias = synthetic_weights(
        spec_op.weight_shape, raw["density"], raw["bits"], raw.get("groups", 1), model, seed, name
    )
    return Layer(
        name=name,
        kind=kind,
        shape=spec_op.weight_shape,
        codes=codes,
        codebook=codebook,
        bias=bias,
        relu=raw.get("relu", True),
        stride=raw.get("stride", 1),
        pad=raw.get("pad", 0),
        inputs=inputs,
        code_bits=raw["bits"],
    )


def synthetic_weights(
    shape: tuple[int, ...], density: float, bits: int, groups: int, model: WeightModel, seed: int, name: str
) -> tuple[SparseCodes, np.ndarray, np.ndarray]:
    """(sparse codes, codebook, bias) of a pruned, shared layer; a grouped conv keeps only its diagonal blocks.

    The surviving values of all groups are shared together, as Deep Compression shares one codebook per layer.
    The blocks occupy disjoint column ranges, so their positions laid side by side are in column order.
    """
    rng = synthetic.stream(seed, name)
    out, fan = shape[0], math.prod(shape[1:])
    area = math.prod(shape[2:]) if len(shape) == 4 else 1
    group_rows, group_channels = out // groups, shape[1] // groups
    blocks = [synthetic.kept_cells(rng, group_rows, group_channels, area, density, model) for _ in range(groups)]
    if groups == 1:
        row, col = blocks.pop()
    else:
        row = np.concatenate([r + g * group_rows for g, (r, _) in enumerate(blocks)])
        col = np.concatenate([c + g * group_channels * area for g, (_, c) in enumerate(blocks)])
    del blocks
    values = synthetic.magnitudes(rng, row.size, density, fan // groups, model)
    codes, codebook = share(values, bits, name=f"layer {name}")
    sparse = SparseCodes.from_column_order((out, fan), row, col, codes)
    return sparse, codebook, synthetic.bias(rng, out, fan // groups, model)
