import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from eie_sim.errors import InputError
from eie_sim.formats.onnx import load_onnx
from eie_sim.model.ops import Concat, Flatten, Pool
from eie_sim.studies.simulate import simulate


def grid_weights(rng, shape, scale):
    """Weights on a grid of at most 255 values: an 8-bit codebook holds them exactly (no k-means error)."""
    return (np.round(rng.normal(size=shape) * 8) / 8 * scale).clip(-15 * scale, 15 * scale).astype(np.float32)


def save(tmp_path, nodes, inputs, output_shape, weights, name="model", opset=19):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    return path, model


def check_simulation(path, model, **options):
    """Simulated outputs equal the fixed-point reference and are close to onnx's own float evaluation."""
    network = load_onnx(path, weight_bits=8, **options)
    result = simulate(network, verify=True)  # every layer's engine outputs against the reference
    x = network.input if network.input.ndim == 2 else network.input[None]  # the batch dimension back
    (expected,) = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})
    got = result.output().reshape(expected.shape)
    np.testing.assert_allclose(got, expected, atol=2e-2 * float(np.max(np.abs(expected))))
    return network, result


def mlp_model(tmp_path, rng, batch=1):
    w1, b1 = grid_weights(rng, (24, 10), 0.1), rng.normal(size=24)
    w2, b2 = grid_weights(rng, (16, 24), 0.1), rng.normal(size=(1, 16))
    w3, b3 = grid_weights(rng, (16, 5), 0.1), rng.normal(size=5)
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="fc1", transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
        helper.make_node("Gemm", ["r1", "w2t", "b2"], ["h2"], name="fc2"),
        helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
        helper.make_node("Dropout", ["r2"], ["d2"], name="drop"),
        helper.make_node("MatMul", ["d2", "w3"], ["m3"], name="fc3"),
        helper.make_node("Add", ["b3", "m3"], ["y"], name="bias3"),
    ]
    weights = {"w1": w1, "b1": b1, "w2t": w2.T, "b2": b2, "w3": w3, "b3": b3}
    return save(tmp_path, nodes, [("x", [batch, 10])], [batch, 5], weights, name=f"mlp{batch}")


def test_gemm_mlp_simulates_exactly_and_close_to_float(tmp_path):
    path, model = mlp_model(tmp_path, np.random.default_rng(0))
    network, result = check_simulation(path, model)
    shapes = [(layer.name, layer.rows, layer.cols, layer.relu) for layer in network.layers]
    assert shapes == [("fc1", 24, 10, True), ("fc2", 16, 24, True), ("fc3", 5, 16, False)]
    assert network.input.shape == (10,)


def test_gemm_mlp_with_a_batch_input_runs_every_vector(tmp_path):
    path, model = mlp_model(tmp_path, np.random.default_rng(1), batch=6)
    network, result = check_simulation(path, model)
    assert network.input.shape == (6, 10)
    assert result.layers["vectors"].tolist() == [6, 6, 6]


