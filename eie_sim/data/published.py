"""The EIE paper's published figures (Han et al., "EIE: Efficient Inference Engine on Compressed Deep Neural
Network", ISCA 2016): the one place the package keeps them, so that calibration and validation quote the same
numbers. Table III (the benchmark layers' sizes and densities) is the workload `eie-paper` (workloads/eie-paper.toml).
"""

from __future__ import annotations

# Table II: one PE of the 64-PE chip at 800 MHz, power in mW by module and by kind.
TABLE_II_MW = {"queue": 0.112, "ptr": 1.807, "spmat": 4.955, "arithmetic": 1.162, "act": 1.122}
TABLE_II_TOTAL_MW = 9.157
TABLE_II_KINDS_MW = {"memory": 5.416, "clock network": 1.874, "registers": 1.026, "combinational": 0.841}

# The whole chip (64 PEs and the central control unit): the paper quotes 580, 590 and 600 mW in different places.
CHIP_POWER_MW = 590.0
CHIP_POWER_QUOTED_MW = (580.0, 590.0, 600.0)

# Table IV: EIE's wall-clock time per layer at 64 PEs, batch size 1, in us: the paper's "theoretical time" and
# its "actual time" rows.
TABLE_IV_ACTUAL_US = {
    "alex-6": 30.3,
    "alex-7": 12.2,
    "alex-8": 9.9,
    "vgg-6": 34.4,
    "vgg-7": 8.7,
    "vgg-8": 8.4,
    "nt-we": 8.0,
    "nt-wd": 13.9,
    "nt-lstm": 7.5,
}
TABLE_IV_THEORETICAL_US = {
    "alex-6": 28.1,
    "alex-7": 11.7,
    "alex-8": 8.9,
    "vgg-6": 28.1,
    "vgg-7": 7.9,
    "vgg-8": 7.3,
    "nt-we": 5.2,
    "nt-wd": 13.0,
    "nt-lstm": 6.5,
}

# Fig. 9: sparse-matrix SRAM read energy against the SRAM width, on AlexNet; the paper chooses 64 bits because
# the total read energy is lowest there. The plotted values are not printed in the text.
FIG_9_WIDTHS_BITS = (32, 64, 128, 256, 512)
FIG_9_LAYERS = ("alex-6", "alex-7", "alex-8")
FIG_9_BEST_WIDTH_BITS = 64

# Fig. 11: speedup over one PE for 1 to 256 PEs on the nine benchmark layers, which the paper calls near-linear
# (its bar values are not printed in the text, so linear speedup is the reference).
FIG_11_PES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
