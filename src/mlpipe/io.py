"""Reading and writing files: tables, JSON, text. Every write is atomic (temp file + rename)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipe.errors import MlpipeError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.parquet as pq


class InputError(MlpipeError):
    """An input file is missing or unreadable; the message says which and how to fix it."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    A failed or killed writer leaves the previous ``path`` (if any) untouched and no partial file,
    nor the parent directories this call had to create. The file gets the mode a plain ``open``
    would give it (0666 minus the umask), not the temporary file's private 0600.
    """
    target = Path(path)
    created = _make_parents(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    done = False
    try:
        yield tmp_path
        tmp_path.chmod(0o666 & ~_umask())
        os.replace(tmp_path, target)
        done = True
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
        if not done:
            _remove_empty(created)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; swap it in for ``path`` only on success.

    Like ``atomic_path``: nothing changes on failure, and the directory gets 0777 minus the umask.
    """
    target = Path(path)
    created = _make_parents(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    done = False
    try:
        yield tmp
        tmp.chmod(0o777 & ~_umask())
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            _rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            _rmtree(old)
        done = True
    finally:
        _rmtree(tmp)
        if not done:
            _remove_empty(created)


def check_outputs_are_not_inputs(
    inputs: dict[str, str | Path | None], outputs: dict[str, str | Path | None]
) -> None:
    """InputError when an output option names the same file as an input option (or as another
    output): writing it would silently replace the input. Keys are the option names."""
    seen: dict[Path, str] = {}
    for option, path in inputs.items():
        if path is not None:
            seen.setdefault(Path(path).resolve(), option)
    for option, path in outputs.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise InputError(
                f"{option} {path} is the same file as {seen[resolved]}: writing it would replace "
                f"that file. Choose another {option}. Nothing was written"
            )
        seen[resolved] = option


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_parents(directory: Path) -> list[Path]:
    """mkdir -p directory; return the directories that did not exist, deepest first."""
    missing = []
    for parent in (directory, *directory.parents):
        if parent.exists():
            break
        missing.append(parent)
    directory.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty(directories: list[Path]) -> None:
    """Remove directories (deepest first) that are still empty; keep any that gained files."""
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return


def _rmtree(path: Path) -> None:
    import shutil

    if path.exists():
        shutil.rmtree(path)


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically with stable formatting (sorted keys, 2-space indent, newline)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a missing file is an InputError naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None


# Rows per Parquet row group in every table the pipeline writes, whole or in batches: the file's
# bytes depend on the rows only, never on how many rows a stage held in memory at a time.
ROW_GROUP_ROWS = 262_144


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    """Write a DataFrame as Parquet atomically (no index, deterministic bytes)."""
    with atomic_path(path) as tmp:
        frame.to_parquet(
            tmp,
            index=False,
            engine="pyarrow",
            compression="snappy",
            row_group_size=ROW_GROUP_ROWS,
        )


def _produced(path: str | Path) -> Path:
    """``path`` as a Path; an InputError when the file a stage should have written is missing."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found. Run the stage that produces it (dvc repro).")
    return path


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet table; a missing file is an InputError naming it."""
    path = _produced(path)
    import pandas as pd  # imported when used: `mlpipe` checks its options before pandas loads

    return pd.read_parquet(path, columns=columns, engine="pyarrow")


def write_parquet_batches(path: str | Path, batches: Iterable[pd.DataFrame]) -> int:
    """Write DataFrame batches as one Parquet file atomically; return the number of rows.

    Memory holds one batch plus at most one row group (``ROW_GROUP_ROWS`` rows) waiting to be
    written. Rows are regrouped into row groups of ``ROW_GROUP_ROWS``, so the file has the bytes
    ``write_parquet`` gives for the whole table, whatever the batch sizes. Every batch must have
    the columns and dtypes of the first (its Arrow schema); a batch that does not, or no batch
    at all, is an InputError and nothing is written.
    """
    with ParquetBatchWriter(path) as writer:
        for batch in batches:
            writer.write(batch)
    return writer.rows


class ParquetBatchWriter:
    """``write_parquet_batches`` as a writer that batches are pushed to (``write``), so one pass
    over a source can fill several files. Used as a context manager: the file replaces
    ``path`` when the block ends without an error, and nothing is written otherwise.

    The Arrow schema is taken from the first batch with rows (empty batches before it are
    skipped), so the bytes do not depend on where the batches were cut; a file of no rows gets
    the schema of the first (empty) batch.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: Any = None
        self._empty: Any = None  # the first batch while every batch so far was empty
        self._waiting: list[Any] = []  # rows not written yet: fewer than ROW_GROUP_ROWS
        self._held = 0  # their count
        self._atomic: Any = None
        self._tmp: Path | None = None

    def __enter__(self) -> ParquetBatchWriter:
        self._atomic = atomic_path(self.path)
        self._tmp = self._atomic.__enter__()
        return self

    def write(self, batch: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            if not len(batch):
                if self._empty is None:
                    self._empty = batch
                return
            table = pa.Table.from_pandas(batch, preserve_index=False)
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression="snappy")
        else:
            try:
                table = pa.Table.from_pandas(
                    batch, schema=self._writer.schema, preserve_index=False
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
                raise InputError(
                    f"{self.path}: rows {self.rows + 1}-{self.rows + len(batch)} do not have the "
                    f"types of the first rows ({exc})"
                ) from None
        self._waiting.append(table)
        self._held += table.num_rows
        self.rows += len(batch)
        while self._held >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, count: int) -> None:
        import pyarrow as pa

        joined = pa.concat_tables(self._waiting)
        self._writer.write_table(
            joined.slice(0, count).combine_chunks(), row_group_size=count or 1
        )
        rest = joined.slice(count)
        self._waiting, self._held = ([rest] if rest.num_rows else []), rest.num_rows

    def _finish(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None and self._empty is not None:  # no rows: the schema only
            table = pa.Table.from_pandas(self._empty, preserve_index=False)
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression="snappy")
            self._waiting = [table]
        if self._writer is None:
            raise InputError(f"{self.path}: no rows to write")
        if self._held or not self.rows:
            self._flush(self._held)  # the last, shorter group (or no rows)

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if error is None:
                self._finish()
        except BaseException as exc:
            kind, error, trace = type(exc), exc, exc.__traceback__
            raise
        finally:
            if self._writer is not None:
                self._writer.close()
            self._atomic.__exit__(kind, error, trace)  # the file replaces path only on success


def open_parquet_stream(path: str | Path) -> pq.ParquetFile:
    """A ``pyarrow.parquet.ParquetFile`` for reading ``path`` batch by batch.

    Arrow's ``pre_buffer`` is off: with it on, the reads of row groups already consumed stay
    cached until the file is closed, so memory grew with the file (40 batches of 100 000 rows:
    Arrow's allocations rose from 64 to 122 MB; off: flat at 35 MB, and no slower on local disk).
    """
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False)


def iter_parquet(
    path: str | Path,
    batch_rows: int,
    columns: list[str] | None = None,
    row_groups: list[int] | None = None,
    *,
    positions: bool = False,
) -> Iterator[pd.DataFrame]:
    """Read a Parquet table in batches of at most ``batch_rows`` rows (memory: one batch);
    only the row groups ``row_groups`` (consecutive, in file order) when given.

    ``positions``: each batch's index holds its rows' positions in the file (0-based), so a
    function of a batch can decide per row whatever batch or row group it came in; else each
    batch is indexed from 0.
    """
    import pandas as pd

    with open_parquet_stream(_produced(path)) as handle:
        start = 0
        if row_groups:
            if list(row_groups) != list(range(row_groups[0], row_groups[0] + len(row_groups))):
                raise ValueError(f"row groups {row_groups} are not consecutive")
            meta = handle.metadata
            start = sum(meta.row_group(g).num_rows for g in range(row_groups[0]))
        batches = handle.iter_batches(
            batch_size=batch_rows, columns=columns, row_groups=row_groups
        )
        for batch in batches:
            frame = batch.to_pandas()
            if positions:
                frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame


def parquet_row_groups(path: str | Path) -> int:
    """How many row groups the Parquet file ``path`` has (from its footer)."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(_produced(path)) as handle:
        return int(handle.metadata.num_row_groups)


def parquet_rows(path: str | Path) -> int:
    """The row count from a Parquet file's metadata (no data read)."""
    return len(ParquetColumns(path))


# Values ParquetColumns reads at once: as many whole columns as fit (at least one). A tall table
# is read a column at a time as before; a wide, short one in a few reads instead of one per
# column (each read parses the file's footer and the pandas metadata of every column: a 1 000-
# column table took 30 ms a read, a minute for drift's 2 000 reads).
COLUMN_BLOCK_VALUES = 2_000_000


class ParquetColumns:
    """A Parquet table read a few columns at a time, for checks that look at a column at a time.

    Offers the part of the DataFrame API those checks use (``len``, ``.empty``, ``.shape``,
    ``.columns``, ``[name]`` -> Series). The columns are taken in fixed blocks of consecutive
    columns holding at most ``block_values`` values, and the last block read is kept (a copy of
    the column is returned): reading the columns in file order reads each block once. When one
    column alone holds that many values (a tall table), each ``[name]`` reads that column and
    nothing is kept: memory holds one column, never the whole table.
    """

    def __init__(self, path: str | Path, block_values: int = COLUMN_BLOCK_VALUES) -> None:
        import pandas as pd
        import pyarrow.parquet as pq

        self.path = _produced(path)
        with pq.ParquetFile(self.path) as handle:
            self.columns = pd.Index(handle.schema_arrow.names)
            self._rows = int(handle.metadata.num_rows)
        self._width = max(1, block_values // max(1, self._rows))  # columns per block
        self._block_start = -1
        self._block: pd.DataFrame | None = None

    def __len__(self) -> int:
        return self._rows

    @property
    def empty(self) -> bool:
        return self._rows == 0 or len(self.columns) == 0

    @property
    def shape(self) -> tuple[int, int]:
        return self._rows, len(self.columns)

    def __getitem__(self, name: str) -> pd.Series:
        if name not in self.columns:
            raise KeyError(name)
        if self._width == 1:  # a column alone fills the budget: read it, keep nothing
            return read_parquet(self.path, columns=[name])[name]
        position = int(self.columns.get_loc(name))  # Parquet written by pandas: unique names
        start = position - position % self._width
        if start != self._block_start:
            self._block = None  # free the previous block before reading the next
            names = list(self.columns[start : start + self._width])
            self._block = read_parquet(self.path, columns=names)
            self._block_start = start
        assert self._block is not None
        return self._block[name].copy()


def whole_column_dtypes(path: str | Path) -> dict[str, str]:
    """The pandas dtype of each integer or boolean column of a Parquet table that has a missing
    value somewhere, as the whole column reads (e.g. ``float64`` for integers, ``object`` for
    booleans, unless the file's pandas metadata names a nullable dtype), when a batch without
    a missing value would read otherwise (``int64``, ``bool``). A chunk-wise check casts its
    batches to these dtypes, so every batch holds the values the whole column would.

    Missing values are counted from the row groups' statistics; a column without them is
    taken to have some.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(_produced(path)) as handle:
        schema, meta = handle.schema_arrow, handle.metadata
        paths = [meta.schema.column(i).path for i in range(meta.num_columns)]
        nullable = []
        for field in schema:
            if not (pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)):
                continue
            if field.name not in paths:
                continue
            position = paths.index(field.name)
            for group in range(meta.num_row_groups):
                stats = meta.row_group(group).column(position).statistics
                if stats is None or not stats.has_null_count or stats.null_count:
                    nullable.append(field.name)
                    break
    if not nullable:
        return {}
    try:  # one row of missing values: the dtypes a column with a missing value reads as
        nulls = pa.Table.from_arrays([pa.nulls(1, f.type) for f in schema], schema=schema)
        read = {str(k): str(v) for k, v in nulls.to_pandas().dtypes.items()}
    except (pa.ArrowException, ValueError, TypeError):
        read = {}
    full = schema.empty_table().to_pandas().dtypes
    out = {}
    for name in nullable:
        boolean = pa.types.is_boolean(schema.field(name).type)
        dtype = read.get(name, "object" if boolean else "float64")
        if dtype != str(full[name]):
            out[name] = dtype
    return out


def empty_table(path: str | Path) -> pd.DataFrame:
    """A Parquet table's columns, with their dtypes, and no rows (only the schema is read)."""
    import pyarrow.parquet as pq

    return pq.read_schema(_produced(path)).empty_table().to_pandas()


def cast_to(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """``frame`` with the columns of ``dtypes`` cast to those dtypes (``whole_column_dtypes``);
    the frame itself when none needs it."""
    change = {
        name: dtype
        for name, dtype in dtypes.items()
        if name in frame.columns and str(frame[name].dtype) != dtype
    }
    return frame.astype(change) if change else frame


def release_arrow_memory() -> None:
    """Hand the memory Arrow has freed (after Parquet reads) back to the operating system.

    Arrow's allocator keeps freed blocks for reuse: after a large table is read, converted and
    dropped, about the table's size stays resident unless it is released.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def parquet_columns(path: str | Path) -> list[str]:
    """The column names from a Parquet file's schema (no data read)."""
    return list(ParquetColumns(path).columns)


def read_parquet_rows(
    path: str | Path,
    positions: Sequence[int],
    columns: list[str] | None = None,
    batch_rows: int = 1_000_000,
) -> pd.DataFrame:
    """The rows at ``positions`` (0-based, ascending, no repeats) of a Parquet table.

    Streams the file in batches of ``batch_rows`` rows, so memory holds the selected rows and
    one batch, never the whole table. The result has a fresh RangeIndex.
    """
    import numpy as np
    import pyarrow as pa

    path = _produced(path)
    wanted = np.asarray(positions, dtype=np.int64)
    if len(wanted) and (wanted[0] < 0 or np.any(np.diff(wanted) <= 0)):
        raise ValueError("positions must be ascending, without repeats, and not negative")
    with open_parquet_stream(path) as handle:
        total = handle.metadata.num_rows
        if len(wanted) and wanted[-1] >= total:
            raise ValueError(f"{path}: row {int(wanted[-1])} requested, the table has {total}")
        pieces = []
        start = 0
        for batch in handle.iter_batches(batch_size=batch_rows, columns=columns):
            end = start + batch.num_rows
            low, high = np.searchsorted(wanted, [start, end])
            if high > low:
                pieces.append(batch.take(pa.array(wanted[low:high] - start)))
            start = end
        table = handle.schema_arrow.empty_table()
        if columns is not None:
            table = table.select(columns)
    if pieces:
        table = pa.Table.from_batches(pieces)
    return table.to_pandas()
