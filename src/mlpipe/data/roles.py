"""Deciding what each column of a table is for, from the table itself (`mlpipe init`).

Pure functions on a table normalised as ingest does it (numbers, booleans and ISO dates typed;
text as text). Each returns a ``Decision``: the value for params.yaml and the reason shown to
the user. An explicit choice (a flag) is checked against the table and wins over the rule.

- task: ``mlpipe.data.schema.infer_task`` (binary for two values, multiclass for a few whole
  numbers or labels, regression otherwise).
- positive class (binary): True for a yes/no target, 1 for a 0/1 target, else the rarer class
  (the event to detect: churn, fraud, default), the last in sort order on a tie.
- id columns: every present value distinct, and either named like an identifier (id, key, uuid,
  code, ...; whole numbers or text) or text with a distinct value in every row (at least
  ``FREE_TEXT_ROWS`` rows; not numbers or dates written as text). A unique measurement (a float,
  an integer not named like an id) is a feature, not an id.
- date column: a date column (typed as a date-time by ingest: ISO, a common form such as
  31/01/2020, or data.date_format), preferring one named like a
  date, then the one with most distinct values.
- slices: up to ``MAX_SLICES`` text or boolean columns with 2 to ``MAX_SLICE_VALUES`` values of
  which at least two have enough rows to be reported on the test set.
- split method: the configured one when it works for the data, else stratified for classes
  with at least two rows each, random otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.data.schema import FREE_TEXT_ROWS, check_target, infer_task
from mlpipe.data.split import date_column_problem
from mlpipe.errors import MlpipeError

# Words that make a column name an identifier's ("customer_id", "CustomerID", "order_key",
# "uuid", "rownames" (R exports), "Unnamed: 0" (a pandas index written to CSV)).
ID_WORDS = frozenset(
    {
        "id",
        "ids",
        "uid",
        "uuid",
        "guid",
        "key",
        "code",
        "identifier",
        "index",
        "idx",
        "rownames",
        "rowid",
        "rownum",
        "no",
        "nr",
        "num",
        "number",
        "ref",
        "reference",
        "serial",
        "sku",
        "unnamed",
    }
)
DATE_WORDS = frozenset({"date", "time", "day", "timestamp", "datetime", "created", "updated"})
MAX_SLICES = 3
MAX_SLICE_VALUES = 20
# Numbers and dates kept as text ("1,200.50", "$1,200", "13/01/2020", "12 %"): measurements,
# never ids, however unique.
_NUMBER_TEXT = re.compile(r"\s*[-+(]?[$€£¥]?\s*\d+([.,/:T -]\d+)*\s*%?\)?\s*")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


class RoleError(MlpipeError):
    """A column role (flag of `mlpipe init`) does not fit the table; the message says why."""


@dataclass(frozen=True)
class Decision:
    """One decision: the value written to params.yaml and why it was chosen."""

    value: Any
    reason: str


def decide_task(target: pd.Series, requested: str = "auto") -> Decision:
    """The task for ``target``; raises ConfigError when it cannot be learned (one value, ...)."""
    check_target(target, requested)
    present = target.dropna()
    distinct = int(present.nunique())
    if requested != "auto":
        return Decision(requested, f"--task {requested}")
    task = infer_task(target)
    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if task == "binary":
        reason = f"target '{target.name}' has 2 values: {_shown(_classes(present))}"
    elif task == "multiclass":
        what = "whole numbers" if numeric else "labels"
        reason = (
            f"target '{target.name}' has {distinct} distinct {what}: "
            f"{_shown(_classes(present), 6)}"
        )
    else:
        what = "numbers" if numeric else "labels (too many for classes)"
        reason = f"target '{target.name}' holds {distinct} distinct {what}"
    return Decision(task, reason)


def decide_positive_class(target: pd.Series, task: str, requested: str | None = None) -> Decision:
    """The positive class of a binary target as the model names it (``str`` of the value)."""
    if task != "binary":
        if requested is not None:
            raise RoleError(
                f"--positive-class is for binary targets; the task is {task}. Leave it out"
            )
        return Decision(None, f"{task}: no positive class")
    present = target.dropna()
    classes = _classes(present)
    if requested is not None:
        if requested not in classes:
            hint = " (yes/no labels are read as booleans)" if classes == ["False", "True"] else ""
            raise RoleError(
                f"--positive-class {requested!r} is not a class of target '{target.name}'; "
                f"its classes are {classes}{hint}"
            )
        return Decision(requested, f"--positive-class {requested}")
    if pd.api.types.is_bool_dtype(present):
        return Decision("True", "a yes/no target: yes (True) is the positive class")
    if classes == ["0", "1"]:
        return Decision("1", "a 0/1 target: 1 is the positive class")
    counts = present.astype(str).value_counts()
    if counts.iloc[0] == counts.iloc[-1]:
        return Decision(classes[-1], "the classes are equally frequent: the last in sort order")
    rare = str(counts.index[-1])
    share = counts.iloc[-1] / len(present)
    return Decision(
        rare,
        f"the rarer class ({counts.iloc[-1]} of {len(present)} rows, {share:.0%}): "
        "the event to detect",
    )


def decide_id_columns(
    frame: pd.DataFrame, target: str, requested: Iterable[str] | None = None
) -> Decision:
    """Columns that identify rows (kept as text, never features); ``requested`` overrides."""
    if requested is not None:
        names = tuple(requested)
        _check_columns(frame, names, "--id-columns")
        if target in names:
            raise RoleError(f"--id-columns names the target '{target}'; it cannot be an id")
        for name in names:
            repeated = int(frame[name].dropna().duplicated().sum())
            if repeated:
                raise RoleError(
                    f"--id-columns names '{name}', whose values repeat ({repeated} row(s) share "
                    "a value with an earlier row): an id column identifies rows, and validate "
                    "refuses repeated ids. Leave it out of --id-columns (it is then a feature)"
                )
        return Decision(names, "--id-columns" if names else "--id-columns none")
    found: list[str] = []
    why: list[str] = []
    for name in frame.columns:
        if name == target:
            continue
        reason = id_reason(frame[name])
        if reason is not None:
            found.append(name)
            why.append(f"{name}: {reason}")
    if not found:
        return Decision((), "no column is unique per row and named or written like an id")
    return Decision(tuple(found), "; ".join(why))


def id_reason(values: pd.Series) -> str | None:
    """Why ``values`` (one column) identify rows, or None when they do not."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    present = values.dropna()
    if len(present) < 2 or not present.is_unique:
        return None
    named = name_like_id(str(values.name))
    if pd.api.types.is_numeric_dtype(present):
        whole = bool(np.all(np.mod(present.to_numpy(dtype=float), 1) == 0))
        if named and whole:
            return "a different whole number in every row, named like an id"
        return None
    text = present.astype(str)
    if named:
        return "unique per row, named like an id"
    if len(present) >= FREE_TEXT_ROWS and text.str.fullmatch(_NUMBER_TEXT).mean() < 0.5:
        return "unique text per row"
    return None