def conv_model(tmp_path, rng, pool="MaxPool", flatten="Flatten"):
    conv1, b1 = grid_weights(rng, (8, 3, 3, 3), 0.2), rng.normal(size=8) * 0.1
    squeeze, b2 = grid_weights(rng, (4, 8, 1, 1), 0.3), rng.normal(size=4) * 0.1
    expand, b3 = grid_weights(rng, (4, 8, 3, 3), 0.1), rng.normal(size=4) * 0.1
    fc, fcb = grid_weights(rng, (5, 8), 0.3), rng.normal(size=5)
    pool_node = (
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2])
        if pool == "MaxPool"
        else helper.make_node(
            "AveragePool",
            ["r1"],
            ["p1"],
            name="pool1",
            kernel_shape=[3, 3],
            strides=[2, 2],
            pads=[1, 1, 1, 1],
            count_include_pad=1,
            ceil_mode=1,
        )  # fmt: skip
    )
    flatten_nodes = (
        [helper.make_node("Flatten", ["g"], ["f"], name="flat", axis=1)]
        if flatten == "Flatten"
        else [
            helper.make_node(
                "Constant",
                [],
                ["shape"],
                name="shape",
                value=numpy_helper.from_array(np.array([1, -1], dtype=np.int64)),
            ),
            helper.make_node("Reshape", ["g", "shape"], ["f"], name="flat"),
        ]
    )
    nodes = [
        helper.make_node("Conv", ["x", "conv1", "b1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        pool_node,
        helper.make_node("Conv", ["p1", "squeeze", "b2"], ["c2"], name="branch1x1"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Conv", ["p1", "expand", "b3"], ["c3"], name="branch3x3", pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
        helper.make_node("Concat", ["r2", "r3"], ["cat"], name="cat", axis=1),
        helper.make_node("GlobalAveragePool", ["cat"], ["g"], name="gap"),
        *flatten_nodes,
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="classifier", transB=1),
    ]
    weights = {"conv1": conv1, "b1": b1, "squeeze": squeeze, "b2": b2, "expand": expand, "b3": b3, "fc": fc, "fcb": fcb}
    return save(tmp_path, nodes, [("x", ["N", 3, 12, 12])], ["N", 5], weights, name=f"cnn_{pool}_{flatten}")


@pytest.mark.parametrize("pool,flatten", [("MaxPool", "Flatten"), ("AveragePool", "Reshape")])
def test_small_conv_net_simulates_exactly_and_close_to_float(tmp_path, pool, flatten):
    path, model = conv_model(tmp_path, np.random.default_rng(2), pool, flatten)
    network, _ = check_simulation(path, model)
    kinds = [type(op).__name__ if not hasattr(op, "kind") else op.kind for op in network.ops]
    assert kinds == ["conv", "Pool", "conv", "conv", "Concat", "Pool", "Flatten", "fc"]
    assert network.input.shape == (3, 12, 12) and network.input.min() >= 0  # a seeded non-negative image
    assert all(layer.relu for layer in network.layers[:-1]) and not network.layers[-1].relu
    assert isinstance(network.ops[4], Concat) and isinstance(network.ops[5], Pool) and network.ops[5].global_
    assert isinstance(network.ops[6], Flatten)


def test_weights_with_few_values_keep_them_and_others_are_shared_or_pruned(tmp_path):
    path, _ = conv_model(tmp_path, np.random.default_rng(3))
    exact = load_onnx(path, weight_bits=8)
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    np.testing.assert_array_equal(exact.layer("conv1").dense_weights(), weights["conv1"])
    shared = load_onnx(path, weight_bits=2)
    assert all(len(layer.codebook) <= 4 for layer in shared.layers)
    pruned = load_onnx(path, weight_bits=4, density=0.25)
    for layer in pruned.layers:
        assert layer.nnz == round(0.25 * layer.rows * layer.cols)


def test_input_is_seeded_or_given(tmp_path):
    path, _ = conv_model(tmp_path, np.random.default_rng(4))
    a, b, c = load_onnx(path, seed=1), load_onnx(path, seed=1), load_onnx(path, seed=2)
    assert np.array_equal(a.input, b.input) and not np.array_equal(a.input, c.input)
    given = np.ones((1, 3, 12, 12), dtype=np.float32)
    assert np.array_equal(load_onnx(path, input=given).input, given[0])
    with pytest.raises(InputError, match=r"expects \(1, 3, 12, 12\)"):
        load_onnx(path, input=np.ones((3, 10, 10)))


def single_node_model(tmp_path, node, weights=None, input_shape=(1, 3, 8, 8), output_shape=None):
    return save(tmp_path, [node], [("x", list(input_shape))], output_shape or [1], weights or {}, name="single")[0]


def test_unsupported_operator_names_the_node(tmp_path):
    node = helper.make_node("LSTM", ["x", "w", "r"], ["y"], name="encoder", hidden_size=4)
    weights = {"w": np.zeros((1, 16, 3)), "r": np.zeros((1, 16, 4))}
    path = single_node_model(tmp_path, node, weights, input_shape=(5, 1, 3), output_shape=[5, 1, 1, 4])
    with pytest.raises(InputError, match=r"node encoder \(LSTM\): operator LSTM is not supported"):
        load_onnx(path)


@pytest.mark.parametrize(
    "node,weight_shape,message",
    [
        (helper.make_node("Conv", ["x", "w"], ["y"], name="grouped", group=3), (3, 1, 3, 3), "group 3"),
        (
            helper.make_node("Conv", ["x", "w"], ["y"], name="lopsided", pads=[0, 0, 1, 1]),
            (2, 3, 3, 3),
            "not symmetric",
        ),
        (
            helper.make_node("Conv", ["x", "w"], ["y"], name="same", auto_pad="SAME_UPPER"),
            (2, 3, 3, 3),
            "auto_pad SAME_UPPER",
        ),
        (helper.make_node("Conv", ["x", "w"], ["y"], name="oblong"), (2, 3, 3, 1), "not square"),
        (
            helper.make_node("MaxPool", ["x"], ["y"], name="floor", kernel_shape=[3, 3], strides=[2, 2]),
            None,
            "ceil-mode",
        ),
        (
            helper.make_node("AveragePool", ["x"], ["y"], name="dilated", kernel_shape=[2, 2], dilations=[2, 2]),
            None,
            "attribute 'dilations' is not supported",
        ),
        (
            helper.make_node("LpPool", ["x"], ["y"], name="lp", kernel_shape=[2, 2]),
            None,
            "operator LpPool is not supported",
        ),
    ],
)
def test_unsupported_attributes_name_the_node(tmp_path, node, weight_shape, message):
    path = single_node_model(tmp_path, node, {"w": np.ones(weight_shape)} if weight_shape else {})
    with pytest.raises(InputError, match=rf"node {node.name} \({node.op_type}\): .*{message}"):
        load_onnx(path)


def test_relu_that_cannot_be_folded_and_softmax_in_the_middle_are_errors(tmp_path):
    relu_first = helper.make_node("Relu", ["x"], ["y"], name="early")
    with pytest.raises(InputError, match="node early"):
        load_onnx(single_node_model(tmp_path, relu_first, input_shape=(1, 4), output_shape=[1, 4]))
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], name="fc1"),
        helper.make_node("Softmax", ["h"], ["s"], name="soft"),
        helper.make_node("Gemm", ["s", "w2"], ["y"], name="fc2"),
    ]
    path, _ = save(tmp_path, nodes, [("x", [1, 4])], [1, 2], {"w": np.ones((4, 3)), "w2": np.ones((3, 2))}, name="soft")
    with pytest.raises(InputError, match=r"node soft \(Softmax\)"):
        load_onnx(path)


