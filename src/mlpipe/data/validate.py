"""Checking a table against its schema: every violation, not just the first.

The checks are counts per column, taken chunk by chunk and merged exactly (``ColumnTally``:
counts added, the first examples kept, extremes of extremes), so any cut of the table gives the
same result: ``validation_counts`` of each chunk, ``merge_validation_counts`` in row order,
``validation_result`` from the merge. The validate stage runs the chunks on its executor
(``engine.kind``: in its process, or one Dask task per row group); ``validate_table`` checks a
frame in memory (one chunk) or a ``ParquetColumns`` table in this process. Repeated ids are
found from hashes of the values, then confirmed by the values whose hash repeats (a second
pass that reads only those); repeated whole rows from a 64-bit hash of each row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from mlpipe.data.ingest import YES_NO, yes_no
from mlpipe.data.schema import (
    MISSING_LABELS_FIX,
    ColumnSpec,
    Schema,
    category_text,
    dtype_kind,
)
from mlpipe.io import (
    COLUMN_BLOCK_VALUES,
    ROW_GROUP_ROWS,
    ParquetColumns,
    cast_to,
    empty_table,
    iter_parquet,
    whole_column_dtypes,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Violation:
    """One broken rule: which column, which rule, what was seen, on how many rows."""

    column: str
    rule: str
    observed: str
    rows: int

    def __str__(self) -> str:
        return f"{self.column}: {self.rule} — {self.observed} ({self.rows} rows)"


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating a table: checks run, failures and warnings."""

    rows: int
    columns: int
    checks: int
    errors: tuple[Violation, ...] = ()
    warnings: tuple[Violation, ...] = ()
    target_counts: dict[str, int] = field(default_factory=dict)
    task: str | None = None  # the schema's task (binary, multiclass or regression)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """The JSON report later steps (the PR report, the model card) show."""
        return {
            "ok": self.ok,
            "rows": self.rows,
            "columns": self.columns,
            "checks_run": self.checks,
            "checks_passed": self.checks - len(self.errors),
            "errors": [asdict(v) for v in self.errors],
            "warnings": [asdict(v) for v in self.warnings],
            "target_counts": self.target_counts,
            "task": self.task,
        }


# The examples a message shows are drawn from the first this many offending values of a column.
EXAMPLES_SEEN = 1000
# The per-row hash of whole rows: h = h * _ROW_HASH_FACTOR + hash(value), column by column.
_ROW_HASH_FACTOR = 1_000_003
# Map-and-merge over a table: (columns, chunk function, merge, initial) -> the merged result.
MapMerge = Callable[
    [list[str], Callable[[pd.DataFrame], Any], Callable[[Any, Any], Any], Any], Any
]


def validate_table(
    frame: pd.DataFrame | ParquetColumns,
    schema: Schema,
    extra_columns: str = "warn",
    require_target: bool = True,
    max_invalid_fraction: float = 0.0,
    id_columns: tuple[str, ...] = (),
    check_duplicates: bool = True,
) -> ValidationResult:
    """Check ``frame`` against ``schema``; collect every violation.

    ``frame`` may be a ``ParquetColumns`` (read in chunks of a block of columns, like the
    validate stage's local engine).
    ``extra_columns`` is 'warn' or 'fail' for columns the schema does not know.
    ``require_target`` is False when scoring new data that has no labels.
    ``max_invalid_fraction`` tolerates a share of out-of-range or unknown values per column,
    and of rows that repeat an id.
    ``id_columns`` (params ``data.id_columns``) are checked for unique values like the schema's
    ``kind: id`` columns (unless the schema says ``unique: false`` for them).

    Duplicates leak across the train/test split (a copy of a training row in the test set
    inflates the test metrics): a repeated id is an error; when no id column is checked,
    rows that repeat an earlier row exactly are a warning (see ``_duplicate_rows``).
    ``check_duplicates`` is False for data to score, where repeats leak nothing.

    An in-memory frame is one chunk of ``validate_chunks``; the result is the same for any cut.
    """
    settings = {
        "extra_columns": extra_columns,
        "require_target": require_target,
        "tolerance": max_invalid_fraction,
        "id_columns": id_columns,
        "check_duplicates": check_duplicates,
    }
    if isinstance(frame, ParquetColumns):
        return validate_parquet(_fold_parquet, frame.path, schema, **settings)
    plan = ValidationPlan(schema, tuple(str(c) for c in frame.columns), **settings)
    return validate_chunks(functools.partial(_one_chunk, frame), plan, len(frame), empty=frame)


