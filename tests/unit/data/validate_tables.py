"""A table that breaks most of a schema's rules in places that differ between chunks, for the
chunk-wise validation tests (tests/unit/data/test_validate_chunks.py, the Dask engine's in
tests/unit/stages/test_data_stages_dask.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlpipe.data.schema import ColumnSpec, Schema

SCHEMA = Schema(
    target="y",
    task="multiclass",
    classes=("a", "b"),
    columns=(
        ColumnSpec("id", "id"),
        ColumnSpec("age", "numeric", integer=True, min=0, max=90),
        ColumnSpec("kids", "numeric", integer=True),
        ColumnSpec("fee", "numeric", max_missing=0.2, min=0, max=100),
        ColumnSpec("plan", "categorical", categories=("basic", "pro")),
        ColumnSpec("seen", "datetime", min="2020-01-01", max="2020-12-31"),
        ColumnSpec("member", "boolean"),
        ColumnSpec("amount", "numeric"),
        ColumnSpec("active", "boolean"),
        ColumnSpec("y", "categorical"),
    ),
)
ROWS = 60


def frame() -> pd.DataFrame:
    """60 rows breaking most rules, in places that differ between chunks: the first row group
    (20 rows) has no missing age, the rows 19 and 41 share an id, the text 'n/a' and the
    unknown plans are spread over the table."""
    rng = np.random.default_rng(0)
    age = rng.integers(-3, 95, ROWS).astype(float)
    age[[25, 50]] = np.nan
    kids = rng.integers(0, 4, ROWS).astype(float)
    kids[[17, 44]] = 2.5
    ids = [f"c{i}" for i in range(ROWS)]
    ids[41] = ids[19]
    return pd.DataFrame(
        {
            "id": ids,
            "age": age,
            "kids": kids,
            "fee": np.where(rng.random(ROWS) < 0.3, np.nan, rng.normal(50, 40, ROWS)),
            "plan": rng.choice(["basic", "pro", "gold", "silver", None], ROWS),
            "seen": pd.Timestamp("2019-10-01") + pd.to_timedelta(rng.integers(0, 500, ROWS), "D"),
            "member": [True, False] * 30,
            "amount": rng.choice(["1.5", "2", "n/a", "x", None], ROWS),
            "active": rng.choice(["yes", "no", "maybe", "Y", None], ROWS),
            "y": rng.choice(["a", "b", "c"], ROWS),
            "extra": 1,
        }
    )


def write(frame: pd.DataFrame, path: Path, group_rows: int) -> Path:
    """As a file written by another tool (no pandas metadata): an integer column with a
    missing value reads as float64 whole, as int64 in a row group without one."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    if "age" in frame:
        table = table.set_column(
            table.schema.get_field_index("age"),
            "age",
            pa.array(frame["age"].astype("Int64"), type=pa.int64()),
        )
    pq.write_table(table, path, row_group_size=group_rows)
    return path
