"""Top-1 and top-5 agreement of the real SqueezeNet on EIE with its float32 reference, by codebook width.

Usage: python scripts/codebook_width.py path/to/compressed_SqueezeNet.net [bits ...]
Each narrower codebook is a k-means re-quantization of the release's 8-bit one, without retraining.
"""

import sys

from eie_sim import ArchConfig, load_workload, simulate
from eie_sim.compress.share import requantize_network


def main(net_path: str, widths: list[int]) -> None:
    print(
        f"{'photo':<11} {'bits':>4} {'top-1':>12} {'top-5 overlap':>13} {'time (us)':>10} {'energy (uJ)':>11}  "
        "top-5 simulated"
    )
    for photo in ("china.jpg", "flower.jpg"):
        network = load_workload(net_path, image=photo)
        _, reference = simulate(network).top_classes(5)
        for bits in widths:
            result = simulate(requantize_network(network, bits), ArchConfig(weight_bits=min(bits, 8)))
            simulated, _ = result.top_classes(5)
            top1 = "same" if simulated[0] == reference[0] else f"{simulated[0]} vs {reference[0]}"
            overlap = len(set(simulated) & set(reference))
            print(
                f"{photo:<11} {bits:>4} {top1:>12} {overlap:>11}/5 {result.total['time_us']:>10,.0f} "
                f"{result.total['energy_total_pj'] / 1e6:>11,.0f}  {', '.join(map(str, simulated))}"
            )


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], [int(b) for b in sys.argv[2:]] or [8, 6, 5, 4])
