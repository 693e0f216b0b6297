"""Shared test set-up: Hypothesis profiles, the `slow` marker, and where tests find the real compressed SqueezeNet
(Deep Compression's release), and what they skip without it.

Hypothesis profiles: `ci` (the default) and `thorough` (ten times the examples; tests/examples.py), chosen with
`pytest --hypothesis-profile NAME`. Tests marked `slow` (whole-network simulations, sweeps, the calibration) are
part of the default run; `pytest -m "not slow"` leaves them out while iterating.

The real model is looked for in the user cache (`eie-sim fetch squeezenet-dc`), then in the shared data beside the
repository (../shared/data/squeezenet-deep-compression/). Tests take the `real_model` fixture; without the release
they are skipped, and the summary names them and says how to enable them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from eie_sim.support.fetch import cache_dir, fetched_file
from examples import BASE_EXAMPLES

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "squeezenet-deep-compression"
NET_FILE = "compressed_SqueezeNet.net"
PROTOTXT_FILE = "SqueezeNet_deploy.prototxt"
MISSING = f"the real compressed SqueezeNet is neither in {cache_dir('squeezenet-dc')} nor in {SHARED}"
ENABLE = "run `eie-sim fetch squeezenet-dc` to enable"


@dataclass(frozen=True)
class RealModel:
    net: Path
    prototxt: Path


def _find_real_model() -> RealModel | None:
    fetched = fetched_file("squeezenet-dc")
    for directory in ([fetched.parent] if fetched else []) + [SHARED]:
        model = RealModel(directory / NET_FILE, directory / PROTOTXT_FILE)
        if model.net.is_file() and model.prototxt.is_file():
            return model
    return None


settings.register_profile(
    "ci", max_examples=BASE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=10 * BASE_EXAMPLES)
settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: simulates whole networks or sweeps (deselect with -m 'not slow')")


REAL_MODEL = _find_real_model()  # looked up once, before any test points EIE_SIM_CACHE elsewhere
_skipped: list[str] = []


@pytest.fixture(scope="session")
def real_model() -> RealModel:
    """The real release's .net and prototxt; the test is skipped when neither place has them."""
    if REAL_MODEL is None:
        pytest.skip(f"{MISSING}; {ENABLE}")
    return REAL_MODEL


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and MISSING in str(report.longrepr):
        _skipped.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line naming the tests (parametrizations folded) that the real model's absence skipped."""
    if _skipped:
        tests = ", ".join(dict.fromkeys(nodeid.split("[")[0] for nodeid in _skipped))
        terminalreporter.write_line(f"skipped {len(_skipped)} tests: {MISSING}; {ENABLE} them: {tests}", yellow=True)