def test_final_softmax_is_dropped(tmp_path):
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Softmax", ["h"], ["y"], name="soft"),
    ]
    path, _ = save(tmp_path, nodes, [("x", [1, 4])], [1, 3], {"w": np.arange(12).reshape(4, 3) / 10}, name="final")
    network = load_onnx(path)
    assert [op.name for op in network.ops] == ["fc"] and not network.layers[0].relu


@pytest.mark.parametrize("content", [b"", b"\x08\x07garbage that is not protobuf \xff\xfe"])
def test_corrupt_file_is_an_input_error(tmp_path, content):
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"broken.onnx: not a valid ONNX model"):
        load_onnx(path)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_onnx(tmp_path / "absent.onnx")


def test_relu_after_a_shared_output_is_an_error(tmp_path):
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["h", "w2"], ["y"], name="fc2"),
    ]
    path, _ = save(
        tmp_path, nodes, [("x", [1, 4])], [1, 2], {"w": np.ones((4, 3)), "w2": np.ones((3, 2))}, name="shared"
    )
    with pytest.raises(InputError, match=r"node relu \(Relu\): .*nothing else reads"):
        load_onnx(path)


def test_onnx_workload_through_the_cli_and_its_saved_npz_simulate_alike(tmp_path, capsys):
    from eie_sim.cli import main

    path, _ = conv_model(tmp_path, np.random.default_rng(5))
    saved = tmp_path / "model.npz"
    assert main(["compress", str(path), "--save", str(saved), "--format", "json"]) == 0
    results = []
    for workload in (path, saved):
        capsys.readouterr()
        assert main(["simulate", str(workload), "--pes", "8", "--format", "json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    onnx_run, npz_run = results
    assert onnx_run["layers"] == npz_run["layers"] and onnx_run["total"] == npz_run["total"]
    assert [layer["name"] for layer in onnx_run["layers"]] == ["conv1", "branch1x1", "branch3x3", "classifier"]


def test_corrupt_onnx_through_the_cli_exits_2(tmp_path, capsys):
    from eie_sim.cli import main

    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07garbage")
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken.onnx: not a valid ONNX model" in err and "Traceback" not in err


def one_line(capsys, path, *names):
    """`eie-sim simulate path` fails with one line naming `path` and each of `names`."""
    from eie_sim.cli import main

    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err, err
    for name in names:
        assert name in err, (name, err)
    return err


def gemm_model(tmp_path, batch, weight, name="declared"):
    """A Gemm of an input (batch, features) by `weight` (a TensorProto), a file of a few hundred bytes at most."""
    features = weight.dims[0]
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", weight.name], ["y"], name="fc")],
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, weight.dims[1]])],
        [weight],
    )
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]), path)
    return path


