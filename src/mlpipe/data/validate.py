"""Checking a table against its schema: every violation, not just the first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.data.ingest import YES_NO, yes_no
from mlpipe.data.schema import MISSING_LABELS_FIX, ColumnSpec, Schema, category_text, column_kind
from mlpipe.io import ParquetColumns


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

    ``frame`` may be a ``ParquetColumns`` (one column in memory at a time): each column is
    looked up once.
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
    """
    errors: list[Violation] = []
    warnings: list[Violation] = []
    checks = 0
    n = len(frame)

    checks += 1
    if n == 0:
        errors.append(Violation("*", "rows", "the table has no rows", 0))

    unique = _unique_columns(schema, id_columns) if check_duplicates else set()
    # Without an id, whole rows are compared: one 64-bit hash per row, built column by column.
    row_hash = np.zeros(n, dtype=np.uint64) if check_duplicates and not unique else None
    for spec in schema.columns:
        if spec.name == schema.target and not require_target:
            continue
        checks += 1
        if spec.name not in frame.columns:
            errors.append(Violation(spec.name, "column present", "column is missing", n))
            continue
        series = frame[spec.name]
        # The target's missing values are checked below ("target present"), with the fix.
        budget = spec.name != schema.target
        found_errors, found_warnings, count = _check_column(
            series, spec, max_invalid_fraction, budget
        )
        checks += count
        errors.extend(found_errors)
        warnings.extend(found_warnings)
        if spec.name in unique:
            checks += 1
            issue = _duplicate_ids(series)
            if issue is not None:
                too_many = issue.rows / n > max_invalid_fraction
                (errors if too_many else warnings).append(issue)
        if row_hash is not None:
            row_hash = _add_to_hash(row_hash, series)

    for name in id_columns:  # declared in params but not in the schema
        if check_duplicates and name not in schema.names and name in frame.columns:
            checks += 1
            issue = _duplicate_ids(frame[name])
            if issue is not None:
                (errors if issue.rows / n > max_invalid_fraction else warnings).append(issue)

    extras = [c for c in frame.columns if c not in schema.names]
    checks += 1
    for column in extras:
        issue = Violation(column, "known column", "column is not in the schema", n)
        (errors if extra_columns == "fail" else warnings).append(issue)
        if row_hash is not None:
            row_hash = _add_to_hash(row_hash, frame[column])

    if row_hash is not None and n:
        checks += 1
        issue = _duplicate_rows(row_hash)
        if issue is not None:
            warnings.append(issue)

    target_counts: dict[str, int] = {}
    if require_target and schema.target in frame.columns:
        checks += 1
        target = frame[schema.target]
        if schema.task != "regression":
            counts = target.dropna().astype(str).value_counts().sort_index()
            target_counts = {str(k): int(v) for k, v in counts.items()}
            if len(counts) < 2:
                observed = (
                    "no labelled rows" if counts.empty else f"only class {counts.index[0]!r}"
                )
                errors.append(Violation(schema.target, "at least two classes", observed, n))
            if schema.classes is not None:
                known = {str(c) for c in schema.classes}
                new = [str(k) for k in counts.index if str(k) not in known]
                if new:
                    rows = int(sum(counts[k] for k in counts.index if str(k) not in known))
                    observed = f"classes not in the schema: {new[:5]}"
                    errors.append(Violation(schema.target, "known classes", observed, rows))
        elif not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
            errors.append(Violation(schema.target, "numeric target", f"dtype {target.dtype}", n))
        checks += 1
        if int(target.isna().sum()):
            observed = f"missing labels; {MISSING_LABELS_FIX}"
            errors.append(
                Violation(schema.target, "target present", observed, int(target.isna().sum()))
            )
    return ValidationResult(
        rows=n,
        columns=frame.shape[1],
        checks=checks,
        errors=tuple(errors),
        warnings=tuple(warnings),
        target_counts=target_counts,
        task=schema.task,
    )