def name_like_id(name: str) -> bool:
    """True when a word of ``name`` (split at case changes and non-letters) is an id word."""
    return any(word.lower() in ID_WORDS for word in _WORDS.findall(name))


def decide_date_column(
    frame: pd.DataFrame,
    target: str,
    id_columns: Iterable[str] = (),
    requested: str | None = None,
    *,
    explicit: bool = False,
) -> Decision:
    """The date column (or None); with ``explicit`` the ``requested`` one (None: none)."""
    if explicit:
        if requested is None:
            return Decision(None, "--date-column none")
        _check_columns(frame, (requested,), "--date-column")
        if requested == target:
            raise RoleError(f"--date-column names the target '{target}'")
        problem = date_column_problem(frame[requested])
        if problem is not None:
            raise RoleError(problem.replace("data.date_column", "--date-column"))
        return Decision(requested, "--date-column")
    skip = {target, *id_columns}
    candidates = [
        name
        for name in frame.columns
        if name not in skip
        and pd.api.types.is_datetime64_any_dtype(frame[name])
        and frame[name].nunique() >= 2
    ]
    if not candidates:
        return Decision(
            None,
            "no date column (ISO, or a common form such as 31/01/2020) with two or more dates",
        )
    order = {name: i for i, name in enumerate(frame.columns)}
    chosen = min(
        candidates,
        key=lambda c: (not _date_named(c), -frame[c].nunique(), order[c]),
    )
    values = frame[chosen].dropna()
    span = f"{values.min().date()} to {values.max().date()}"
    if len(candidates) == 1:
        return Decision(chosen, f"the only date column ({span})")
    others = ", ".join(c for c in candidates if c != chosen)
    why = "named like a date" if _date_named(chosen) else "the most distinct dates"
    return Decision(chosen, f"dates ({span}), {why}; also dates: {others}")


