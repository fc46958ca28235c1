"""Train/test splits: stratified or random by a seeded hash of each row's number, or time-based
on a date column; decided per row, in chunks (``SplitPlan``), so any cut of the table gives the
same split."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.errors import MlpipeError
from mlpipe.rowhash import row_hash


class SplitError(MlpipeError):
    """The split cannot be made as configured; the message says why and what to change."""


_NO_EXAMPLE = "(none: every value is missing)"


def date_column_problem(values: pd.Series) -> str | None:
    """Why ``values`` (the data.date_column of an ingested table) cannot be a date column, or
    None when it holds date-times.

    Ingest parses ISO dates (``2020-01-13``, optionally with a time), the common forms of
    ``mlpipe.data.ingest.dates`` and data.date_format; a column in another form (or one that
    reads both day first and month first) stays text, and a time split on text would order it
    as text or guess a format. The message names an example value and the fixes.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return None
    present = values.dropna()
    example = repr(str(present.iloc[0])) if len(present) else _NO_EXAMPLE
    if pd.api.types.is_bool_dtype(values):
        what = "booleans"
    elif pd.api.types.is_numeric_dtype(values):
        what = "numbers"
    else:
        what = "text"
    return (
        f"data.date_column '{values.name}' holds {what} like {example}, not dates: ingest reads "
        "ISO dates (2020-01-13) and common forms such as 31/01/2020 or Jan 31, 2020 "
        "(data.date_format sets another); convert the column or use split.method: "
        "random/stratified"
    )


def split_table(
    frame: pd.DataFrame,
    target: str,
    method: str,
    test_size: float,
    seed: int,
    date_column: str | None = None,
    task: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test) with ``test_mask`` (see there).

    Row order inside each part follows the input order, for stable outputs.
    """
    test_mask = split_mask(
        frame, target, method, test_size, seed, date_column, columns=frame.columns, task=task
    )
    return frame[~test_mask].reset_index(drop=True), frame[test_mask].reset_index(drop=True)


def split_columns(method: str, target: str, date_column: str | None) -> list[str]:
    """The columns ``split_mask`` reads for ``method`` (the rest of the table is not needed)."""
    if method == "stratified":
        return [target]
    if method == "time" and date_column:
        return [date_column]
    return []


def split_mask(
    frame: pd.DataFrame,
    target: str,
    method: str,
    test_size: float,
    seed: int,
    date_column: str | None = None,
    *,
    columns: Iterable[str],
    task: str | None = None,
) -> np.ndarray:
    """Boolean mask of the test rows (True = test) of ``frame`` (see ``SplitPlan``).

    ``frame`` needs only the columns ``split_columns`` names; ``columns`` are all the table's
    column names (for the error messages). The same as the chunk-wise route the split stage
    takes (``split_keys`` per chunk, ``merge_split_keys``, ``decide_split``, ``in_test``):
    one chunk, the whole frame.
    """
    plan = SplitPlan(method, target, test_size, seed, date_column, tuple(columns), task)
    plan.check()
    frame = frame.reset_index(drop=True)
    rule = decide_split(plan, split_keys(frame, plan), len(frame))
    return in_test(frame, rule)


@dataclass(frozen=True)
class SplitPlan:
    """How to split: ``split.*`` and the columns it reads.

    Every row's side is decided from the row alone, so the split is the same for every way of
    cutting the table into chunks or partitions:

    - ``stratified``: within each class, the ``round(class rows * test_size)`` rows whose
      seeded hash of the row number (``mlpipe.rowhash``) is lowest are the test rows. Exact
      counts, each class's share kept. Refused for a regression ``task`` (the schema's decided
      task, when known), whose values are no classes even when they repeat.
    - ``random``: the same over the whole table (``round(rows * test_size)`` test rows).
    - ``time``: the latest ``test_size`` share of rows by ``date_column`` is the test set; the
      cut is the exact ``higher`` quantile of the merged date counts; ties at the cut stay
      together, so no day is split across train and test.

    ``columns``: every column of the table (for the error messages); ``task``: the schema's.
    """

    method: str
    target: str
    test_size: float
    seed: int
    date_column: str | None
    columns: tuple[str, ...]
    task: str | None = None

    @property
    def reads(self) -> list[str]:
        """The columns ``split_keys`` needs."""
        return split_columns(self.method, self.target, self.date_column)

    def check(self) -> None:
        """SplitError for settings that cannot work whatever the rows (before any is read)."""
        if self.method not in ("stratified", "random", "time"):
            raise SplitError(
                f"unknown split method {self.method!r}; use stratified, random or time"
            )
        if self.method == "time":
            if not self.date_column:
                raise SplitError("split.method=time needs data.date_column in params.yaml")
            if self.date_column not in self.columns:
                raise SplitError(
                    f"data.date_column '{self.date_column}' is not a column of the table"
                )
        if self.method == "stratified":
            if self.target not in self.columns:
                raise SplitError(f"data.target '{self.target}' is not a column of the table")
            if self.task == "regression":
                raise SplitError(
                    f"split.method=stratified needs classes, but '{self.target}' is a "
                    "regression target (task: regression). Set split.method: random in "
                    "params.yaml"
                )


@dataclass(frozen=True)
class SplitKeys:
    """What pass 1 learns from a chunk (and from a merge of chunks), in row order.

    Hash methods: per class (``(True, None)`` for a missing label; one class ``(False, None)``
    for ``random``), the rows' seeded hashes and their numbers in the table. ``time``: the
    count of each date (sorted), the rows without one, and (``problem``) why the column holds
    no dates, from the first chunk that showed it.
    """

    groups: dict[tuple[bool, Any], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    dates: pd.Series | None = None
    missing_dates: int = 0
    problem: str | None = None


def split_keys(chunk: pd.DataFrame, plan: SplitPlan) -> SplitKeys:
    """Pass 1 of one chunk: ``chunk.index`` holds its rows' numbers in the table."""
    rows = np.asarray(chunk.index, dtype=np.int64)
    if plan.method == "time":
        dates = chunk[plan.date_column]
        present = dates.dropna()
        problem = date_column_problem(dates)
        if problem is not None:
            return SplitKeys(missing_dates=len(dates) - len(present), problem=problem)
        return SplitKeys(
            dates=present.value_counts(sort=False).sort_index(),
            missing_dates=len(dates) - len(present),
        )
    hashes = row_hash(rows, plan.seed)
    if plan.method == "random":
        return SplitKeys({(False, None): (hashes, rows)})
    codes, uniques = pd.factorize(chunk[plan.target], use_na_sentinel=True)
    labels = uniques.tolist()  # Python values: the same keys from every chunk
    groups = {}
    for code in np.unique(codes):
        where = codes == code
        key = (True, None) if code < 0 else (False, labels[code])
        groups[key] = (hashes[where], rows[where])
    return SplitKeys(groups)