def _check_column(
    series: pd.Series, spec: ColumnSpec, tolerance: float, budget: bool = True
) -> tuple[list[Violation], list[Violation], int]:
    """Violations of one column's rules; ``budget`` False skips the missing-value budget."""
    errors: list[Violation] = []
    warnings: list[Violation] = []
    checks = 0
    n = len(series)
    if spec.kind == "id":
        return errors, warnings, checks

    checks += 1
    missing = int(series.isna().sum())
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
    actual = column_kind(series)
    compatible = actual == spec.kind or (spec.kind == "categorical" and actual in ("id",))
    if spec.kind == "categorical" and actual in ("boolean", "numeric"):
        compatible = True  # categories are compared as text (1.0 as '1': category_text)
    if spec.kind == "numeric" and actual == "boolean":
        compatible = True
    if not compatible:
        observed = f"dtype {series.dtype}"
        if not series.notna().any():  # all missing: the missing-fraction check says so
            return errors, warnings, checks
        if spec.kind == "numeric":
            count, examples = _non_numeric(series)
            observed = f"values that are not numbers, e.g. {examples}"
            if not count:  # numbers, but not in the form ingest reads (e.g. the decimal mark)
                present = series.dropna().astype(str).str.strip()
                count, examples = len(present), sorted(set(present.head(1000).tolist()))[:3]
                observed = (
                    f"numbers kept as text, e.g. {examples}: written with another decimal "
                    "mark or thousands separator than data.csv sets"
                )
            errors.append(Violation(spec.name, "type numeric", observed, count))
        elif spec.kind == "boolean" and (found := _non_boolean(series))[0]:
            count, examples = found
            observed = f"values that are not {YES_NO}, e.g. {examples}"
            errors.append(Violation(spec.name, "type boolean", observed, count))
        elif spec.kind == "datetime" and (found := _non_dates(series, spec.format))[0]:
            count, examples = found
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
            errors.append(Violation(spec.name, "type datetime", observed, count))
        else:
            errors.append(Violation(spec.name, f"type {spec.kind}", observed, n))
        return errors, warnings, checks

    bounded = spec.min is not None or spec.max is not None
    ruled = {
        "numeric": bounded or spec.integer,
        "datetime": bounded,
        "categorical": spec.categories is not None,
    }.get(spec.kind, False)
    if not ruled:  # no range, integer rule or category list to check (e.g. scoring's schema)
        return errors, warnings, checks
    present = series.dropna()
    if spec.kind == "numeric" and len(present):
        values = present.astype(float)
        for bound, name in ((spec.min, "min"), (spec.max, "max")):
            if bound is None:
                continue
            checks += 1
            outside = values < _num(bound) if name == "min" else values > _num(bound)
            count = int(outside.sum())
            if count and count / n > tolerance:
                extreme = values[outside].min() if name == "min" else values[outside].max()
                errors.append(
                    Violation(spec.name, f"{name} {bound:g}", f"{name} seen {extreme:g}", count)
                )
        if spec.integer:
            checks += 1
            whole = values == values.round()
            fractional = int((~whole).sum())
            if fractional and fractional / n > tolerance:
                shown = sorted(set(values[~whole].head(1000).tolist()))[:3]
                observed = (
                    f"non-integer values, e.g. {', '.join(f'{v:g}' for v in shown)} (the schema "
                    "says integer: true; set integer: false if fractions are valid)"
                )
                errors.append(Violation(spec.name, "integer", observed, fractional))
    elif spec.kind == "datetime" and len(present):
        present = _utc(present)
        for bound, name in ((spec.min, "min"), (spec.max, "max")):
            if bound is None:
                continue
            checks += 1
            limit = _utc_timestamp(pd.Timestamp(str(bound)))
            outside = present < limit if name == "min" else present > limit
            count = int(outside.sum())
            if count and count / n > tolerance:
                seen = present[outside].min() if name == "min" else present[outside].max()
                warnings.append(
                    Violation(spec.name, f"{name} {bound}", f"{name} seen {seen.date()}", count)
                )
    elif spec.kind == "categorical" and spec.categories is not None and len(present):
        checks += 1
        text = category_text(present)
        unknown = text[~text.isin(spec.categories)]
        if len(unknown):
            top = unknown.value_counts().head(5)
            observed = "unknown categories " + ", ".join(f"{k!r} x{v}" for k, v in top.items())
            issue = Violation(spec.name, "allowed categories", observed, len(unknown))
            if spec.unknown == "fail" and len(unknown) / n > tolerance:
                errors.append(issue)
            else:
                warnings.append(issue)
    return errors, warnings, checks


