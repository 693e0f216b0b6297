"""Print the energy model's calibration against EIE Table II (one PE at 800 MHz, nine paper layers, 64 PEs).

Prints each module's modeled power per PE next to Table II's, the shares, and the per-cycle overheads that make the
modules match Table II (the values of [overhead] in eie_sim/data/energy_45nm.toml).
Method: eie_sim/costs/calibration.py.
Usage: .venv/bin/python scripts/calibrate_energy.py [--engine fast|simpy] [--seed S]
"""

from __future__ import annotations

import argparse

from eie_sim.costs.calibration import calibration_frame, fitted_overheads, kind_check, paper_counts
from eie_sim.data.published import TABLE_II_TOTAL_MW
from eie_sim.results.render import table

HEADINGS = {
    "module": "module",
    "dynamic_mw": "dynamic (mW)",
    "overhead_mw": "overhead (mW)",
    "leakage_mw": "leakage (mW)",
    "model_mw": "model (mW)",
    "table_ii_mw": "Table II (mW)",
    "model_share_pct": "model share (%)",
    "table_ii_share_pct": "Table II share (%)",
    "share_diff_pp": "difference (pp)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("fast", "simpy"), default="fast")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    counts = paper_counts(args.engine, args.seed)
    frame = calibration_frame(counts)
    total = frame["model_mw"].sum()
    print(
        table(
            frame.rename(columns=HEADINGS), "EIE Table II vs the model: one PE of 64 at 800 MHz, nine EIE paper layers"
        )
    )
    print(
        f"PE total: model {total:.3f} mW, Table II {TABLE_II_TOTAL_MW:.3f} mW "
        f"({100 * (total / TABLE_II_TOTAL_MW - 1):+.1f}%)"
    )
    print("not fitted, by kind (Table II: memory vs clock network + registers + combinational):")
    for kind, (model_mw, paper_mw) in kind_check(counts).items():
        print(
            f"  {kind:<16} model {model_mw:.3f} mW, Table II {paper_mw:.3f} mW "
            f"({100 * (model_mw / paper_mw - 1):+.1f}%)"
        )
    print("\nfitted [overhead] entries for eie_sim/data/energy_45nm.toml (pJ per PE per cycle):")
    for module, pj in fitted_overheads(counts).items():
        print(f"{module}_pj_per_cycle = {pj:.4f}")


if __name__ == "__main__":
    main()
