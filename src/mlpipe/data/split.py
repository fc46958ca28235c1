"""Train/test splits: seeded stratified or random, or time-based on a date column."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from mlpipe.errors import MlpipeError


class SplitError(MlpipeError):
    """The split cannot be made as configured; the message says why and what to change."""


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
    example = repr(str(present.iloc[0])) if len(present) else "(none: every value is missing)"
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
    rows: int | None = None,
    task: str | None = None,
) -> np.ndarray:
    """Boolean mask of the test rows (True = test), for a table of ``rows`` rows.

    ``frame`` needs only the columns ``split_columns`` names; ``columns`` are all the table's
    column names (for the error messages), ``rows`` its length (default: ``len(frame)``).
    The mask depends only on those columns, the seed and the row count: a table written in
    batches gets the same split as the whole table.

    - ``stratified``: seeded shuffle that keeps each class's share in both parts; refused for
      a regression ``task`` (the schema's decided task, when known), whose values are no
      classes even when they repeat.
    - ``random``: seeded shuffle (regression targets).
    - ``time``: the latest ``test_size`` share of rows by ``date_column`` is the test set; ties
      at the cut stay together, so no day is split across train and test.
    """
    n = len(frame) if rows is None else rows
    n_test = round(n * test_size)
    if n_test < 1 or n_test >= n:
        raise SplitError(
            f"split.test_size={test_size} leaves {n_test} test rows out of {n}; "
            "choose a value that leaves at least one row on each side"
        )
    if method == "time":
        return _time_mask(frame, test_size, date_column, columns)
    rng = np.random.default_rng(seed)
    if method == "stratified":
        if target not in list(columns):
            raise SplitError(f"data.target '{target}' is not a column of the table")
        if task == "regression":
            raise SplitError(
                f"split.method=stratified needs classes, but '{target}' is a regression target "
                "(task: regression). Set split.method: random in params.yaml"
            )
        labels = frame[target]
        counts = labels.value_counts(dropna=False)
        if (counts < 2).any():
            rare = counts[counts < 2].index.tolist()
            if len(counts) > n / 2:
                raise SplitError(
                    f"split.method=stratified needs classes, but '{target}' has {len(counts)} "
                    f"distinct values in {n} rows (a regression target?). Set split.method: "
                    "random in params.yaml"
                )
            raise SplitError(
                f"split.method=stratified needs at least 2 rows per class; classes {rare} of "
                f"'{target}' have fewer. Use split.method: random or collect more rows"
            )
        test_mask = np.zeros(n, dtype=bool)
        codes, _ = pd.factorize(labels, sort=True)
        for code in range(codes.max() + 1):
            rows = np.flatnonzero(codes == code)
            take = round(len(rows) * test_size)
            test_mask[rng.choice(rows, size=take, replace=False)] = True
    elif method == "random":
        test_mask = np.zeros(n, dtype=bool)
        test_mask[rng.choice(n, size=n_test, replace=False)] = True
    else:
        raise SplitError(f"unknown split method {method!r}; use stratified, random or time")
    return test_mask


def _time_mask(
    frame: pd.DataFrame,
    test_size: float,
    date_column: str | None,
    columns: Iterable[str],
) -> np.ndarray:
    if not date_column:
        raise SplitError("split.method=time needs data.date_column in params.yaml")
    if date_column not in list(columns):
        raise SplitError(f"data.date_column '{date_column}' is not a column of the table")
    dates = frame[date_column]
    problem = date_column_problem(dates)
    if problem is not None:
        raise SplitError(problem)
    if dates.isna().any():
        raise SplitError(
            f"'{date_column}' has {int(dates.isna().sum())} missing dates; a time split needs "
            "every row dated"
        )
    cut = dates.quantile(1.0 - test_size, interpolation="higher")
    test_mask = (dates >= cut).to_numpy()
    if test_mask.all() or not test_mask.any():
        raise SplitError(f"all rows share the date {cut}; a time split cannot separate them")
    return test_mask