def _unique_columns(schema: Schema, id_columns: tuple[str, ...]) -> set[str]:
    """The schema's columns whose values must be unique: ``kind: id`` ones and ``id_columns``,
    except those the schema marks ``unique: false``."""
    return {
        s.name
        for s in schema.columns
        if s.unique and (s.kind == "id" or s.name in id_columns) and s.name != schema.target
    }


def _duplicate_ids(series: pd.Series) -> Violation | None:
    """A Violation when a present value of an id column occurs more than once, else None.

    ``rows`` counts every row that carries a repeated id (all copies, the first included).
    """
    present = series.dropna()
    repeated = present.duplicated(keep=False)
    rows = int(repeated.sum())
    if not rows:
        return None
    values = present[repeated]
    ids = int(values.nunique())
    examples = sorted({str(v) for v in values.head(1000).unique()})[:3]
    observed = (
        f"{ids} id(s) occur more than once, e.g. {examples}; copies of a record can land in "
        "both train and test and inflate the test metrics. Remove the duplicate rows, or if "
        f"repeats are legitimate, do not declare '{series.name}' an id (remove it from "
        "data.id_columns, or add `unique: false` to its entry in the schema)"
    )
    return Violation(str(series.name), "unique ids", observed, rows)


def _add_to_hash(row_hash: np.ndarray, series: pd.Series) -> np.ndarray:
    """Fold one column into the per-row hashes (order-dependent, wraps around at 2**64)."""
    values = pd.util.hash_pandas_object(series, index=False).to_numpy(dtype=np.uint64)
    with np.errstate(over="ignore"):
        return row_hash * np.uint64(1_000_003) + values


def _duplicate_rows(row_hash: np.ndarray) -> Violation | None:
    """A warning when rows repeat an earlier row exactly (compared by 64-bit hash), else None.

    A warning, not an error: without an id, two equal rows may be two real observations
    (tables with few, coarse columns have them), so only the user can tell. ``rows`` counts
    the extra copies (not the first of each).
    """
    copies = int(pd.Series(row_hash).duplicated().sum())
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


def _non_boolean(series: pd.Series) -> tuple[int, list[str]]:
    """How many present values are not yes/no, and up to three examples (most frequent first).

    Numbers are compared as category text (1.0 is '1', a yes/no value).
    """
    text = category_text(series.dropna())
    bad = text[yes_no(text).isna()]
    counts = bad.value_counts()
    top = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return len(bad), [str(v) for v in top.index[:3]]


def _non_dates(series: pd.Series, form: str | None = None) -> tuple[int, list[str]]:
    """How many present values are not ISO 8601 dates (nor dates in ``form``, the schema's
    strftime format), and up to three examples."""
    text = series.dropna().astype(str).str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if form is not None:
        parsed = parsed.fillna(pd.to_datetime(text, format=form, errors="coerce", utc=True))
    bad = text[parsed.isna()]
    return len(bad), sorted(set(bad.head(1000).tolist()))[:3]


def _non_numeric(series: pd.Series) -> tuple[int, list[str]]:
    """How many present values do not parse as numbers, and up to three examples."""
    text = series.dropna().astype(str).str.strip()
    # Thousands separators are not errors: ingest converts "1,234.5" when a column is numeric.
    bad = text[pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").isna()]
    return len(bad), sorted(set(bad.head(1000).tolist()))[:3]
