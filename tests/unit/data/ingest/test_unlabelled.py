"""Rows without a target, set aside with their source row numbers, and the map back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.data.ingest import (
    ROW,
    set_aside,
    source_rows,
    unlabelled_message,
    unlabelled_warning,
)
from mlpipe.io import InputError


def _chunk() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.5, 2.5, 3.5, 4.5],
            "y": pd.array([True, None, False, None], dtype="boolean"),
            "c": pd.array(["a", "b", None, "d"], dtype="string"),
        }
    )


def test_set_aside_splits_a_chunk_and_numbers_the_rows_from_the_chunk_start() -> None:
    labelled, unlabelled = set_aside(_chunk(), "y", first_row=10)
    assert labelled["x"].tolist() == [1.5, 3.5] and labelled["y"].tolist() == [True, False]
    assert labelled["c"].isna().tolist() == [False, True] and labelled["c"].iloc[0] == "a"
    assert list(unlabelled.columns) == [ROW, "x", "c"]  # no target: missing in every row
    assert unlabelled[ROW].tolist() == [11, 13] and str(unlabelled[ROW].dtype) == "int64"
    assert unlabelled["x"].tolist() == [2.5, 4.5] and unlabelled["c"].tolist() == ["b", "d"]
    assert str(unlabelled["c"].dtype) == "string"


def test_set_aside_of_a_fully_labelled_chunk_keeps_the_dtypes_of_an_empty_table() -> None:
    chunk = _chunk().assign(y=[True, False, True, False])
    labelled, unlabelled = set_aside(chunk, "y", first_row=0)
    pd.testing.assert_frame_equal(labelled, chunk)
    assert unlabelled.empty and list(unlabelled.columns) == [ROW, "x", "c"]
    assert [str(t) for t in unlabelled.dtypes] == ["int64", "float64", "string"]


def test_a_column_named_row_is_refused_only_when_rows_are_set_aside() -> None:
    chunk = _chunk().rename(columns={"x": "row"})
    with pytest.raises(InputError, match="the table has a column named 'row'"):
        set_aside(chunk, "y", first_row=0)
    labelled, unlabelled = set_aside(chunk.assign(y=True), "y", first_row=0)
    assert len(labelled) == 4 and list(unlabelled.columns) == [ROW, "c"] and unlabelled.empty


@pytest.mark.parametrize(
    ("labelled", "aside", "expected"),
    [
        (3, [], [0, 1, 2]),
        (3, [0, 4], [1, 2, 3]),
        (2, [1, 2, 3], [0, 4]),
        (0, [0, 1], []),
    ],
)
def test_source_rows_are_the_complement_of_the_unlabelled_rows(
    labelled: int, aside: list[int], expected: list[int]
) -> None:
    rows = source_rows(labelled, np.array(aside, dtype=np.int64))
    assert rows.tolist() == expected and rows.dtype == np.int64


def test_source_rows_maps_the_ingested_table_back_to_the_source() -> None:
    source = _chunk().assign(x=[10.0, 11.0, 12.0, 13.0])
    labelled, unlabelled = set_aside(source, "y", first_row=0)
    rows = source_rows(len(labelled), unlabelled[ROW])
    pd.testing.assert_frame_equal(
        source.iloc[rows].reset_index(drop=True), labelled, check_dtype=True
    )


@pytest.mark.parametrize(
    ("labelled", "aside", "message"),
    [
        (2, [0, 0], "must be distinct"),
        (2, [-1], r"must lie in 0\.\.2"),
        (2, [3], r"must lie in 0\.\.2 \(2 labelled \+ 1 unlabelled rows\)"),
    ],
)
def test_source_rows_refuses_numbers_that_cannot_be_unlabelled_rows(
    labelled: int, aside: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        source_rows(labelled, aside)


def test_the_messages_count_the_rows_and_warn_above_a_fifth() -> None:
    assert unlabelled_message(59, 322, "Salary", "data/interim/unlabelled.parquet") == (
        "59 of 322 rows (18.3%) have no value in target 'Salary': set aside in "
        "data/interim/unlabelled.parquet (not used to train or test; score them with "
        "`mlpipe predict --input data/interim/unlabelled.parquet`)"
    )
    assert unlabelled_warning(59, 322, "Salary") is None  # 18 %: no warning
    assert unlabelled_warning(65, 300, "Salary") == (
        "22% of the rows have no value in target 'Salary' (more than 20%): the model learns "
        "from the other 235. Check data.target, and whether the missing labels are missing at "
        "random"
    )
