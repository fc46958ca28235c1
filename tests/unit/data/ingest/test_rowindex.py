"""A saved row index (pandas' to_csv() index, R's write.csv row names) is left out; any other
unnamed column stays an error that says how to fix it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    convert_chunk,
    iter_source,
    normalize_chunks,
    report_notes,
)
from mlpipe.io import InputError

NA = CsvConfig().na_values


def _table(rows: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20 + i for i in range(rows)],
            "plan": ["a", "b"] * (rows // 2),
            "y": [0, 1] * (rows // 2),
        }
    )


def _read(path: Path, chunk_rows: int | None) -> tuple[pd.DataFrame, list[str]]:
    """The table ingest makes of ``path`` (two passes, chunks of ``chunk_rows``), its notes."""

    def chunks():
        return iter_source(path, CsvConfig(), chunk_rows)

    plan = normalize_chunks(chunks, NA, source=str(path))
    parts = [convert_chunk(chunk, plan) for chunk in chunks()]
    return pd.concat(parts, ignore_index=True), report_notes(plan.report)


@pytest.mark.parametrize("chunk_rows", [None, 3])
def test_pandas_to_csv_with_its_index_reads_as_the_table_without_it(
    tmp_path: Path, chunk_rows: int | None
) -> None:
    path = tmp_path / "t.csv"
    _table().to_csv(path)  # index kept: ',age,plan,y' then '0,20,a,0'
    assert path.read_text().splitlines()[:2] == [",age,plan,y", "0,20,a,0"]
    table, notes = _read(path, chunk_rows)
    assert list(table.columns) == ["age", "plan", "y"]
    assert table["age"].tolist() == list(range(20, 30))
    assert notes == ["column 1 (no name): the file's row numbers, not used"]


@pytest.mark.parametrize("chunk_rows", [None, 3])
def test_r_write_csv_with_quoted_row_names_from_1(tmp_path: Path, chunk_rows: int | None) -> None:
    path = tmp_path / "r.csv"
    lines = ['"","age","plan","y"']  # as R's write.csv writes it
    lines += [f'"{i + 1}",{20 + i},"{"ab"[i % 2]}",{i % 2}' for i in range(7)]
    path.write_text("\n".join(lines) + "\n")
    table, notes = _read(path, chunk_rows)
    assert list(table.columns) == ["age", "plan", "y"] and len(table) == 7
    assert table["plan"].tolist()[:3] == ["a", "b", "a"]
    assert notes == ["column 1 (no name): the file's row numbers, not used"]


def test_a_parquet_unnamed_0_column_of_row_numbers_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    frame = _table()
    frame.insert(0, "Unnamed: 0", np.arange(10, dtype=np.int64))  # read_csv's name, saved
    frame.to_parquet(path, index=False, row_group_size=4)
    table, notes = _read(path, 4)
    assert list(table.columns) == ["age", "plan", "y"]
    assert notes == ["column 1 ('Unnamed: 0'): the file's row numbers, not used"]


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (["5", "6", "7", "8"], "data row 1 holds '5'"),  # not from 0 or 1
        (["0", "1", "2", "2"], "data row 4 holds '2'"),  # a repeat, late (chunk 2)
        (["1", "2", "", "4"], "data row 3 is empty"),
        (["a", "b", "c", "d"], "data row 1 holds 'a'"),
    ],
)
def test_an_unnamed_first_column_that_is_not_the_row_numbers_is_an_error(
    tmp_path: Path, values: list[str], shown: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(",x,y\n" + "".join(f"{v},{i},{i % 2}\n" for i, v in enumerate(values)))
    with pytest.raises(InputError) as caught:
        _read(path, 2)
    assert str(caught.value) == (
        f"{path}: column 1 has an empty name in the header and does not hold the row numbers "
        f"(0, 1, 2, ... or 1, 2, 3, ...) ({shown}), so it cannot be left out as the file's saved "
        "row index. Give it a name in the header's first cell (or remove the column) and run "
        "again"
    )


def test_a_column_named_unnamed_0_with_other_values_is_a_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Unnamed: 0,y\n7,0\n3,1\n9,0\n")
    table, notes = _read(path, None)
    assert list(table.columns) == ["Unnamed: 0", "y"] and table["Unnamed: 0"].tolist() == [7, 3, 9]
    assert notes == []


def test_an_empty_name_after_the_first_column_is_an_error_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,,y\n1,2,3\n")
    with pytest.raises(InputError) as caught:
        _read(path, None)
    assert str(caught.value) == (
        f"{path}: column(s) at position [1] have an empty name (0 is the first column). Give "
        "every column a name in the header (only a first column holding the row numbers, as "
        "pandas' to_csv() and R's write.csv() write them, may stay unnamed)"
    )


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (["0", "1", "2", "4", "5", "6"], "data row 4 holds '4'"),  # a chunk starts wrong
        (["0", "1", "2", "3", "5", "6"], "data row 5 holds '5'"),  # wrong inside a chunk
        (["1", "2", "3", "3", "4", "5"], "data row 4 holds '3'"),  # starts at 0, not 1
        (["0", "1", "2", "", "4", "5"], "data row 4 is empty"),
    ],
)
@pytest.mark.parametrize("chunk_rows", [None, 2, 3])
def test_each_chunk_checked_on_its_own_finds_the_first_wrong_row_number(
    tmp_path: Path, values: list[str], shown: str, chunk_rows: int | None
) -> None:
    """Pass 1 checks each chunk alone (as a Dask task would) and merges the verdicts: a
    chunk whose numbers do not continue the previous chunk's is wrong at its first row."""
    path = tmp_path / "t.csv"
    path.write_text(",x\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))
    with pytest.raises(InputError, match="does not hold the row numbers") as caught:
        _read(path, chunk_rows)
    assert f"({shown})" in str(caught.value)
