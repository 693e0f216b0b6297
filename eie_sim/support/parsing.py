"""TOML and JSON text to Python values, every failure one InputError naming where the text came from.

Both parsers recurse once per level of nesting, so text nested deeper than the interpreter's recursion limit
(`[[[[...]]]]`, a few thousand levels) raises RecursionError; that is the file's mistake, not a bug.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from typing import Any

from eie_sim.errors import InputError

_CONTAINERS = {"TOML": "arrays or tables", "JSON": "arrays or objects"}


def _parse(loads: Callable[[str], Any], error: type[ValueError], text: str, origin: str, language: str) -> Any:
    try:
        return loads(text)
    except error as exc:
        raise InputError(f"{origin}: not valid {language} ({exc})") from None
    except RecursionError:
        raise InputError(f"{origin}: {_CONTAINERS[language]} nested too deep to read") from None


def parse_toml(text: str, origin: str) -> dict[str, Any]:
    """The table of a TOML document; `origin` (a file name) leads every error message."""
    return _parse(tomllib.loads, tomllib.TOMLDecodeError, text, origin, "TOML")


def parse_json(text: str, origin: str) -> Any:
    """The value of a JSON document; `origin` (a file, or an array of one) leads every error message."""
    return _parse(json.loads, json.JSONDecodeError, text, origin, "JSON")