def validate_parquet(
    map_merge: Callable[..., Any],
    path: str | Path,
    schema: Schema,
    chunk_rows: int | None = None,
    **settings: Any,
) -> ValidationResult:
    """Validate the Parquet table ``path`` chunk by chunk through ``map_merge`` (an executor's
    ``map_merge``: path, columns, chunk function, merge, initial, in chunks of at most
    ``chunk_rows`` rows of a row group; None: whole row groups); ``settings``: the fields of
    ``ValidationPlan`` after ``columns`` (see ``validate_table``)."""
    import pyarrow.parquet as pq

    table = ParquetColumns(path)
    casts = tuple(whole_column_dtypes(path).items())
    plan = ValidationPlan(schema, tuple(str(c) for c in table.columns), casts=casts, **settings)
    meta = pq.read_metadata(table.path)
    largest = max((meta.row_group(g).num_rows for g in range(meta.num_row_groups)), default=0)
    return validate_chunks(
        functools.partial(map_merge, path),
        plan,
        len(table),
        empty=empty_table(path),
        chunk_rows=min(largest, chunk_rows or largest),
    )


def _one_chunk(
    frame: pd.DataFrame,
    columns: list[str],
    chunk: Callable[[pd.DataFrame], T],
    merge: Callable[[T, T], T],
    initial: T,
) -> T:
    return merge(initial, chunk(frame[columns]))


def _fold_parquet(
    path: str | Path,
    columns: list[str],
    chunk: Callable[[pd.DataFrame], T],
    merge: Callable[[T, T], T],
    initial: T,
    batch_rows: int = ROW_GROUP_ROWS,
) -> T:
    """A ``map_merge`` in this process: batches of the table in file order (``validate_table``
    of a ``ParquetColumns``; the stage uses its executor's)."""
    result = initial
    for batch in iter_parquet(path, batch_rows, columns=columns):
        result = merge(result, chunk(batch))
    return result


@dataclass(frozen=True)
class ValidationPlan:
    """What validation checks, decided from the schema, the settings and the table's column
    names before a row is read (see ``validate_table`` for the settings).

    ``casts``: (column, dtype) for the columns whose chunks must be cast to the dtype the whole
    column has (``mlpipe.io.whole_column_dtypes``: integers with a missing value somewhere are
    float64, such booleans object), so that every chunk holds the values the whole column would.
    """

    schema: Schema
    columns: tuple[str, ...]
    extra_columns: str = "warn"
    require_target: bool = True
    tolerance: float = 0.0
    id_columns: tuple[str, ...] = ()
    check_duplicates: bool = True
    casts: tuple[tuple[str, str], ...] = ()

    @functools.cached_property
    def checked(self) -> tuple[ColumnSpec, ...]:
        """The schema's columns that are checked and in the table, in schema order."""
        present = set(self.columns)
        return tuple(
            spec
            for spec in self.schema.columns
            if spec.name in present and (spec.name != self.schema.target or self.require_target)
        )

    @functools.cached_property
    def extras(self) -> tuple[str, ...]:
        """The table's columns the schema does not know, in table order."""
        known = set(self.schema.names)
        return tuple(c for c in self.columns if c not in known)

    @functools.cached_property
    def unique(self) -> tuple[str, ...]:
        """The columns whose repeated values are reported: the schema's (``_unique_columns``)
        in schema order, then ``id_columns`` the schema does not name."""
        if not self.check_duplicates:
            return ()
        own = _unique_columns(self.schema, self.id_columns)
        names = [s.name for s in self.checked if s.name in own]
        present = set(self.columns)
        names += [c for c in self.id_columns if c not in self.schema.names and c in present]
        return tuple(dict.fromkeys(names))

    @functools.cached_property
    def hashed(self) -> tuple[str, ...]:
        """The columns whose values make the whole-row hash, in its order (none when an id
        column of the schema is checked instead)."""
        if not self.check_duplicates or _unique_columns(self.schema, self.id_columns):
            return ()
        return (*(s.name for s in self.checked), *self.extras)

    @functools.cached_property
    def reads(self) -> tuple[str, ...]:
        """Every column a chunk needs, in the order they are read (``hashed``'s order)."""
        extras = self.extras if self.hashed else ()
        return tuple(dict.fromkeys([*(s.name for s in self.checked), *extras, *self.unique]))


