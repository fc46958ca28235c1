"""Validation chunk by chunk (mlpipe.data.validate.validate_parquet on the local executor): any
cut of the table, any block of columns, the same report as the whole frame in memory; the
dtypes a batch reads (an integer column with a missing value in one row group only) and the
repeats that straddle two chunks do not change it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from mlpipe.data.schema import ColumnSpec, Schema
from mlpipe.data.validate import (
    ValidationPlan,
    merge_validation_counts,
    validate_chunks,
    validate_parquet,
    validate_table,
    validation_counts,
)
from mlpipe.engine import LocalExecutor
from mlpipe.io import empty_table, read_parquet, whole_column_dtypes

from .validate_tables import ROWS, SCHEMA, write
from .validate_tables import frame as broken_table


def test_any_cut_and_any_block_of_columns_gives_the_whole_tables_report(tmp_path: Path) -> None:
    path = write(broken_table(), tmp_path / "t.parquet", group_rows=20)
    assert whole_column_dtypes(path) == {"age": "float64"}  # nulls in the 2nd and 3rd groups
    whole = read_parquet(path)
    assert whole["age"].dtype == "float64"
    expected = validate_table(whole, SCHEMA, id_columns=("id",))
    rules = [(v.column, v.rule, v.rows) for v in expected.errors]
    assert rules == [
        ("id", "unique ids", 2),
        ("age", "missing fraction <= 0", 2),
        ("age", "min 0", 6),
        ("age", "max 90", 3),
        ("kids", "integer", 2),
        ("fee", "missing fraction <= 0.2", 15),
        ("fee", "min 0", 6),
        ("fee", "max 100", 4),
        ("plan", "missing fraction <= 0", 10),
        ("plan", "allowed categories", 31),
        ("amount", "missing fraction <= 0", 13),
        ("amount", "type numeric", 29),
        ("active", "missing fraction <= 0", 15),
        ("active", "type boolean", 14),
        ("y", "known classes", 20),
    ]
    assert [(v.column, v.rule, v.rows) for v in expected.warnings] == [
        ("seen", "min 2020-01-01", 14),
        ("seen", "max 2020-12-31", 6),
        ("extra", "known column", 60),
    ]
    assert expected.errors[0].observed.startswith("1 id(s) occur more than once, e.g. ['c19']")
    assert [str(v) for v in expected.errors if v.column == "active"][1] == (
        "active: type boolean — values that are not yes/no (true/false, y/n, t/f, 1/0, any "
        "case), e.g. ['maybe'] (14 rows)"
    )
    for rows in (1, 7, 20, 1000):
        for block in (60, 180, 10**6):  # one column, three columns, every column at a time
            found = validate_chunks(
                lambda columns, chunk, merge, initial, rows=rows: LocalExecutor(rows).map_merge(
                    path, columns, chunk, merge, initial
                ),
                dataclasses.replace(
                    ValidationPlan(SCHEMA, tuple(whole.columns), id_columns=("id",)),
                    casts=tuple(whole_column_dtypes(path).items()),
                ),
                ROWS,
                empty=empty_table(path),
                block_values=block,
            )
            assert json.dumps(found.as_dict()) == json.dumps(expected.as_dict()), (rows, block)


def test_whole_duplicate_rows_across_blocks_of_columns_and_chunks(tmp_path: Path) -> None:
    """Without an id: the row hash continues from one block of columns to the next."""
    frame = broken_table().drop(columns=["id"])
    frame = pd.concat([frame, frame.iloc[[3, 45, 45]]], ignore_index=True)
    path = write(frame, tmp_path / "rows.parquet", group_rows=9)
    schema = dataclasses.replace(SCHEMA, columns=SCHEMA.columns[1:])
    expected = validate_table(read_parquet(path), schema, max_invalid_fraction=0.5)
    (copies,) = [v for v in expected.warnings if v.rule == "unique rows"]
    assert copies.rows == 3 and copies.observed.startswith("3 row(s) (4.76%) repeat an earlier")
    for rows in (5, 1000):
        found = validate_parquet(
            LocalExecutor(rows).map_merge, path, schema, tolerance=0.5
        )  # blocks of one column each below
        assert found == expected
        plan = ValidationPlan(schema, tuple(frame.columns), tolerance=0.5)
        narrow = validate_chunks(
            lambda c, f, m, i, rows=rows: LocalExecutor(rows).map_merge(path, c, f, m, i),
            dataclasses.replace(plan, casts=tuple(whole_column_dtypes(path).items())),
            len(frame),
            empty=empty_table(path),
            block_values=len(frame),
        )
        assert narrow == expected


def test_a_boolean_column_with_a_missing_value_in_one_chunk_reads_as_the_whole_column() -> None:
    """A bool batch and an object batch of one column: cast to the whole column's dtype."""
    schema = Schema("y", "binary", (ColumnSpec("flag", "boolean"), ColumnSpec("y", "boolean")))
    plan = ValidationPlan(schema, ("flag", "y"), casts=(("flag", "object"),))
    first = validation_counts(pd.DataFrame({"flag": [True, False], "y": [True, False]}), plan)
    second = validation_counts(pd.DataFrame({"flag": [None, True], "y": [False, True]}), plan)
    merged = merge_validation_counts(first, second)
    assert merged.tallies["flag"].dtype == "object" and merged.tallies["flag"].missing == 1
    whole = pd.DataFrame({"flag": [True, False, None, True], "y": [True, False, False, True]})
    assert (
        validate_table(whole, schema).as_dict()
        == validate_chunks(
            lambda c, f, m, i: m(
                m(i, f(whole.iloc[:2][c])), f(whole.iloc[2:][c].reset_index(drop=True))
            ),
            plan,
            4,
            empty=whole.iloc[:0],
        ).as_dict()
    )


@pytest.mark.parametrize("rows", [0, 1])
def test_a_table_of_no_rows_or_one_row(tmp_path: Path, rows: int) -> None:
    frame = broken_table().iloc[:rows]
    path = write(frame, tmp_path / "t.parquet", group_rows=20)
    found = validate_parquet(LocalExecutor(1000).map_merge, path, SCHEMA)
    assert found.as_dict() == validate_table(read_parquet(path), SCHEMA).as_dict()
    if not rows:
        assert str(found.errors[0]) == "*: rows — the table has no rows (0 rows)"
