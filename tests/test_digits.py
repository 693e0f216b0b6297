import json
import sys
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("sklearn")

from eie_sim.arch import ArchConfig
from eie_sim.cli import main
from eie_sim.compress.share import make_layer
from eie_sim.engine import get_engine
from eie_sim.errors import InputError
from eie_sim.examples.digits import layer_densities, load_digits_data, run_digits
from eie_sim.examples.mlp import TrainConfig, init_mlp, train, train_centroids
from eie_sim.model.functional import functional_model
from eie_sim.model.network import fc_chain
from eie_sim.studies.simulate import Session, simulate

pytestmark = pytest.mark.slow  # training and simulating an MLP


@pytest.fixture(scope="module")
def digits_run():
    return run_digits(density=0.08, arch=ArchConfig(), seed=0)


def stage(run, name):
    return float(run.stages.set_index("stage").loc[name, "test_accuracy_pct"])


def test_digits_meets_the_accuracy_and_density_targets(digits_run):
    run = digits_run
    float_accuracy = stage(run, "float (dense)")
    eie_accuracy = stage(run, "EIE simulation (16-bit fixed point)")
    assert float_accuracy >= 95.0
    assert float_accuracy - eie_accuracy <= 2.0
    kept = sum(layer.nnz for layer in run.network.layers) / sum(layer.rows * layer.cols for layer in run.network.layers)
    assert kept <= 0.10
    assert all(len(layer.codebook) <= 16 for layer in run.network.layers)
    assert run.result.layers["vectors"].tolist() == [360, 360, 360]


def test_simulated_predictions_equal_the_fixed_point_reference(digits_run):
    network = digits_run.network
    checked = simulate(network, ArchConfig(), verify=True)  # every layer's engine outputs against the reference
    assert np.array_equal(digits_run.predictions, np.argmax(checked.functional.fixed_tensors["fc3"], axis=1))


def test_regularization_table_has_the_four_combinations(digits_run):
    table = digits_run.regularization
    assert table["regularization"].tolist() == ["L1", "L2"]
    for column in ("pruned_accuracy_pct", "retrained_accuracy_pct"):
        assert table[column].between(0, 100).all()
    # retraining recovers what one-shot pruning to 8% loses
    assert (table["retrained_accuracy_pct"] > table["pruned_accuracy_pct"]).all()


def test_per_inference_figures_divide_the_batch_totals(digits_run):
    per_image = digits_run.per_inference
    assert per_image["cycles"] == pytest.approx(digits_run.result.total["cycles"] / 360)
    assert per_image["time_us"] == pytest.approx(per_image["cycles"] / 800.0)


def test_a_batch_of_vectors_runs_like_one_vector_at_a_time():
    rng = np.random.default_rng(1)
    layers = [
        make_layer("a", "fc", rng.normal(size=(40, 24)) * (rng.random((40, 24)) < 0.3), 4, rng.normal(size=40)),
        make_layer("b", "fc", rng.normal(size=(7, 40)), 4, None, relu=False),
    ]
    batch = rng.random((5, 24)).astype(np.float32)
    network = fc_chain("batch", layers, batch)
    together = functional_model(network, 16).float_tensors["b"]
    assert together.shape == (5, 7)
    for row, x in enumerate(batch):
        alone = functional_model(fc_chain("one", layers, x), 16).float_tensors["b"]
        np.testing.assert_allclose(together[row], alone, rtol=1e-5, atol=1e-5)
    arch = ArchConfig(n_pes=4)
    whole = simulate(network, arch, verify=True)
    assert whole.layers["vectors"].tolist() == [5, 5]
    # vectors run one after another from empty queues: the batch takes the sum of the single-vector cycles
    job, run_layer = next(Session(network).layer_work(arch)).jobs[0], get_engine("fast")
    single = [run_layer(replace(job, inputs=job.inputs[[row]]), arch) for row in range(5)]
    assert whole.layers["cycles"][0] == sum(s.counts.cycles for s in single)
    np.testing.assert_array_equal(whole.functional.fixed_tensors["a"], np.concatenate([s.outputs for s in single]))


def test_masked_retraining_keeps_pruned_weights_at_zero_and_survivors_trained():
    data = load_digits_data()
    rng = np.random.default_rng(0)
    mlp = init_mlp((64, 16, 10), seed=0)
    masks = [rng.random(w.shape) < 0.5 for w in mlp.weights]
    trained = train(mlp, data.x_train[:200], data.y_train[:200], TrainConfig(epochs=2), seed=0, masks=masks)
    for w, w0, mask in zip(trained.weights, mlp.weights, masks):
        assert np.all(w[~mask] == 0)
        assert not np.allclose(w[mask], w0[mask])  # trained from their values, not re-initialized
        assert np.corrcoef(w[mask], w0[mask])[0, 1] > 0.9


def test_centroid_fine_tuning_keeps_codes_and_the_zero_code():
    data = load_digits_data()
    mlp = init_mlp((64, 16, 10), seed=0)
    layers = [
        make_layer(f"l{i}", "fc", w * (np.abs(w) > 0.1), 3, b) for i, (w, b) in enumerate(zip(mlp.weights, mlp.biases))
    ]
    codes, codebooks = [layer.dense_codes() for layer in layers], [layer.codebook for layer in layers]
    books, tuned = train_centroids(
        codes, codebooks, mlp, data.x_train[:200], data.y_train[:200], TrainConfig(epochs=2), seed=0
    )
    for layer, book, w in zip(layers, books, tuned.weights):
        assert book[0] == 0 and len(book) == len(layer.codebook)
        assert not np.allclose(book, layer.codebook)
        np.testing.assert_array_equal(w, book[layer.dense_codes()])


def test_layer_densities_keep_the_target_overall():
    densities = layer_densities(0.1)
    sizes = [64 * 300, 300 * 100, 100 * 10]
    assert sum(d * s for d, s in zip(densities, sizes)) / sum(sizes) == pytest.approx(0.1)
    with pytest.raises(InputError, match="--density"):
        layer_densities(0.0)


def test_missing_scikit_learn_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(InputError, match="scikit-learn"):
        load_digits_data()


def test_cli_compress_train_digits_writes_json(tmp_path, capsys):
    out = tmp_path / "digits.json"
    assert (
        main(["compress-train", "digits", "--density", "0.1", "--pes", "16", "--format", "json", "--out", str(out)])
        == 0
    )
    data = json.loads(out.read_text())
    assert [row["stage"] for row in data["stages"]][0] == "float (dense)"
    per_image = {row["quantity"]: row["per_image"] for row in data["eie_per_image"]}
    assert len(data["regularization"]) == 2 and per_image["cycles"] > 0 and per_image["time_us"] > 0
    assert main(["compress-train", "digits", "--density", "1.5"]) == 2
    assert "--density" in capsys.readouterr().err


def test_saved_digits_network_simulates_alike(digits_run, tmp_path):
    from eie_sim.formats.workloads import load_workload, save_npz

    path = tmp_path / "digits.npz"
    save_npz(digits_run.network, path)
    loaded = load_workload(str(path))
    np.testing.assert_array_equal(loaded.input, digits_run.network.input)
    again = simulate(loaded, ArchConfig())
    assert again.layers["cycles"].tolist() == digits_run.result.layers["cycles"].tolist()
    np.testing.assert_array_equal(
        again.functional.fixed_tensors["fc3"], digits_run.result.functional.fixed_tensors["fc3"]
    )
