"""Helpers for the audit tests: a table's schema, feature roles and leakage section."""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.audit.table import audit_table, leakage_section, sample_positions
from mlpipe.config import AuditConfig
from mlpipe.data.schema import Schema, infer_schema
from mlpipe.model.features import FeatureSpec, feature_spec


def roles(frame: pd.DataFrame, target: str, task: str = "auto") -> tuple[Schema, FeatureSpec]:
    """The schema `mlpipe schema infer` would write for ``frame`` and its feature roles."""
    schema = infer_schema(frame, target, task)
    return schema, feature_spec(schema)


def leakage(
    frame: pd.DataFrame, target: str, task: str = "auto", config: AuditConfig | None = None
) -> dict[str, Any]:
    """The leakage section the audit stage writes for ``frame`` (sampled as the stage does)."""
    config = config or AuditConfig()
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    schema, spec = roles(frame, target, task)
    sample = frame.iloc[sample_positions(len(frame), config.max_rows, config.seed)]
    return leakage_section(sample.reset_index(drop=True), spec, target, schema.task, config)


def powers(section: dict[str, Any]) -> dict[str, float]:
    return {f["column"]: f["power"] for f in section["features"]}


def flagged(section: dict[str, Any]) -> list[str]:
    return [f["column"] for f in section["flagged"]]


# A column name and id values that would be markdown (a mention, HTML, a table cell) if a
# report wrote them as they are.
HOSTILE_COLUMN = "refund|@octocat"
HOSTILE_ID = "<img src=x onerror=alert(1)>"
# The threshold the leaky audit uses (its leak, the true label plus noise, predicts the flipped
# labels a little less than perfectly).
LEAKY_THRESHOLD = 0.85


@functools.lru_cache(maxsize=1)
def leaky_audit() -> dict[str, Any]:
    """The audit report (as the stage writes it) of a small binary table with one leak (under
    a hostile column name: the true label plus noise), honest features, an id column of hostile
    values, and 5 % of its labels flipped (seeded); ``max_feature_power`` 0.85."""
    rng = np.random.default_rng(11)
    rows = 600
    signal = rng.normal(size=rows)
    y = (signal + rng.normal(0, 0.7, rows) > 0).astype(int)
    flipped = rng.random(rows) < 0.05
    given = np.where(flipped, 1 - y, y)
    frame = pd.DataFrame(
        {
            "ticket": [f"{HOSTILE_ID}|#{i}" for i in range(rows)],
            "signal": signal,
            "noise": rng.normal(size=rows),
            HOSTILE_COLUMN: y + rng.normal(0, 0.1, rows),  # the label before it was flipped
            "y": np.where(given == 1, "yes", "no"),
        }
    )
    schema = infer_schema(frame, "y", id_columns=("ticket",))
    spec = feature_spec(schema)
    audit = audit_table(
        frame,
        spec,
        "y",
        schema.task,
        schema.classes,
        AuditConfig(max_feature_power=LEAKY_THRESHOLD),
        positions=np.arange(rows),
        total_rows=rows,
        id_columns=["ticket"],
    )
    return json.loads(json.dumps(audit.report))  # as read back from the JSON file
