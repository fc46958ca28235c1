"""A saved row index: the row numbers a tool wrote as the table's first column.

pandas' ``to_csv()`` (without ``index=False``) writes the index as a first column with an
empty header cell (pandas reads it back as ``Unnamed: 0``), R's ``write.csv`` the row names as
``"","a",...`` with ``"1","2",...``. Such a column is the file's row numbers, not data: ingest,
schema inference and init leave it out. It is recognised when the first column's name is empty
or ``Unnamed: 0`` and its values are the row numbers, 0..n-1 or 1..n (text or numbers). The
check runs chunk by chunk (``check_row_numbers``), so its verdict does not depend on the chunk
size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The first column's names that may be a saved row index: empty (a CSV header cell) and the
# name pandas gives an unnamed column.
ROW_INDEX_NAMES = ("", "Unnamed: 0")


@dataclass(frozen=True)
class RowNumbers:
    """What pass 1 found about a first column that may be the file's row numbers.

    ``start`` is 0 or 1 (the first row's value), ``ok`` false once a value is not its row's
    number; ``row`` (0-based data row) and ``value`` name the first such value, for the error.
    """

    column: str
    start: int | None = None
    ok: bool = True
    row: int | None = None
    value: str | None = None
    first: tuple[int, str | None] | None = None
    """The first row checked (0-based) and its value, for ``merge_row_numbers``."""

    def describe(self, position: int = 1) -> str:
        """How the column is named in messages: ``column 1 (no name)``."""
        name = "no name" if not self.column else repr(self.column)
        return f"column {position} ({name})"


def row_index_candidate(columns: Sequence[str]) -> str | None:
    """The first column when its name says it may be a saved row index, else None."""
    if columns and columns[0] in ROW_INDEX_NAMES:
        return columns[0]
    return None


def check_row_numbers(values: pd.Series, first_row: int, so_far: RowNumbers) -> RowNumbers:
    """``so_far`` with the chunk ``values`` checked: the chunk's rows are data rows
    ``first_row``, ``first_row + 1``, ... of the file (0-based)."""
    if not so_far.ok or values.empty:
        return so_far
    if so_far.first is None:
        so_far = dataclasses.replace(so_far, first=(first_row, _shown(values.iloc[0])))
    numbers = _whole_numbers(values)
    start = so_far.start
    if start is None and not np.isnan(numbers[0]):  # (a batch's chunk: checked on its own)
        start = int(numbers[0]) - first_row if numbers[0] - first_row in (0, 1) else None
    expected = np.arange(first_row, first_row + len(values), dtype=np.float64) + (start or 0)
    wrong = np.flatnonzero(~(numbers == expected)) if start is not None else np.array([0])
    if len(wrong):
        at = int(wrong[0])
        shown = _shown(values.iloc[at])
        return dataclasses.replace(so_far, start=start, ok=False, row=first_row + at, value=shown)
    return dataclasses.replace(so_far, start=start)


def merge_row_numbers(a: RowNumbers | None, b: RowNumbers | None) -> RowNumbers | None:
    """The check of ``a``'s rows followed by ``b``'s, each checked on its own: the first wrong
    value of either; ``b``'s first row is wrong when it does not continue ``a``'s numbering."""
    if a is None or b is None or not a.ok or b.first is None:
        return a if a is not None else b  # (b.first None: b had no rows)
    if a.first is None:
        return b
    if b.start != a.start:
        row, value = b.first
        return dataclasses.replace(a, ok=False, row=row, value=value)
    return a if b.ok else dataclasses.replace(b, first=a.first)


def _shown(value: object) -> str | None:
    """A value as the error shows it (None: missing or blank)."""
    return None if pd.isna(value) or not str(value).strip() else str(value)


def _whole_numbers(values: pd.Series) -> np.ndarray:
    """The values as floats where they are written as whole numbers (NaN elsewhere)."""
    if pd.api.types.is_bool_dtype(values):
        return np.full(len(values), np.nan)
    if pd.api.types.is_numeric_dtype(values):
        out = values.astype(np.float64).to_numpy()
        return np.where(np.floor(out) == out, out, np.nan)
    text = values.astype("string").str.strip()
    digits = text.str.fullmatch(r"\d{1,18}").fillna(False).astype(bool)
    out = pd.to_numeric(text.where(digits), errors="coerce").astype(np.float64)
    return out.to_numpy()
