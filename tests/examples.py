"""How many examples a property test draws: its own count, scaled by the Hypothesis profile in use.

Profiles (registered in conftest.py): `ci`, the default, draws each test's count (every run, on every change);
`thorough` draws ten times as many (`pytest --hypothesis-profile thorough`, before a release).
"""

from __future__ import annotations

from hypothesis import settings

BASE_EXAMPLES = 100  # the `ci` profile's max_examples: a test's count is scaled by the profile's, relative to it


def examples(count: int) -> int:
    return max(1, count * settings.default.max_examples // BASE_EXAMPLES)