@dataclass(frozen=True)
class ColumnTally:
    """What the checks of one column need from its rows, for a chunk or a merge of chunks.

    Every field adds up exactly (counts), is the first ``EXAMPLES_SEEN`` values in row order
    (examples), the extreme of two extremes, or counts by value in order of first appearance,
    so merging the chunks of any cut in row order gives the tally of the whole column.
    ``dtype`` and ``compatible`` (the dtype can hold the schema's kind) are the same for every
    chunk of a column (``ValidationPlan.casts``).
    """

    dtype: str = ""
    compatible: bool = True
    missing: int = 0
    present: int = 0
    bad: int = 0  # values of the wrong type (not numbers, not yes/no, not dates)
    examples: tuple[Any, ...] = ()  # the first bad values
    text: tuple[str, ...] = ()  # the first present values as text (numbers kept as text)
    bad_counts: dict[str, int] = field(default_factory=dict)  # not yes/no, by value
    below: int = 0
    low: Any = None  # the least value below the schema's min
    above: int = 0
    high: Any = None  # the greatest value above the schema's max
    fractional: int = 0
    fractions: tuple[float, ...] = ()  # the first non-integer values
    unknown: dict[str, int] = field(default_factory=dict)  # categories not in the schema
    labels: dict[str, int] = field(default_factory=dict)  # the target's classes, as text
    numeric: bool = True  # the dtype holds numbers (not booleans): a regression target's


def merge_tallies(a: ColumnTally, b: ColumnTally) -> ColumnTally:
    """``a`` then ``b`` (``b``'s rows come after ``a``'s)."""
    first = a if a.dtype else b
    return ColumnTally(
        dtype=first.dtype,
        compatible=first.compatible,
        missing=a.missing + b.missing,
        present=a.present + b.present,
        bad=a.bad + b.bad,
        examples=(a.examples + b.examples)[:EXAMPLES_SEEN],
        text=(a.text + b.text)[:EXAMPLES_SEEN],
        bad_counts=_add_counts(a.bad_counts, b.bad_counts),
        below=a.below + b.below,
        low=_extreme(min, a.low, b.low),
        above=a.above + b.above,
        high=_extreme(max, a.high, b.high),
        fractional=a.fractional + b.fractional,
        fractions=(a.fractions + b.fractions)[:EXAMPLES_SEEN],
        unknown=_add_counts(a.unknown, b.unknown),
        labels=_add_counts(a.labels, b.labels),
        numeric=first.numeric,
    )


def _add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """Counts added; keys in order of first appearance (``a``'s, then ``b``'s new ones)."""
    if not b:
        return a
    out = dict(a)
    for key, count in b.items():
        out[key] = out.get(key, 0) + count
    return out