def merge_split_keys(a: SplitKeys, b: SplitKeys) -> SplitKeys:
    """``a`` then ``b`` (its rows come after ``a``'s): arrays joined, counts added."""
    groups = dict(a.groups)
    for key, (hashes, rows) in b.groups.items():
        if key in groups:
            before = groups[key]
            groups[key] = (np.concatenate([before[0], hashes]), np.concatenate([before[1], rows]))
        else:
            groups[key] = (hashes, rows)
    dates = a.dates
    if b.dates is not None:
        dates = b.dates if dates is None else _add_counts(dates, b.dates)
    problem = a.problem or b.problem
    if a.problem and b.problem and _NO_EXAMPLE in a.problem:
        problem = b.problem  # the first chunk that has a value names it as the example
    return SplitKeys(groups, dates, a.missing_dates + b.missing_dates, problem)


def _add_counts(a: pd.Series, b: pd.Series) -> pd.Series:
    joined = pd.concat([a, b])
    return joined.groupby(level=0, sort=True).sum()


@dataclass(frozen=True)
class SplitRule:
    """The test rows: a mask over the table's rows (hash methods) or the first test date."""

    mask: np.ndarray | None = None
    cut: Any = None
    date_column: str | None = None


def decide_split(plan: SplitPlan, keys: SplitKeys, rows: int) -> SplitRule:
    """The test rows of a table of ``rows`` rows from its merged ``keys``; SplitError when the
    split cannot be made (too few rows on a side, classes of one row, dates missing)."""
    n_test = round(rows * plan.test_size)
    if n_test < 1 or n_test >= rows:
        raise SplitError(
            f"split.test_size={plan.test_size} leaves {n_test} test rows out of {rows}; "
            "choose a value that leaves at least one row on each side"
        )
    if plan.method == "time":
        return _time_rule(plan, keys)
    counts = {key: len(hashes) for key, (hashes, _) in keys.groups.items()}
    if plan.method == "stratified":
        rare = [key for key, count in counts.items() if count < 2]
        if rare:
            if len(counts) > rows / 2:
                raise SplitError(
                    f"split.method=stratified needs classes, but '{plan.target}' has "
                    f"{len(counts)} distinct values in {rows} rows (a regression target?). Set "
                    "split.method: random in params.yaml"
                )
            names = sorted((np.nan if missing else label for missing, label in rare), key=str)
            raise SplitError(
                f"split.method=stratified needs at least 2 rows per class; classes {names} of "
                f"'{plan.target}' have fewer. Use split.method: random or collect more rows"
            )
    mask = np.zeros(rows, dtype=bool)
    for hashes, numbers in keys.groups.values():
        take = round(len(hashes) * plan.test_size)
        if take:
            # The lowest hashes: argpartition, then the order among them does not matter.
            whole = take == len(hashes)
            chosen = slice(None) if whole else np.argpartition(hashes, take - 1)[:take]
            mask[numbers[chosen]] = True
    return SplitRule(mask=mask)


def _time_rule(plan: SplitPlan, keys: SplitKeys) -> SplitRule:
    if keys.problem is not None:
        raise SplitError(keys.problem)
    dates = keys.dates if keys.dates is not None else pd.Series(dtype=np.int64)
    if keys.missing_dates:
        raise SplitError(
            f"'{plan.date_column}' has {keys.missing_dates} missing dates; a time split needs "
            "every row dated"
        )
    # numpy's "higher" quantile of the expanded values, read off the cumulative counts.
    present = int(dates.sum())
    quantile = 1.0 - plan.test_size
    position = int(np.ceil(np.float64(present - 1) * quantile)) if present else 0
    cumulative = np.cumsum(dates.to_numpy())
    cut = dates.index[int(np.searchsorted(cumulative, position, side="right"))]
    if cut == dates.index[0]:
        raise SplitError(f"all rows share the date {cut}; a time split cannot separate them")
    return SplitRule(cut=cut, date_column=plan.date_column)


def in_test(chunk: pd.DataFrame, rule: SplitRule) -> np.ndarray:
    """Which rows of ``chunk`` (``chunk.index``: their numbers in the table) are test rows."""
    if rule.mask is not None:
        return rule.mask[np.asarray(chunk.index, dtype=np.int64)]
    return (chunk[rule.date_column] >= rule.cut).to_numpy(dtype=bool)
