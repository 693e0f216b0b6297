"""DataFrames to text: an aligned terminal table, JSON records or CSV (units live in the column names)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def _cell(value: Any) -> str:
    if value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if np.isnan(value):
            return ""
        if not np.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return str(value)


def table(frame: pd.DataFrame, title: str = "") -> str:
    """Right-aligned columns with thousands separators; strings left-aligned."""
    header = [str(c) for c in frame.columns]
    body = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric)).rstrip()

    rows = [line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in body]
    return "\n".join(([title, ""] if title else []) + rows) + "\n"


def markdown(frame: pd.DataFrame, numeric: Sequence[bool] | None = None) -> str:
    """A GitHub-flavoured Markdown table, numbers formatted as in the terminal table; `numeric` says which columns
    to right-align when they hold numbers already formatted as text."""
    if numeric is None:
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    lines = [
        "| " + " | ".join(str(c) for c in frame.columns) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def to_jsonable(value: Any) -> Any:
    """numpy scalars and arrays to plain Python, for json.dumps; a missing value (NaN, pandas' NA) is null."""
    if value is pd.NA or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def render(frame: pd.DataFrame, fmt: str, title: str = "") -> str:
    if fmt == "json":
        return json.dumps(to_jsonable(frame.to_dict(orient="records")), indent=2)
    if fmt == "csv":
        return frame.to_csv(index=False)
    return table(frame, title)
