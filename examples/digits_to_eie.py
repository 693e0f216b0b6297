"""From a trained model to EIE, step by step, on scikit-learn's 8x8 handwritten digits (offline, about 5 s).

    pip install 'eie-sim[digits]'
    python examples/digits_to_eie.py

1. Train a 64-300-100-10 MLP in numpy, once with L1 and once with L2 regularization.
2. Prune it to 8% of its weights: once without retraining, once iteratively with retraining of the survivors.
3. Share the weights of the retrained L2 model by 4-bit k-means (linear initialization), fine-tune the centroids.
4. Run all 360 test images through a 64-PE EIE as one batch, in 16-bit fixed point, and check the simulated
   outputs against the plain numpy fixed-point reference, bit for bit.

`eie-sim compress-train digits` prints the same tables from the command line.
"""

import numpy as np

from eie_sim.arch import ArchConfig
from eie_sim.examples.digits import render, run_digits
from eie_sim.studies.simulate import simulate

run = run_digits(density=0.08, arch=ArchConfig(n_pes=64, weight_bits=4), seed=0)
print(render(run, "table"))

# The network is an ordinary eie_sim Network: its input is the test set, one row (64 pixels) per image.
network, result = run.network, run.result
for layer in network.layers:
    print(
        f"{layer.name}: {layer.rows} x {layer.cols}, {layer.nnz:,} non-zeros ({layer.density:.1%}), "
        f"{len(layer.codebook)}-entry codebook"
    )

# Per-layer EIE results: cycles for the whole batch, load balance across PEs, input sparsity.
print(
    result.layers[["name", "vectors", "cycles", "time_us", "input_density", "load_efficiency"]].to_string(index=False)
)

# The fast engine recomputes every layer's outputs from the EIE-format entries and checks them against the plain
# numpy fixed-point reference, bit for bit (it raises if one value differs).
checked = simulate(network, ArchConfig(n_pes=64, weight_bits=4), verify=True)
assert np.array_equal(np.argmax(checked.output(), axis=1), run.predictions)
print(f"EIE outputs equal the fixed-point reference on all {len(run.labels)} test images")
