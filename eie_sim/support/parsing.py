"""TOML and JSON text to Python values, every failure one InputError naming where the text came from.

Both parsers recurse once per level of nesting, so text nested deeper than the interpreter's recursion limit
(`[[[[...]]]]`, a few thousand levels) raises RecursionError; that is the file's mistake, not a bug.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from eie_sim.errors import InputError


def parse_toml(text: str, origin: str) -> dict[str, Any]:
    """The table of a TOML document; `origin` (a file name) leads every error message."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{origin}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{origin}: arrays or tables nested too deep to read") from None


def parse_json(text: str, origin: str) -> Any:
    """The value of a JSON document; `origin` (a file, or an array of one) leads every error message."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin}: not valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{origin}: arrays or objects nested too deep to read") from None
