"""Atomic writes: a failing writer leaves the old file untouched and no temporary file."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlpipe.io import (
    InputError,
    ParquetBatchWriter,
    ParquetColumns,
    atomic_dir,
    atomic_path,
    cast_to,
    check_outputs_are_not_inputs,
    empty_table,
    iter_parquet,
    parquet_columns,
    parquet_rows,
    read_json,
    read_parquet,
    read_parquet_rows,
    whole_column_dtypes,
    write_json,
    write_parquet,
    write_parquet_batches,
    write_text,
)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_atomic_path_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new")
        assert not target.exists()  # nothing visible until the writer finishes
    assert target.read_text() == "new"
    assert _leftovers(target.parent) == []


def test_atomic_path_keeps_the_old_file_when_the_writer_raises(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_atomic_path_writes_nothing_when_the_first_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"
    with pytest.raises(KeyboardInterrupt), atomic_path(target):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_swaps_whole_directories(tmp_path: Path) -> None:
    target = tmp_path / "plots"
    target.mkdir()
    (target / "stale.json").write_text("{}")
    with atomic_dir(target) as tmp:
        (tmp / "roc.json").write_text("[]")
    assert sorted(p.name for p in target.iterdir()) == ["roc.json"]
    assert _leftovers(tmp_path) == []


def test_atomic_dir_keeps_the_old_directory_when_the_writer_raises(tmp_path: Path) -> None:
    target = tmp_path / "plots"
    target.mkdir()
    (target / "roc.json").write_text("old")
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "roc.json").write_text("half")
        raise ValueError("bad plot")
    assert (target / "roc.json").read_text() == "old"
    assert _leftovers(tmp_path) == []


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


@pytest.mark.usefixtures("umask_027")
def test_atomic_writes_get_the_umask_mode_not_the_temporary_files_0600(tmp_path: Path) -> None:
    """The review's case: results written through a temporary file stayed private (0600 /
    0700) whatever the umask, so teammates on a shared machine could not read them."""
    write_json(tmp_path / "metrics.json", {"a": 1})
    write_parquet(tmp_path / "t.parquet", pd.DataFrame({"x": [1, 2]}))
    with atomic_dir(tmp_path / "plots") as tmp:
        (tmp / "roc.json").write_text("[]")
    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "t.parquet").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "plots").stat().st_mode) == 0o750
    os.umask(0o022)
    write_text(tmp_path / "card.md", "x")
    assert stat.S_IMODE((tmp_path / "card.md").stat().st_mode) == 0o644


def test_a_failed_write_removes_the_directories_it_created(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "kept" / "new" / "deeper" / "x.csv"):
        raise RuntimeError("input failed validation")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "out" / "figures"):
        raise RuntimeError("plot failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    write_text(tmp_path / "kept" / "new" / "x.csv", "ok")  # success keeps what it created
    assert (tmp_path / "kept" / "new" / "x.csv").read_text() == "ok"


def test_an_output_naming_an_input_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "batch.csv").write_text("a\n1\n")
    inputs = {"--current": tmp_path / "batch.csv", "--reference": tmp_path / "train.parquet"}
    with pytest.raises(InputError) as caught:
        check_outputs_are_not_inputs(inputs, {"--output-md": tmp_path / "x" / ".." / "batch.csv"})
    assert str(caught.value) == (
        f"--output-md {tmp_path / 'x' / '..' / 'batch.csv'} is the same file as --current: "
        "writing it would replace that file. Choose another --output-md. Nothing was written"
    )
    with pytest.raises(InputError, match=r"--output-json .* is the same file as --output-md"):
        check_outputs_are_not_inputs(
            inputs, {"--output-md": tmp_path / "r.md", "--output-json": tmp_path / "r.md"}
        )
    check_outputs_are_not_inputs(inputs, {"--output-md": tmp_path / "r.md", "--output-json": None})
    assert (tmp_path / "batch.csv").read_text() == "a\n1\n"


def test_write_json_is_stable_and_rejects_nan(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    write_json(path, {"b": 1, "a": [1.5, "x"]})
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    "x"\n  ],\n  "b": 1\n}\n'
    assert read_json(path) == {"a": [1.5, "x"], "b": 1}
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        write_json(path, {"a": float("nan")})
    assert json.loads(path.read_text()) == {"a": [1.5, "x"], "b": 1}  # old content kept


def test_write_text_is_utf8(tmp_path: Path) -> None:
    write_text(tmp_path / "t.txt", "région — ok\n")
    assert (tmp_path / "t.txt").read_bytes() == "région — ok\n".encode()


def test_read_json_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.json: file not found"):
        read_json(tmp_path / "missing.json")


def test_parquet_round_trip_and_deterministic_bytes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"x": [1, 2, 3], "s": pd.array(["a", None, "c"], dtype="string"), "b": [True, False, True]}
    )
    write_parquet(tmp_path / "a.parquet", frame)
    write_parquet(tmp_path / "b.parquet", frame)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = read_parquet(tmp_path / "a.parquet")
    pd.testing.assert_frame_equal(back, frame)
    assert read_parquet(tmp_path / "a.parquet", columns=["x"]).columns.tolist() == ["x"]


def test_read_parquet_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_parquet(tmp_path / "train.parquet")
    assert str(caught.value) == (
        f"{tmp_path / 'train.parquet'}: file not found. Run the stage that produces it "
        "(dvc repro)."
    )


def _mixed(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": range(n),
            "s": pd.array([None if i % 7 == 0 else f"v{i % 5}" for i in range(n)], dtype="string"),
            "d": pd.date_range("2024-01-01", periods=n, freq="h").astype("datetime64[ms]"),
            "b": [i % 3 == 0 for i in range(n)],
        }
    )


def test_batched_parquet_equals_the_whole_table_and_one_batch_equals_write_parquet(
    tmp_path: Path,
) -> None:
    frame = _mixed(25)
    rows = write_parquet_batches(
        tmp_path / "b.parquet", (frame.iloc[i : i + 10] for i in (0, 10, 20))
    )
    assert rows == 25
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "b.parquet"), frame)
    assert parquet_rows(tmp_path / "b.parquet") == 25
    # Read back in other batch sizes: same rows, same dtypes, batches of at most 4 rows.
    batches = list(iter_parquet(tmp_path / "b.parquet", 4, columns=["x", "s"]))
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 4, 1]
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), frame[["x", "s"]])
    # A single batch gives the bytes write_parquet gives: results do not change by streaming.
    write_parquet_batches(tmp_path / "one.parquet", [frame])
    write_parquet(tmp_path / "whole.parquet", frame)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()


@pytest.mark.parametrize("sizes", [[25], [3] * 9, [7, 0, 1, 17], [16, 9]])
def test_batched_parquet_has_the_bytes_of_the_whole_table_whatever_the_batch_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sizes: list[int]
) -> None:
    import pyarrow.parquet as pq

    from mlpipe import io

    monkeypatch.setattr(io, "ROW_GROUP_ROWS", 8)  # 25 rows: groups of 8, 8, 8 and 1
    frame = _mixed(25)
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [frame.iloc[s : s + k] for s, k in zip(starts, sizes, strict=True)]
    assert write_parquet_batches(tmp_path / "b.parquet", batches) == 25
    write_parquet(tmp_path / "whole.parquet", frame)
    assert (tmp_path / "b.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    handle = pq.ParquetFile(tmp_path / "b.parquet")
    groups = [handle.metadata.row_group(i).num_rows for i in range(handle.num_row_groups)]
    assert groups == [8, 8, 8, 1]


def test_iter_parquet_holds_one_batch_not_the_row_groups_already_read(tmp_path: Path) -> None:
    import numpy as np
    import pyarrow as pa

    block = 50_000
    path = tmp_path / "big.parquet"
    rng = np.random.default_rng(0)  # incompressible values: every row group is ~1.6 MB
    write_parquet_batches(
        path, (pd.DataFrame(rng.random((block, 4)), columns=list("abcd")) for _ in range(30))
    )
    held = []
    rows = 0
    for batch in iter_parquet(path, block):
        rows += len(batch)
        held.append(pa.total_allocated_bytes())
        del batch
    assert rows == 30 * block
    # Arrow's allocations while the 30th batch is alive are those of the 3rd: one batch, not
    # a cache of every row group read so far (what Arrow's pre_buffer default would keep).
    assert max(held[2:]) - held[2] < 2 * block * 4 * 8, held


def test_a_batch_with_other_types_fails_and_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "t.parquet"
    write_parquet(target, _mixed(3))
    before = target.read_bytes()
    second = _mixed(3).assign(x=["a", "b", "c"])
    with pytest.raises(InputError) as caught:
        write_parquet_batches(target, [_mixed(3), second])
    assert str(caught.value).startswith(f"{target}: rows 4-6 do not have the types of the first")
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == [] and [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    with pytest.raises(InputError, match="no rows to write"):
        write_parquet_batches(target, [])
    assert target.read_bytes() == before


def test_parquet_columns_reads_one_column_at_a_time(tmp_path: Path) -> None:
    frame = _mixed(12)
    write_parquet(tmp_path / "t.parquet", frame)
    table = ParquetColumns(tmp_path / "t.parquet")
    assert len(table) == 12 and table.shape == (12, 4) and not table.empty
    assert list(table.columns) == ["x", "s", "d", "b"] and "s" in table.columns
    for column in frame.columns:
        pd.testing.assert_series_equal(table[column], frame[column])
    with pytest.raises(KeyError):
        table["nope"]
    with pytest.raises(InputError, match="file not found"):
        ParquetColumns(tmp_path / "missing.parquet")


def _read_each_column_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_values: int
) -> tuple[pd.DataFrame, ParquetColumns, list[list[str]]]:
    """A 12-row, 4-column table read through ParquetColumns in file order, each column twice
    and checked against the table; returns the table, the reader and the columns of each read
    from disk."""
    import mlpipe.io as io

    frame = _mixed(12)
    write_parquet(tmp_path / "t.parquet", frame)
    calls: list[list[str]] = []
    real = io.read_parquet
    monkeypatch.setattr(
        io, "read_parquet", lambda path, columns=None: calls.append(columns) or real(path, columns)
    )
    table = ParquetColumns(tmp_path / "t.parquet", block_values=block_values)
    for column in frame.columns:
        pd.testing.assert_series_equal(table[column], frame[column])
        pd.testing.assert_series_equal(table[column], frame[column])
    return frame, table, calls


@pytest.mark.parametrize(("block_values", "reads"), [(24, 2), (36, 2), (10**6, 1)])
def test_parquet_columns_reads_blocks_of_columns_each_once_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_values: int, reads: int
) -> None:
    frame, table, calls = _read_each_column_twice(tmp_path, monkeypatch, block_values)
    assert len(calls) == reads  # the second read of a column reuses the block in memory
    width = block_values // 12  # whole columns only
    assert all(len(names) == min(width, 4) or names == ["b"] for names in calls), calls
    assert [name for names in calls for name in names] == list(frame.columns)
    changed = table["x"]
    changed.iloc[0] = -1  # a caller's change does not reach the next read
    assert table["x"].iloc[0] == frame["x"].iloc[0]


def test_parquet_columns_of_a_tall_table_reads_each_column_when_asked_and_keeps_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 11 values: less than one column of 12 rows
    frame, table, calls = _read_each_column_twice(tmp_path, monkeypatch, 11)
    assert calls == [[c] for c in frame.columns for _ in range(2)]  # one column at a time
    assert table._block is None


def _numbered(tmp_path: Path, rows: int = 25) -> Path:
    frame = pd.DataFrame(
        {"i": range(rows), "s": pd.array([f"r{i}" for i in range(rows)], dtype="string")}
    )
    path = tmp_path / "rows.parquet"
    write_parquet(path, frame)
    return path


@pytest.mark.parametrize("batch_rows", [1, 4, 7, 100])
def test_read_parquet_rows_takes_exactly_the_positions(tmp_path: Path, batch_rows: int) -> None:
    path = _numbered(tmp_path)
    positions = [0, 3, 4, 11, 20, 24]  # across batch borders, first and last row
    out = read_parquet_rows(path, positions, batch_rows=batch_rows)
    assert out["i"].tolist() == positions
    assert out["s"].tolist() == [f"r{i}" for i in positions]
    assert out.index.tolist() == list(range(len(positions)))
    only = read_parquet_rows(path, [2, 5], columns=["s"], batch_rows=batch_rows)
    assert only.columns.tolist() == ["s"] and only["s"].tolist() == ["r2", "r5"]


def test_read_parquet_rows_without_positions_gives_the_columns_and_no_rows(
    tmp_path: Path,
) -> None:
    out = read_parquet_rows(_numbered(tmp_path), [], columns=["i"])
    assert out.columns.tolist() == ["i"] and len(out) == 0


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        ([3, 2], "positions must be ascending, without repeats, and not negative"),
        ([2, 2], "positions must be ascending, without repeats, and not negative"),
        ([-1, 2], "positions must be ascending, without repeats, and not negative"),
        ([1, 25], "row 25 requested, the table has 25"),
    ],
)
def test_read_parquet_rows_refuses_bad_positions(
    tmp_path: Path, positions: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        read_parquet_rows(_numbered(tmp_path), positions)


def test_parquet_columns_reads_the_schema(tmp_path: Path) -> None:
    assert parquet_columns(_numbered(tmp_path)) == ["i", "s"]
    with pytest.raises(InputError, match="file not found"):
        parquet_columns(tmp_path / "absent.parquet")
    with pytest.raises(InputError, match="file not found"):
        read_parquet_rows(tmp_path / "absent.parquet", [0])


def test_two_files_filled_in_one_pass_and_empty_batches_before_the_first_rows(
    tmp_path: Path,
) -> None:
    frame = _mixed(12)
    with (
        ParquetBatchWriter(tmp_path / "even.parquet") as even,
        ParquetBatchWriter(tmp_path / "none.parquet") as none,
    ):
        for start in range(0, 12, 3):
            chunk = frame.iloc[start : start + 3]
            even.write(chunk.iloc[:0] if start == 0 else chunk)  # the first batch is empty
            none.write(chunk.iloc[:0])
    assert (even.rows, none.rows) == (9, 0)
    write_parquet(tmp_path / "whole.parquet", frame.iloc[3:])
    assert (tmp_path / "even.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    empty = read_parquet(tmp_path / "none.parquet")  # no rows, the columns and their types
    assert empty.empty and list(empty.dtypes.astype(str)) == list(frame.dtypes.astype(str))


def test_a_failure_inside_the_block_writes_neither_file(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="late error"),
        ParquetBatchWriter(tmp_path / "a.parquet") as a,
        ParquetBatchWriter(tmp_path / "b.parquet") as b,
    ):
        a.write(_mixed(3))
        b.write(_mixed(2))
        raise RuntimeError("late error")
    assert list(tmp_path.iterdir()) == []


def test_whole_column_dtypes_cast_every_batch_to_what_the_whole_column_reads(
    tmp_path: Path,
) -> None:
    """Integers and booleans with a missing value in one row group only: that group's batches
    read float64/object, the others int64/bool; cast_to makes them all read as the whole
    column does (pandas' nullable dtypes, named in the file's metadata, already agree)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "n": pa.array([1, 2, 3, None], type=pa.int64()),
            "b": pa.array([True, False, None, True]),
            "full": pa.array([1, 2, 3, 4], type=pa.int32()),
            "x": pa.array([0.5, None, 1.5, 2.0]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=2)
    dtypes = whole_column_dtypes(tmp_path / "t.parquet")
    assert dtypes == {"n": "float64", "b": "object"}
    whole = read_parquet(tmp_path / "t.parquet")
    batches = list(iter_parquet(tmp_path / "t.parquet", 2))
    assert [str(b["n"].dtype) for b in batches] == ["int64", "float64"]  # what is cast
    cast = pd.concat([cast_to(b, dtypes) for b in batches], ignore_index=True)
    pd.testing.assert_frame_equal(cast, whole)
    assert cast_to(batches[1], dtypes) is batches[1]  # nothing to cast: the same frame
    assert empty_table(tmp_path / "t.parquet").dtypes.astype(str).to_dict() == {
        "n": "int64",
        "b": "bool",
        "full": "int32",
        "x": "float64",
    }
    pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}).to_parquet(tmp_path / "p.parquet")
    assert whole_column_dtypes(tmp_path / "p.parquet") == {}  # Int64 in every batch