@pytest.fixture
def nothing_large(monkeypatch):
    """Reading external data or drawing the input fails the test: a refusal must come before either."""
    import eie_sim.formats.onnx as reader

    def forbidden(*args, **kwargs):
        raise AssertionError("read or allocated before the memory check")

    monkeypatch.setattr(onnx.external_data_helper, "load_external_data_for_tensor", forbidden)
    monkeypatch.setattr(reader, "_network_input", forbidden)
    monkeypatch.setenv("EIE_SIM_MEMORY_LIMIT", "8G")


@pytest.mark.parametrize("batch", [10**9, 10**10])
def test_an_input_of_billions_of_values_is_refused_before_it_is_drawn(tmp_path, capsys, nothing_large, batch):
    path = gemm_model(tmp_path, batch, numpy_helper.from_array(np.ones((1, 1), np.float32), "w"))
    assert path.stat().st_size < 200
    one_line(capsys, path, "GiB of memory", "values", "smaller input")


def test_declared_initializer_dims_are_measured_before_the_data(tmp_path, capsys, nothing_large):
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[100_000, 100_000])  # no data at all
    one_line(capsys, gemm_model(tmp_path, 1, weight), "10,000,000,000 weights", "smaller or sparser network")


def external(name, dims, **entries):
    weight = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims, data_location=TensorProto.EXTERNAL)
    for key, value in entries.items():
        weight.external_data.add(key=key, value=str(value))
    return weight


@pytest.mark.parametrize("declared", ["file size", "length"])
def test_external_data_is_measured_before_it_is_read(tmp_path, capsys, nothing_large, declared):
    """16 GiB of float32 weights beside a 100-byte model: a sparse file, or a `length` entry over a small file."""
    data = tmp_path / "weights.bin"
    with open(data, "wb") as handle:
        handle.truncate(2**34 if declared == "file size" else 64)
    entries = {"location": "weights.bin"} | ({"length": 2**34} if declared == "length" else {})
    one_line(capsys, gemm_model(tmp_path, 1, external("w", [2**16, 2**16], **entries)), "4,294,967,296 weights")


@pytest.mark.parametrize("where", ["missing", "device"])
def test_external_data_that_cannot_be_read_is_named(tmp_path, capsys, where):
    if where == "device":
        (tmp_path / "weights.bin").symlink_to("/dev/zero")
    path = gemm_model(tmp_path, 1, external("w", [4, 3], location="weights.bin"))
    one_line(capsys, path, "external data", "'weights.bin'")


def test_external_data_within_the_limit_still_loads(tmp_path):
    weights = np.arange(12, dtype=np.float32).reshape(4, 3) / 8
    (tmp_path / "weights.bin").write_bytes(weights.tobytes())
    path = gemm_model(tmp_path, 2, external("w", [4, 3], location="weights.bin", length=48))
    network = load_onnx(path, weight_bits=8)
    np.testing.assert_array_equal(network.layers[0].dense_weights(), weights.T)
    assert network.input.shape == (2, 4)
