"""The digits example's results as terminal tables, one JSON object, or one long CSV (examples/digits computes them)."""

from __future__ import annotations

import json

import pandas as pd

from eie_sim.examples.digits import DigitsRun
from eie_sim.results.render import table, to_jsonable


def render_digits(run: DigitsRun, fmt: str) -> str:
    """Terminal tables, one JSON object of the three tables, or one long CSV (table, row, column, value)."""
    eie = pd.DataFrame({"quantity": run.per_inference.index, "per_image": run.per_inference.to_numpy()})
    sections = {
        "stages": (run.stages, "Digits MLP 64-300-100-10: test accuracy by stage"),
        "regularization": (
            run.regularization,
            "L1 vs L2 regularization: test accuracy after pruning to the same density",
        ),
        "eie_per_image": (eie, f"EIE, per test image ({len(run.labels)} images in one batch)"),
    }
    if fmt == "json":
        return json.dumps(
            to_jsonable({key: frame.to_dict(orient="records") for key, (frame, _) in sections.items()}), indent=2
        )
    if fmt == "csv":
        long = [
            frame.melt(id_vars=frame.columns[0], var_name="column")
            .rename(columns={frame.columns[0]: "row"})
            .assign(table=key)
            for key, (frame, _) in sections.items()
        ]
        return pd.concat(long, ignore_index=True)[["table", "row", "column", "value"]].to_csv(index=False)
    eie["quantity"] = eie["quantity"].map(_heading)
    return "\n".join(table(frame.rename(columns=_heading), title) for frame, title in sections.values())


def _heading(column: str) -> str:
    """A column name with its unit suffix as a readable heading: test_accuracy_pct -> test accuracy (%)."""
    for suffix, unit in (("_pct", " (%)"), ("_us", " (us)"), ("_pj", " (pJ)")):
        if column.endswith(suffix):
            column = column[: -len(suffix)] + unit
    return column.replace("_", " ")
