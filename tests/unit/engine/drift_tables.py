"""Two tables for the drift stage's executor tests: every kind of column, missing values, ties,
unlabelled rows, and Parquet files cut into many row groups."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlpipe.config import DriftConfig
from mlpipe.data.drift import DriftReport
from mlpipe.data.schema import ColumnSpec, Schema

SCHEMA = Schema(
    target="y",
    task="binary",
    classes=("no", "yes"),
    columns=(
        ColumnSpec("cid", "id"),
        ColumnSpec("amount", "numeric", max_missing=0.2),
        ColumnSpec("visits", "numeric", integer=True),
        ColumnSpec("seen", "datetime"),
        ColumnSpec("plan", "categorical", categories=("a", "b", "c"), max_missing=0.2),
        ColumnSpec("tech", "boolean", max_missing=0.2),
        ColumnSpec("y", "categorical", categories=("no", "yes")),
    ),
)
CONFIG = DriftConfig()
ROW_GROUP = 250


def table(rows: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(3 * shift, 1.0, rows)
    amount[rng.random(rows) < 0.1] = np.nan
    plan = rng.choice(np.array(["a", "b", "c", None], dtype=object), rows, p=[0.4, 0.3, 0.2, 0.1])
    tech = pd.array(rng.random(rows) < 0.3 + shift / 10, dtype="boolean")
    tech[rng.random(rows) < 0.05] = pd.NA
    y = np.where(rng.random(rows) < 0.3, "yes", "no").astype(object)
    y[rng.random(rows) < 0.1] = None  # not labelled yet
    return pd.DataFrame(
        {
            "cid": [f"c{seed}-{i}" for i in range(rows)],
            "amount": amount,
            "visits": rng.integers(0, 12, rows).astype(float),  # many ties
            "seen": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 400 + int(100 * shift), rows), "D"),
            "plan": pd.array(plan, dtype="string"),
            "tech": tech,
            "y": pd.array(y, dtype="string"),
        }
    )


def write_tables(directory: Path) -> tuple[Path, Path]:
    """reference.parquet (3000 rows) and current.parquet (2000 rows, shifted), row groups of
    ``ROW_GROUP`` rows (12 and 8 groups)."""
    paths = directory / "reference.parquet", directory / "current.parquet"
    for path, frame in zip(paths, (table(3000, 1, 0.0), table(2000, 2, 0.3)), strict=True):
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=ROW_GROUP
        )
    return paths


def as_bytes(report: DriftReport) -> bytes:
    return json.dumps(report.as_dict(), sort_keys=True).encode()
