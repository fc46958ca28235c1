"""Validation collects every violation of the schema (column, rule, observed, rows)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mlpipe.data.schema import ColumnSpec, Schema, schema_from_dict
from mlpipe.data.validate import Violation, validate_table

SCHEMA = Schema(
    target="churned",
    task="binary",
    classes=(False, True),
    columns=(
        ColumnSpec("id", "id"),
        ColumnSpec("tenure", "numeric", integer=True, min=0, max=72),
        ColumnSpec("charge", "numeric", max_missing=0.25, min=0, max=200),
        ColumnSpec("plan", "categorical", categories=("basic", "premium")),
        ColumnSpec("region", "categorical", categories=("n", "s"), unknown="warn"),
        ColumnSpec("signup", "datetime", min="2020-01-01", max="2024-12-31"),
        ColumnSpec("paperless", "boolean"),
        ColumnSpec("churned", "boolean"),
    ),
)


def _good() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "tenure": [0, 5, 10, 72],
            "charge": [10.0, np.nan, 50.0, 200.0],
            "plan": ["basic", "premium", "basic", "basic"],
            "region": ["n", "s", "n", "s"],
            "signup": pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01", "2024-12-31"]),
            "paperless": [True, False, True, False],
            "churned": [False, True, False, True],
        }
    )


def test_a_good_table_passes_with_counts() -> None:
    result = validate_table(_good(), SCHEMA)
    assert result.ok and result.errors == () and result.warnings == ()
    assert result.target_counts == {"False": 2, "True": 2}
    report = result.as_dict()
    assert report["ok"] is True and report["rows"] == 4 and report["columns"] == 8
    assert report["checks_run"] == report["checks_passed"] == result.checks
    assert result.checks > 20
    assert report["task"] == "binary"  # the schema's task, for split to read


def test_every_violation_is_listed_not_just_the_first() -> None:
    frame = _good().drop(columns=["paperless"])
    frame["tenure"] = [-1, 5, 10.5, 80]
    frame["charge"] = [np.nan, np.nan, 50.0, 10.0]
    frame["plan"] = ["basic", "gold", "gold", "silver"]
    frame["churned"] = [False, False, False, False]
    result = validate_table(frame, SCHEMA)
    assert not result.ok
    assert result.errors == (
        Violation("tenure", "min 0", "min seen -1", 1),
        Violation("tenure", "max 72", "max seen 80", 1),
        Violation(
            "tenure",
            "integer",
            "non-integer values, e.g. 10.5 (the schema says integer: true; set integer: false "
            "if fractions are valid)",
            1,
        ),
        Violation("charge", "missing fraction <= 0.25", "0.5000 missing", 2),
        Violation("plan", "allowed categories", "unknown categories 'gold' x2, 'silver' x1", 3),
        Violation("paperless", "column present", "column is missing", 4),
        Violation("churned", "at least two classes", "only class 'False'", 4),
    )
    report = result.as_dict()
    assert report["checks_passed"] == report["checks_run"] - 7
    assert report["errors"][0] == {
        "column": "tenure",
        "rule": "min 0",
        "observed": "min seen -1",
        "rows": 1,
    }
    assert str(result.errors[4]) == (
        "plan: allowed categories — unknown categories 'gold' x2, 'silver' x1 (3 rows)"
    )


def test_unknown_category_with_unknown_warn_is_a_warning() -> None:
    frame = _good()
    frame["region"] = ["n", "east", "s", "n"]
    result = validate_table(frame, SCHEMA)
    assert result.ok
    assert result.warnings == (
        Violation("region", "allowed categories", "unknown categories 'east' x1", 1),
    )


def test_dates_out_of_range_warn() -> None:
    frame = _good()
    frame["signup"] = pd.to_datetime(["2019-05-01", "2021-01-01", "2022-01-01", "2025-02-01"])
    result = validate_table(frame, SCHEMA)
    assert result.ok
    assert [str(w) for w in result.warnings] == [
        "signup: min 2020-01-01 — min seen 2019-05-01 (1 rows)",
        "signup: max 2024-12-31 — max seen 2025-02-01 (1 rows)",
    ]


@pytest.mark.parametrize(
    "bounds", [("2020-01-01", "2024-12-31"), ("2020-01-01T00:00+01:00", None)]
)
def test_zoned_dates_are_compared_in_utc_not_a_crash(bounds: tuple[str, str | None]) -> None:
    # 2020-01-01 00:30 in Berlin is 2019-12-31 23:30 UTC: before a min of 2020-01-01, but not
    # before 2020-01-01T00:00+01:00 (= 2019-12-31 23:00 UTC); 2025-01-02 00:30 there is
    # 2025-01-01 23:30 UTC.
    low, high = bounds
    schema = Schema(
        target="y",
        task="binary",
        columns=(ColumnSpec("when", "datetime", min=low, max=high), ColumnSpec("y", "boolean")),
    )
    when = pd.to_datetime(["2020-01-01 00:30", "2022-06-01 12:00", "2025-01-02 00:30"])
    frame = pd.DataFrame({"when": when.tz_localize("Europe/Berlin"), "y": [True, False, True]})
    result = validate_table(frame, schema)
    assert result.ok
    if high is None:
        assert result.warnings == ()
    else:
        assert [str(w) for w in result.warnings] == [
            "when: min 2020-01-01 — min seen 2019-12-31 (1 rows)",
            "when: max 2024-12-31 — max seen 2025-01-01 (1 rows)",
        ]


@pytest.mark.parametrize(
    "values", [[1.0, 2.0, np.nan, 2.0], [1, 2, 2, 1], pd.array([1, None, 2, 2], dtype="Int64")]
)
@pytest.mark.parametrize("categories", [[1, 2], [1.0, 2.0], ["1", "2"]])
def test_numeric_values_match_categories_by_value(values: object, categories: list) -> None:
    schema = schema_from_dict(
        {
            "version": 1,
            "target": "y",
            "task": "binary",
            "columns": {
                "sex": {"kind": "categorical", "categories": categories, "max_missing": 0.5},
                "y": {"kind": "boolean"},
            },
        }
    )
    frame = pd.DataFrame({"sex": values, "y": [True, False, True, False]})
    assert validate_table(frame, schema).ok
    frame["sex"] = [1.0, 3.0, 2.5, np.nan]
    assert [str(v) for v in validate_table(frame, schema).errors] == [
        "sex: allowed categories — unknown categories '3' x1, '2.5' x1 (2 rows)"
    ]


@pytest.mark.parametrize(("mode", "ok"), [("warn", True), ("fail", False)])
def test_extra_columns_warn_or_fail(mode: str, ok: bool) -> None:
    frame = _good().assign(note=["x", "y", "z", "w"])
    result = validate_table(frame, SCHEMA, extra_columns=mode)
    issue = Violation("note", "known column", "column is not in the schema", 4)
    assert result.ok is ok
    assert (result.warnings if ok else result.errors) == (issue,)


def test_max_invalid_fraction_tolerates_a_share_of_out_of_range_values() -> None:
    frame = _good()
    frame["tenure"] = [0, 5, 10, 99]
    assert not validate_table(frame, SCHEMA).ok
    assert validate_table(frame, SCHEMA, max_invalid_fraction=0.25).ok
    assert not validate_table(frame, SCHEMA, max_invalid_fraction=0.2).ok


def test_text_in_a_numeric_column_shows_examples() -> None:
    frame = _good()
    frame["charge"] = ["10", "abc", "n/a", "5"]
    result = validate_table(frame, SCHEMA)
    assert result.errors == (
        Violation("charge", "type numeric", "values that are not numbers, e.g. ['abc', 'n/a']", 2),
    )


def test_wrong_type_for_a_datetime_column() -> None:
    frame = _good()
    frame["signup"] = [1, 2, 3, 4]
    result = validate_table(frame, SCHEMA)
    (error,) = result.errors
    assert (error.column, error.rule, error.rows) == ("signup", "type datetime", 4)
    assert error.observed.startswith("values that are not ISO 8601 dates, e.g. ['1', '2', '3']")


def test_missing_labels_and_no_rows() -> None:
    frame = _good()
    frame["churned"] = pd.array([True, None, False, True], dtype="boolean")
    # One error with the fix (not also the target's missing-value budget).
    assert [str(v) for v in validate_table(frame, SCHEMA).errors] == [
        "churned: target present — missing labels; rows without a label cannot be used to "
        "train or evaluate: remove them from the source, or set data.unlabelled: drop (ingest "
        "sets them aside, to score later) (1 rows)"
    ]
    empty = validate_table(_good().iloc[:0], SCHEMA)
    assert Violation("*", "rows", "the table has no rows", 0) in empty.errors
    assert Violation("churned", "at least two classes", "no labelled rows", 0) in empty.errors


def test_scoring_data_without_target() -> None:
    frame = _good().drop(columns=["churned"])
    result = validate_table(frame, SCHEMA, require_target=False)
    assert result.ok and result.target_counts == {}
    assert not validate_table(frame, SCHEMA).ok


def test_regression_target_must_be_numeric() -> None:
    schema = Schema(target="y", task="regression", columns=(ColumnSpec("y", "categorical"),))
    result = validate_table(pd.DataFrame({"y": ["a", "b"]}), schema)
    assert result.errors == (Violation("y", "numeric target", "dtype str", 2),)
    ok = validate_table(pd.DataFrame({"y": [1.5, 2.0]}), schema)
    assert not any(v.rule == "numeric target" for v in ok.errors)
    assert ok.as_dict()["task"] == "regression" and ok.target_counts == {}


def test_a_parquet_file_read_column_by_column_gives_the_same_result(tmp_path) -> None:
    from mlpipe.io import ParquetColumns, write_parquet

    bad = _good().assign(tenure=[0, 5, 99, -1], plan=["basic", "gold", "basic", None])
    bad["extra"] = 1
    write_parquet(tmp_path / "t.parquet", bad)
    in_memory = validate_table(bad, SCHEMA)
    from_disk = validate_table(ParquetColumns(tmp_path / "t.parquet"), SCHEMA)
    assert from_disk == in_memory
    assert not from_disk.ok and {v.column for v in from_disk.errors} == {"tenure", "plan"}


def _stacked() -> pd.DataFrame:
    """The good table twice, the way a CSV appended to itself looks: every id repeated."""
    return pd.concat([_good(), _good()], ignore_index=True)


def test_a_repeated_id_is_an_error_naming_column_count_examples_and_fix() -> None:
    result = validate_table(_stacked(), SCHEMA)
    assert not result.ok
    (issue,) = result.errors
    assert (issue.column, issue.rule, issue.rows) == ("id", "unique ids", 8)
    assert issue.observed.startswith("4 id(s) occur more than once, e.g. ['a', 'b', 'c']; ")
    assert "Remove the duplicate rows, or if repeats are legitimate, do not declare 'id'" in str(
        issue
    )
    assert "unique: false" in issue.observed
    assert result.as_dict()["errors"][0]["column"] == "id"
    assert result.warnings == ()  # the id check replaces the whole-row check


def test_missing_ids_are_not_duplicates_and_one_repeat_is_counted() -> None:
    frame = _good().assign(id=["a", None, None, "a"])
    (issue,) = validate_table(frame, SCHEMA).errors
    assert issue.rows == 2 and issue.observed.startswith(
        "1 id(s) occur more than once, e.g. ['a']"
    )
    assert validate_table(_good().assign(id=["a", None, None, "d"]), SCHEMA).ok


def test_a_repeated_id_within_max_invalid_fraction_is_a_warning() -> None:
    frame = pd.concat([_good(), _good().iloc[:1]], ignore_index=True)  # 2 of 5 rows share 'a'
    tolerant = validate_table(frame, SCHEMA, max_invalid_fraction=0.4)
    assert tolerant.ok and [v.rule for v in tolerant.warnings] == ["unique ids"]
    assert [v.rule for v in validate_table(frame, SCHEMA, max_invalid_fraction=0.3).errors] == [
        "unique ids"
    ]


def test_unique_false_in_the_schema_allows_repeats() -> None:
    columns = tuple(
        dataclasses.replace(c, unique=False) if c.name == "id" else c for c in SCHEMA.columns
    )
    result = validate_table(_stacked(), dataclasses.replace(SCHEMA, columns=columns))
    assert result.ok
    # No column is checked for unique ids, so whole rows are compared instead: a warning.
    assert [(v.column, v.rule, v.rows) for v in result.warnings] == [("*", "unique rows", 4)]


def test_id_columns_from_params_are_checked_even_when_the_schema_says_categorical() -> None:
    columns = tuple(
        ColumnSpec("plan", "categorical") if c.name == "plan" else c
        for c in SCHEMA.columns
        if c.name != "id"
    )
    schema = dataclasses.replace(SCHEMA, columns=columns)
    frame = _good().drop(columns=["id"])
    assert validate_table(frame, schema).ok
    (issue,) = validate_table(frame, schema, id_columns=("plan",)).errors
    assert (issue.column, issue.rule, issue.rows) == ("plan", "unique ids", 3)
    assert issue.observed.startswith("1 id(s) occur more than once, e.g. ['basic']")


def test_whole_duplicate_rows_without_an_id_column_are_a_warning_with_the_count() -> None:
    schema = dataclasses.replace(SCHEMA, columns=SCHEMA.columns[1:])  # no id column
    frame = pd.concat([_good(), _good().iloc[[0, 0, 2]]], ignore_index=True).drop(columns=["id"])
    result = validate_table(frame, schema)
    assert result.ok
    (issue,) = result.warnings
    assert (issue.column, issue.rule, issue.rows) == ("*", "unique rows", 3)
    assert issue.observed.startswith("3 row(s) (42.86%) repeat an earlier row exactly; ")
    assert "remove them (e.g. drop_duplicates) before ingest, or declare an id column" in str(
        issue
    )
    # Rows that differ in one column (here: an extra column) are not duplicates.
    frame["note"] = range(len(frame))
    assert [v.rule for v in validate_table(frame, schema).warnings] == ["known column"]
    assert validate_table(_good().drop(columns=["id"]), schema).warnings == ()


def test_duplicates_found_column_by_column_on_parquet_match_in_memory(tmp_path) -> None:
    from mlpipe.io import ParquetColumns, write_parquet

    schema = dataclasses.replace(SCHEMA, columns=SCHEMA.columns[1:])
    for name, frame, check in (
        ("ids.parquet", _stacked(), SCHEMA),
        ("rows.parquet", _stacked().drop(columns=["id"]), schema),
    ):
        write_parquet(tmp_path / name, frame)
        from_disk = validate_table(ParquetColumns(tmp_path / name), check)
        assert from_disk == validate_table(frame, check)
        assert {v.rule for v in (*from_disk.errors, *from_disk.warnings)} & {
            "unique ids",
            "unique rows",
        }


def test_fractions_in_an_integer_column_are_tolerated_like_other_invalid_values() -> None:
    """The review's case: one fractional age refused the whole batch whatever
    validate.max_invalid_fraction said."""
    frame = _good()
    frame["tenure"] = [1, 5, 10.5, 12]
    assert not validate_table(frame, SCHEMA).ok
    assert validate_table(frame, SCHEMA, max_invalid_fraction=0.25).ok
    (error,) = validate_table(frame, SCHEMA, max_invalid_fraction=0.2).errors
    assert (error.column, error.rule, error.rows) == ("tenure", "integer", 1)


def test_dates_in_another_format_are_named_with_the_fix() -> None:
    """The review's case: '01/01/2020' in a date column gave only 'dtype string (40 rows)'."""
    frame = _good()
    frame["signup"] = ["2020-01-05", "01/01/2020", "13/01/2020", "2021-03-04 10:00:00"]
    (error,) = validate_table(frame, SCHEMA).errors
    assert error == Violation(
        "signup",
        "type datetime",
        "values that are not ISO 8601 dates, e.g. ['01/01/2020', '13/01/2020']: write dates as "
        "YYYY-MM-DD (optionally with a time), as in the training data",
        2,
    )


def test_a_column_with_no_value_is_reported_as_missing_not_as_a_wrong_type() -> None:
    """The review's case: an all-blank numeric column also got 'values that are not numbers,
    e.g. [] (0 rows)' next to the missing-fraction error."""
    frame = _good()
    frame["charge"] = pd.Series([None] * 4, dtype="string")
    assert [(e.column, e.rule) for e in validate_table(frame, SCHEMA).errors] == [
        ("charge", "missing fraction <= 0.25")
    ]
