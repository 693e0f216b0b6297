"""The real compressed SqueezeNet on real photos: bit-exact against the fixed-point reference, same top-5 as float."""

import pytest

from eie_sim.formats.workloads import load_workload
from eie_sim.studies.simulate import simulate

pytestmark = pytest.mark.slow  # the real SqueezeNet, whole frames


@pytest.mark.parametrize("photo", ["china.jpg", "flower.jpg"])
def test_whole_frame_is_bit_exact_and_keeps_the_top5(real_model, photo):
    pytest.importorskip("sklearn")
    pytest.importorskip("PIL")
    network = load_workload(str(real_model.net), image=photo)
    result = simulate(network, verify=True)  # every layer's engine outputs against the reference
    simulated, reference = result.top_classes(5)
    assert list(simulated) == list(reference)
    # every output position of every layer was simulated
    conv1 = result.layers.set_index("name").loc["conv1"]
    assert conv1["vectors"] == 111 * 111
    assert (result.layers["input_density"] > 0).all()
