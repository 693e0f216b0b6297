"""Wall time and peak resident memory of the flows users run, as medians over repeats.

Each flow runs as its own process (interpreter start-up and imports included), the way a user types it. Give
several installations with --python to compare them in one run, flow by flow, on the same (noisy) machine:

    python scripts/bench_flows.py --repeats 3 --python .venv/bin/python --python /tmp/old/.venv/bin/python
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PES = "1,2,4,8,16,32,64,128,256"
FLOWS = {
    "import eie_sim.cli": ["-c", "import eie_sim.cli"],
    "simulate eie-paper": ["-m", "eie_sim", "simulate", "eie-paper"],
    "simulate vgg16": ["-m", "eie_sim", "simulate", "vgg16"],
    "sweep eie-paper, 9 PE counts": ["-m", "eie_sim", "sweep", "eie-paper", "--pes", PES, "--jobs", "1"],
    "sweep eie-paper, 9 PE counts x 6 queue depths": [
        *("-m", "eie_sim", "sweep", "eie-paper", "--pes", PES, "--fifo-depth", "1,2,4,8,16,32", "--jobs", "1"),
    ],
}


def run(python: str, args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one run of `python args`."""
    start = time.perf_counter()
    process = subprocess.Popen(  # from a neutral directory: a checkout in the current one would shadow the install
        [python, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tempfile.gettempdir()
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"{python} {' '.join(args)} failed: {process.stderr.read().decode()[-500:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per flow and installation (default 3)")
    parser.add_argument("--only", default="", help="run only the flows whose name contains this text")
    parser.add_argument(
        "--python", action="append", help="interpreter of an installation to time (repeatable; default: this one)"
    )
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    print(f"{'flow':48} {'installation':32} {'wall s':>8} {'peak MiB':>9}   runs (s)")
    for name, flow in FLOWS.items():
        if args.only not in name:
            continue
        runs: dict[str, list[tuple[float, float]]] = {python: [] for python in pythons}
        for _ in range(args.repeats):  # installations interleaved, so that load drifts hit them alike
            for python in pythons:
                runs[python].append(run(python, flow))
        for python, measured in runs.items():
            wall = statistics.median(r[0] for r in measured)
            peak = statistics.median(r[1] for r in measured)
            each = ", ".join(f"{r[0]:.2f}" for r in measured)
            print(f"{name:48} {python[-32:]:32} {wall:8.2f} {peak:9.0f}   {each}", flush=True)


if __name__ == "__main__":
    main()