def decide_slices(
    frame: pd.DataFrame,
    exclude: Iterable[str],
    min_rows: int,
    requested: Iterable[str] | None = None,
) -> Decision:
    """Up to MAX_SLICES text or boolean columns to report metrics per value.

    ``min_rows`` is how many rows of the whole table a value needs for its slice to be
    reported (see ``slice_rows_needed``). A column qualifies with 2 to MAX_SLICE_VALUES
    distinct values of which at least two reach ``min_rows``; the ones whose reported values
    cover most rows come first (then table order).
    """
    skip = set(exclude)
    if requested is not None:
        names = tuple(requested)
        _check_columns(frame, names, "--slices")
        for name in names:
            if name in skip:
                raise RoleError(
                    f"--slices names '{name}', the target, an id or the date column: slices "
                    "are feature columns of a few categories"
                )
            if not (is_text(frame[name]) or pd.api.types.is_bool_dtype(frame[name])):
                usable = [
                    c
                    for c in frame.columns
                    if c not in skip
                    and (is_text(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
                ]
                raise RoleError(
                    f"--slices names '{name}', which is not categorical or boolean (metrics are "
                    f"reported per category); usable columns: {_preview(usable) or 'none'}"
                )
        return Decision(names, "--slices" if names else "--slices none")
    scored: list[tuple[float, int, str, str]] = []
    for position, name in enumerate(frame.columns):
        values = frame[name]
        if name in skip or not (is_text(values) or pd.api.types.is_bool_dtype(values)):
            continue
        counts = values.dropna().astype(str).value_counts()
        if not 2 <= len(counts) <= MAX_SLICE_VALUES:
            continue
        big = counts[counts >= min_rows]
        if len(big) < 2:
            continue
        kind = "boolean" if pd.api.types.is_bool_dtype(values) else "categorical"
        reason = f"{name}: {kind}, {len(counts)} values, {len(big)} with >= {min_rows} rows"
        scored.append((-big.sum() / len(values), position, name, reason))
    chosen = sorted(scored)[:MAX_SLICES]
    if not chosen:
        return Decision(
            (),
            f"no text or boolean column with 2-{MAX_SLICE_VALUES} values, two of them with "
            f">= {min_rows} rows",
        )
    chosen.sort(key=lambda item: item[1])
    return Decision(tuple(c[2] for c in chosen), "; ".join(c[3] for c in chosen))


def slice_rows_needed(min_slice_rows: int, test_size: float) -> int:
    """Rows of the whole table a value needs so that its test-set slice (``test_size`` of the
    rows) reaches ``min_slice_rows`` (evaluate skips smaller slices)."""
    return math.ceil(min_slice_rows / test_size)


def decide_split_method(
    target: pd.Series, task: str, date_column: str | None, current: str
) -> Decision:
    """The configured split method when it works for this data, else one that does."""
    counts = target.dropna().astype(str).value_counts()
    stratifiable = task != "regression" and bool((counts >= 2).all())
    if current == "time" and date_column is not None:
        return Decision("time", f"kept: the latest rows by '{date_column}' are the test set")
    if current == "random":
        return Decision("random", "kept: a seeded random split")
    if stratifiable:
        return Decision("stratified", "keeps each class's share in train and test")
    if task == "regression":
        return Decision("random", "a regression target has no classes to stratify")
    rare = list(counts[counts < 2].index)[:5]
    return Decision("random", f"classes {rare} have a single row: stratified needs two")


def check_features(
    columns: Iterable[str], target: str, id_columns: Iterable[str], date_column: str | None
) -> None:
    """Raise RoleError when no column is left to learn from."""
    columns = list(columns)
    used = {target, *id_columns, *([date_column] if date_column else [])}
    if all(c in used for c in columns):
        raise RoleError(
            f"no usable feature: every column ({', '.join(columns)}) is the target, an id or "
            "the date. The table needs at least one other column; if an id or the date is "
            "meant as a feature, pass --id-columns / --date-column (or 'none')"
        )


def _check_columns(frame: pd.DataFrame, names: Iterable[str], flag: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise RoleError(
            f"{flag} names {missing}, not columns of the table; its columns are: "
            f"{_preview(list(frame.columns))}"
        )


def _classes(present: pd.Series) -> list[str]:
    """The classes as the model names them (``str`` of each value), sorted."""
    return sorted({str(v.item() if isinstance(v, np.generic) else v) for v in present.unique()})


def _shown(values: list[str], limit: int = 10) -> str:
    more = f", ... ({len(values)})" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def _preview(names: list[str], limit: int = 20) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def _date_named(name: str) -> bool:
    return any(word.lower() in DATE_WORDS for word in _WORDS.findall(name))


def is_text(values: pd.Series) -> bool:
    """True for a column of text (pandas string or object dtype)."""
    return pd.api.types.is_string_dtype(values) or values.dtype == object