def _extreme(pick: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else pick(a, b)


@dataclass(frozen=True)
class ValidationCounts:
    """One chunk's (or a merge of chunks') tallies by column, the hashes of the present values
    of the columns that must be unique (row order), and ``row_hash``: each row's hash over the
    chunk's ``hashed`` columns (None when whole rows are not compared)."""

    tallies: dict[str, ColumnTally] = field(default_factory=dict)
    ids: dict[str, np.ndarray] = field(default_factory=dict)
    row_hash: np.ndarray | None = None


def validation_counts(chunk: pd.DataFrame, plan: ValidationPlan) -> ValidationCounts:
    """The tallies of one chunk of the table (any of its columns ``plan.reads`` names)."""
    chunk = cast_to(chunk, dict(plan.casts))
    columns = {name: chunk[name] for name in chunk.columns}
    # The target's classes are counted (not a regression target's values).
    classes = plan.require_target and plan.schema.task != "regression"
    target = plan.schema.target if classes else None
    tallies = {
        spec.name: _tally(columns[spec.name], spec, spec.name == target)
        for spec in plan.checked
        if spec.name in columns
    }
    ids = {name: _value_hashes(columns[name].dropna()) for name in plan.unique if name in columns}
    row_hash = None
    hashed = [name for name in plan.hashed if name in columns]
    if hashed:
        row_hash = np.zeros(len(chunk), dtype=np.uint64)
        for name in hashed:
            row_hash = _add_to_hash(row_hash, columns[name])
    return ValidationCounts(tallies, ids, row_hash)


def merge_validation_counts(a: ValidationCounts, b: ValidationCounts) -> ValidationCounts:
    """``a`` then ``b`` (``b``'s rows come after ``a``'s): tallies merged, hashes joined."""
    tallies = dict(a.tallies)
    for name, tally in b.tallies.items():
        tallies[name] = merge_tallies(tallies[name], tally) if name in tallies else tally
    ids = dict(a.ids)
    for name, hashes in b.ids.items():
        ids[name] = np.concatenate([ids[name], hashes]) if name in ids else hashes
    row_hash = a.row_hash
    if b.row_hash is not None:
        row_hash = b.row_hash if row_hash is None else np.concatenate([row_hash, b.row_hash])
    return ValidationCounts(tallies, ids, row_hash)


def repeated_values(
    chunk: pd.DataFrame, candidates: dict[str, np.ndarray], casts: tuple[tuple[str, str], ...]
) -> dict[str, pd.Series]:
    """The present values of each id column of ``chunk`` whose hash is among ``candidates``
    (hashes seen more than once in the column), in row order: pass 2 of the unique-id check,
    which compares the values themselves."""
    chunk = cast_to(chunk, dict(casts))
    out = {}
    for name, hashes in candidates.items():
        present = chunk[name].dropna()
        keep = np.isin(_value_hashes(present), hashes)
        out[name] = present[keep].reset_index(drop=True)
    return out


def merge_repeated_values(
    a: dict[str, pd.Series], b: dict[str, pd.Series]
) -> dict[str, pd.Series]:
    """``a`` then ``b``: each column's values joined in row order."""
    out = dict(a)
    for name, values in b.items():
        out[name] = pd.concat([out[name], values], ignore_index=True) if name in out else values
    return out


def validate_chunks(
    map_merge: MapMerge,
    plan: ValidationPlan,
    rows: int,
    *,
    empty: pd.DataFrame,
    block_values: int = COLUMN_BLOCK_VALUES,
    chunk_rows: int | None = None,
) -> ValidationResult:
    """Validate a table of ``rows`` rows through ``map_merge`` (an executor's ``map_merge`` of
    the table, or one in-memory chunk): ``validation_counts`` of every chunk, merged in row
    order, a block of columns at a time (chunks of at most ``block_values`` values, given
    chunks of at most ``chunk_rows`` rows, None: ``rows``; a wide table takes several passes);
    for columns that must be unique and show a repeated hash, a second pass compares the
    values themselves. ``empty``: the table's columns without rows (a table of no rows is
    checked on it). The result is the same for every cut of the table.
    """
    if rows == 0:
        map_merge = functools.partial(_one_chunk, empty)
    chunk = functools.partial(validation_counts, plan=plan)
    reads, hashed = list(plan.reads), set(plan.hashed)
    width = max(1, block_values // max(1, min(rows, chunk_rows or rows)))
    counts = ValidationCounts()
    for start in range(0, len(reads), width):
        block = reads[start : start + width]
        part = map_merge(block, chunk, merge_validation_counts, ValidationCounts())
        counts = _join_blocks(counts, part, sum(1 for c in block if c in hashed))
    candidates = {
        name: _repeated_hashes(hashes) for name, hashes in counts.ids.items() if len(hashes)
    }
    candidates = {name: hashes for name, hashes in candidates.items() if len(hashes)}
    repeated: dict[str, pd.Series] = {}
    if candidates:
        second = functools.partial(repeated_values, candidates=candidates, casts=plan.casts)
        repeated = map_merge(list(candidates), second, merge_repeated_values, {})
    duplicates = {name: _duplicate_ids(values, name) for name, values in repeated.items()}
    return validation_result(plan, counts, duplicates, rows)


def _join_blocks(a: ValidationCounts, b: ValidationCounts, hashed: int) -> ValidationCounts:
    """The counts of two blocks of columns (``b``'s columns come after ``a``'s; ``hashed`` of
    them are in the row hash): the row hash continues over ``b``'s columns."""
    row_hash = a.row_hash
    if b.row_hash is not None:
        if row_hash is None:
            row_hash = b.row_hash
        else:
            scale = np.uint64(pow(_ROW_HASH_FACTOR, hashed, 1 << 64))
            with np.errstate(over="ignore"):
                row_hash = row_hash * scale + b.row_hash
    return ValidationCounts(a.tallies | b.tallies, a.ids | b.ids, row_hash)


def _repeated_hashes(hashes: np.ndarray) -> np.ndarray:
    """The hashes that occur more than once, sorted."""
    ordered = np.sort(hashes)
    again = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.unique(again)


def validation_result(
    plan: ValidationPlan,
    counts: ValidationCounts,
    duplicates: dict[str, Violation | None],
    rows: int,
) -> ValidationResult:
    """Every violation, from the merged ``counts`` of a table of ``rows`` rows and the
    repeated ids found (``duplicates``: a Violation or None per column compared by value)."""
    errors: list[Violation] = []
    warnings: list[Violation] = []
    checks = 0
    n = rows
    schema = plan.schema
    tolerance = plan.tolerance

    checks += 1
    if n == 0:
        errors.append(Violation("*", "rows", "the table has no rows", 0))

    present = set(plan.columns)
    unique = set(plan.unique)
    for spec in schema.columns:
        if spec.name == schema.target and not plan.require_target:
            continue
        checks += 1
        if spec.name not in present:
            errors.append(Violation(spec.name, "column present", "column is missing", n))
            continue
        tally = counts.tallies.get(spec.name, ColumnTally())
        # The target's missing values are checked below ("target present"), with the fix.
        budget = spec.name != schema.target
        found_errors, found_warnings, count = _column_violations(tally, spec, n, tolerance, budget)
        checks += count
        errors.extend(found_errors)
        warnings.extend(found_warnings)
        if spec.name in unique:
            checks += 1
            issue = duplicates.get(spec.name)
            if issue is not None:
                too_many = issue.rows / n > tolerance
                (errors if too_many else warnings).append(issue)

    for name in plan.unique:  # declared in params but not in the schema
        if name not in schema.names:
            checks += 1
            issue = duplicates.get(name)
            if issue is not None:
                (errors if issue.rows / n > tolerance else warnings).append(issue)

    checks += 1
    for column in plan.extras:
        issue = Violation(column, "known column", "column is not in the schema", n)
        (errors if plan.extra_columns == "fail" else warnings).append(issue)

    if plan.hashed and n:
        checks += 1
        row_hash = counts.row_hash if counts.row_hash is not None else np.zeros(n, np.uint64)
        issue = _duplicate_rows(row_hash)
        if issue is not None:
            warnings.append(issue)

    target_counts: dict[str, int] = {}
    if plan.require_target and schema.target in present:
        checks += 1
        target = counts.tallies.get(schema.target, ColumnTally())
        if schema.task != "regression":
            labels = dict(sorted(target.labels.items()))
            target_counts = labels
            if len(labels) < 2:
                observed = (
                    "no labelled rows" if not labels else f"only class {next(iter(labels))!r}"
                )
                errors.append(Violation(schema.target, "at least two classes", observed, n))
            if schema.classes is not None:
                known = {str(c) for c in schema.classes}
                new = [k for k in labels if k not in known]
                if new:
                    rows_new = sum(labels[k] for k in new)
                    observed = f"classes not in the schema: {new[:5]}"
                    errors.append(Violation(schema.target, "known classes", observed, rows_new))
        elif not target.numeric:
            errors.append(Violation(schema.target, "numeric target", f"dtype {target.dtype}", n))
        checks += 1
        if target.missing:
            observed = f"missing labels; {MISSING_LABELS_FIX}"
            errors.append(Violation(schema.target, "target present", observed, target.missing))
    return ValidationResult(
        rows=n,
        columns=len(plan.columns),
        checks=checks,
        errors=tuple(errors),
        warnings=tuple(warnings),
        target_counts=target_counts,
        task=schema.task,
    )


def _compatible(actual: str, kind: str) -> bool:
    """Whether a column of dtype kind ``actual`` can hold the schema's ``kind``: categories are
    compared as text (1.0 as '1': category_text), booleans are numbers."""
    if actual == kind:
        return True
    if kind == "categorical":
        return actual in ("boolean", "numeric")
    return kind == "numeric" and actual == "boolean"


def _tally(series: pd.Series, spec: ColumnSpec, target: bool) -> ColumnTally:
    """What the checks of ``spec`` need from this chunk of its column; ``target``: the column is
    a classifier's target (its classes are counted too)."""
    missing = int(series.isna().sum())
    base = {
        "dtype": str(series.dtype),
        "missing": missing,
        "present": len(series) - missing,
        "numeric": pd.api.types.is_numeric_dtype(series)
        and not pd.api.types.is_bool_dtype(series),
    }
    if target:
        base["labels"] = {
            str(k): int(v) for k, v in series.dropna().astype(str).value_counts(sort=False).items()
        }
    if spec.kind == "id":
        return ColumnTally(**base)
    if not _compatible(dtype_kind(series), spec.kind):
        return ColumnTally(compatible=False, **base, **_wrong_type(series, spec))
    present = series.dropna()
    if not len(present):
        return ColumnTally(**base)
    if spec.kind == "numeric" and (spec.min is not None or spec.max is not None or spec.integer):
        return ColumnTally(**base, **_numeric_rules(present.astype(float), spec))
    if spec.kind == "datetime" and (spec.min is not None or spec.max is not None):
        return ColumnTally(**base, **_date_rules(_utc(present), spec))
    if spec.kind == "categorical" and spec.categories is not None:
        text = category_text(present)
        unknown = text[~text.isin(spec.categories)]
        counts = unknown.value_counts(sort=False)
        return ColumnTally(**base, unknown={str(k): int(v) for k, v in counts.items()})
    return ColumnTally(**base)


def _wrong_type(series: pd.Series, spec: ColumnSpec) -> dict[str, Any]:
    """The tally of a column whose dtype cannot hold ``spec.kind``: the values that are not of
    the kind (counted, with the first of them), and the first present values as text."""
    if spec.kind == "numeric":
        text = series.dropna().astype(str).str.strip()
        bad = text[_not_numbers(text)]
        return {
            "bad": len(bad),
            "examples": tuple(bad.head(EXAMPLES_SEEN).tolist()),
            "text": tuple(text.head(EXAMPLES_SEEN).tolist()),
        }
    if spec.kind == "boolean":
        text = category_text(series.dropna())
        bad = text[yes_no(text).isna()]
        counts = bad.value_counts(sort=False)
        return {"bad": len(bad), "bad_counts": {str(k): int(v) for k, v in counts.items()}}
    if spec.kind == "datetime":
        text = series.dropna().astype(str).str.strip()
        bad = text[_not_dates(text, spec.format)]
        return {"bad": len(bad), "examples": tuple(bad.head(EXAMPLES_SEEN).tolist())}
    return {}


def _numeric_rules(values: pd.Series, spec: ColumnSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.min is not None:
        outside = values < _num(spec.min)
        out |= {"below": int(outside.sum()), "low": _pick(values[outside], "min")}
    if spec.max is not None:
        outside = values > _num(spec.max)
        out |= {"above": int(outside.sum()), "high": _pick(values[outside], "max")}
    if spec.integer:
        fractional = values[values != values.round()]
        out |= {
            "fractional": len(fractional),
            "fractions": tuple(fractional.head(EXAMPLES_SEEN).tolist()),
        }
    return out


def _date_rules(dates: pd.Series, spec: ColumnSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.min is not None:
        outside = dates < _utc_timestamp(pd.Timestamp(str(spec.min)))
        out |= {"below": int(outside.sum()), "low": _pick(dates[outside], "min")}
    if spec.max is not None:
        outside = dates > _utc_timestamp(pd.Timestamp(str(spec.max)))
        out |= {"above": int(outside.sum()), "high": _pick(dates[outside], "max")}
    return out


def _pick(values: pd.Series, which: str) -> Any:
    """The least or greatest of ``values`` (a float or a Timestamp), None when there is none."""
    if not len(values):
        return None
    value = values.min() if which == "min" else values.max()
    return float(value) if isinstance(value, float | np.floating) else value


def _column_violations(
    tally: ColumnTally, spec: ColumnSpec, n: int, tolerance: float, budget: bool = True
) -> tuple[list[Violation], list[Violation], int]:
    """Violations of one column's rules from its merged tally (``n``: the table's rows);
    ``budget`` False skips the missing-value budget."""
    errors: list[Violation] = []
    warnings: list[Violation] = []
    checks = 0
    if spec.kind == "id":
        return errors, warnings, checks

    checks += 1
    missing = tally.missing
    if budget and n and missing / n > spec.max_missing:
        errors.append(
            Violation(
                spec.name,
                f"missing fraction <= {spec.max_missing:g}",
                f"{missing / n:.4f} missing",
                missing,
            )
        )

    checks += 1
    if not tally.compatible:
        if not tally.present:  # all missing: the missing-fraction check says so
            return errors, warnings, checks
        errors.append(_type_violation(tally, spec, n))
        return errors, warnings, checks

    bounded = spec.min is not None or spec.max is not None
    ruled = {
        "numeric": bounded or spec.integer,
        "datetime": bounded,
        "categorical": spec.categories is not None,
    }.get(spec.kind, False)
    if not ruled or not tally.present:  # nothing to check (e.g. scoring's schema), or no value
        return errors, warnings, checks
    if spec.kind in ("numeric", "datetime"):
        found = errors if spec.kind == "numeric" else warnings
        for bound, name, count, seen in (
            (spec.min, "min", tally.below, tally.low),
            (spec.max, "max", tally.above, tally.high),
        ):
            if bound is None:
                continue
            checks += 1
            if count and count / n > tolerance:
                if spec.kind == "numeric":
                    issue = Violation(
                        spec.name, f"{name} {bound:g}", f"{name} seen {seen:g}", count
                    )
                else:
                    issue = Violation(
                        spec.name, f"{name} {bound}", f"{name} seen {seen.date()}", count
                    )
                found.append(issue)
        if spec.kind == "numeric" and spec.integer:
            checks += 1
            fractional = tally.fractional
            if fractional and fractional / n > tolerance:
                shown = sorted(set(tally.fractions))[:3]
                observed = (
                    f"non-integer values, e.g. {', '.join(f'{v:g}' for v in shown)} (the schema "
                    "says integer: true; set integer: false if fractions are valid)"
                )
                errors.append(Violation(spec.name, "integer", observed, fractional))
    elif spec.kind == "categorical":
        checks += 1
        unknown = sum(tally.unknown.values())
        if unknown:
            top = _most_frequent(tally.unknown, 5, first_seen=True)
            observed = "unknown categories " + ", ".join(f"{k!r} x{v}" for k, v in top)
            issue = Violation(spec.name, "allowed categories", observed, unknown)
            if spec.unknown == "fail" and unknown / n > tolerance:
                errors.append(issue)
            else:
                warnings.append(issue)
    return errors, warnings, checks


def _type_violation(tally: ColumnTally, spec: ColumnSpec, n: int) -> Violation:
    """The error of a column whose dtype cannot hold ``spec.kind`` (it has present values)."""
    if spec.kind == "numeric":
        count, examples = tally.bad, sorted(set(tally.examples))[:3]
        observed = f"values that are not numbers, e.g. {examples}"
        if not count:  # numbers, but not in the form ingest reads (e.g. the decimal mark)
            count, examples = tally.present, sorted(set(tally.text))[:3]
            observed = (
                f"numbers kept as text, e.g. {examples}: written with another decimal "
                "mark or thousands separator than data.csv sets"
            )
        return Violation(spec.name, "type numeric", observed, count)
    if spec.kind == "boolean" and tally.bad:
        examples = [k for k, _ in _most_frequent(tally.bad_counts, 3, first_seen=False)]
        observed = f"values that are not {YES_NO}, e.g. {examples}"
        return Violation(spec.name, "type boolean", observed, tally.bad)
    if spec.kind == "datetime" and tally.bad:
        examples = sorted(set(tally.examples))[:3]
        observed = (
            f"values that are not ISO 8601 dates, e.g. {examples}: write dates as "
            "YYYY-MM-DD (optionally with a time), as in the training data"
        )
        if spec.format is not None:
            observed = (
                f"values that are not dates written as {spec.format} (the schema's format) "
                f"or ISO 8601, e.g. {examples}: write every date of the column that way, as "
                "in the training data"
            )
        return Violation(spec.name, "type datetime", observed, tally.bad)
    return Violation(spec.name, f"type {spec.kind}", f"dtype {tally.dtype}", n)


def _most_frequent(counts: dict[str, int], k: int, *, first_seen: bool) -> list[tuple[str, int]]:
    """The ``k`` values counted most often; ties in order of first appearance (``first_seen``,
    as pandas' ``value_counts``) or of the values."""
    items = list(counts.items()) if first_seen else sorted(counts.items())
    return sorted(items, key=lambda item: -item[1])[:k]


def _unique_columns(schema: Schema, id_columns: tuple[str, ...]) -> set[str]:
    """The schema's columns whose values must be unique: ``kind: id`` ones and ``id_columns``,
    except those the schema marks ``unique: false``."""
    return {
        s.name
        for s in schema.columns
        if s.unique and (s.kind == "id" or s.name in id_columns) and s.name != schema.target
    }


def _duplicate_ids(present: pd.Series, name: str) -> Violation | None:
    """A Violation when a present value of an id column occurs more than once, else None.

    ``present``: the column's present values in row order (all of them, or only those whose
    hash repeats: the same repeated values). ``rows`` counts every row that carries a repeated
    id (all copies, the first included).
    """
    repeated = present.duplicated(keep=False)
    rows = int(repeated.sum())
    if not rows:
        return None
    values = present[repeated]
    ids = int(values.nunique())
    examples = sorted({str(v) for v in values.head(EXAMPLES_SEEN).unique()})[:3]
    observed = (
        f"{ids} id(s) occur more than once, e.g. {examples}; copies of a record can land in "
        "both train and test and inflate the test metrics. Remove the duplicate rows, or if "
        f"repeats are legitimate, do not declare '{name}' an id (remove it from "
        "data.id_columns, or add `unique: false` to its entry in the schema)"
    )
    return Violation(name, "unique ids", observed, rows)


def _value_hashes(series: pd.Series) -> np.ndarray:
    """A uint64 hash of each value (equal values, equal hashes; the same dtype assumed).

    Text is hashed as Python strings (the values pandas' own hash of a text column gives,
    three times faster than hashing Arrow-backed text through pandas)."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series):
        values = series.to_numpy(dtype=object)
        return pd.util.hash_array(values, categorize=False).astype(np.uint64, copy=False)
    return pd.util.hash_pandas_object(series, index=False).to_numpy(dtype=np.uint64)


def _add_to_hash(row_hash: np.ndarray, series: pd.Series) -> np.ndarray:
    """Fold one column into the per-row hashes (order-dependent, wraps around at 2**64)."""
    with np.errstate(over="ignore"):
        return row_hash * np.uint64(_ROW_HASH_FACTOR) + _value_hashes(series)


def _duplicate_rows(row_hash: np.ndarray) -> Violation | None:
    """A warning when rows repeat an earlier row exactly (compared by 64-bit hash), else None.

    A warning, not an error: without an id, two equal rows may be two real observations
    (tables with few, coarse columns have them), so only the user can tell. ``rows`` counts
    the extra copies (not the first of each).
    """
    copies = len(row_hash) - len(np.unique(row_hash))
    if not copies:
        return None
    share = copies / len(row_hash)
    observed = (
        f"{copies} row(s) ({share:.2%}) repeat an earlier row exactly; copies can land in both "
        "train and test and inflate the test metrics. If they are duplicate records, remove "
        "them (e.g. drop_duplicates) before ingest, or declare an id column in data.id_columns"
    )
    return Violation("*", "unique rows", observed, copies)


def _utc(dates: pd.Series) -> pd.Series:
    """Date-times without a zone: zoned ones converted to UTC (ingest stores them so)."""
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        return dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return dates


def _utc_timestamp(stamp: pd.Timestamp) -> pd.Timestamp:
    """A schema bound without a zone (one written with an offset is converted to UTC)."""
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def _num(value: float | str | None) -> float:
    return float(value) if value is not None else float("nan")


def _not_dates(text: pd.Series, form: str | None = None) -> np.ndarray:
    """Which values (stripped text) are not ISO 8601 dates (nor dates in ``form``, the schema's
    strftime format)."""
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if form is not None:
        parsed = parsed.fillna(pd.to_datetime(text, format=form, errors="coerce", utc=True))
    return parsed.isna().to_numpy()


def _not_numbers(text: pd.Series) -> np.ndarray:
    """Which values (stripped text) do not parse as numbers."""
    # Thousands separators are not errors: ingest converts "1,234.5" when a column is numeric.
    numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    return numbers.isna().to_numpy()
