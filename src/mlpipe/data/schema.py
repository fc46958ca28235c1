"""The data contract: schema.yaml, inferred from data once and then reviewed like code.

Format (version 1)::

    version: 1
    target: churned
    task: binary                  # binary | multiclass | regression
    classes: [false, true]        # classification only
    rows: 20000                   # rows inferred from (optional; widens budgets at scoring)
    columns:
      tenure_months: {kind: numeric, integer: true, min: 0, max: 79.2, max_missing: 0.0}
      contract: {kind: categorical, categories: [...], unknown: fail, max_missing: 0.0}
      signup_date: {kind: datetime, min: '2019-01-05', max: '2025-01-01', max_missing: 0.0}
      visit_date: {kind: datetime, format: '%d/%m/%Y', ...}  # dates written as text, not ISO
      paperless_billing: {kind: boolean, max_missing: 0.0}
      customer_id: {kind: id}    # values must be unique; {kind: id, unique: false} if not
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from mlpipe.config import ConfigError, DataConfig

Kind = Literal["numeric", "categorical", "boolean", "datetime", "id"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "id")
TaskName = Literal["binary", "multiclass", "regression"]
SCHEMA_VERSION = 1
# A text column with more distinct values than this is not treated as categorical.
MAX_CATEGORIES = 200
# Inferred numeric ranges are widened by this share of the observed span on each side.
RANGE_TOLERANCE = 0.1
# Inferred missing budgets are the observed share plus this slack.
MISSING_SLACK = 0.02
# A categorical column with a value seen fewer times than this gets `unknown: warn`.
RARE_COUNT = 5
# What to do about rows whose target is missing (schema infer's warning, validate's error).
MISSING_LABELS_FIX = (
    "rows without a label cannot be used to train or evaluate: remove them from the source, "
    "or set data.unlabelled: drop (ingest sets them aside, to score later)"
)


@dataclass(frozen=True)
class ColumnSpec:
    """The contract for one column."""

    name: str
    kind: Kind
    max_missing: float = 0.0
    integer: bool = False
    min: float | str | None = None
    max: float | str | None = None
    categories: tuple[str, ...] | None = None
    unknown: Literal["fail", "warn"] = "fail"
    # id columns only: whether values must be unique (validate fails on a repeated id).
    unique: bool = True
    # datetime columns written as text in a form other than ISO: its strftime format (e.g.
    # '%d/%m/%Y'), so `mlpipe predict` and `monitor` read a batch's dates the same way.
    format: str | None = None


@dataclass(frozen=True)
class Schema:
    """The contract for a table: its columns, target and task."""

    target: str
    task: TaskName
    columns: tuple[ColumnSpec, ...]
    classes: tuple[Any, ...] | None = None
    # The rows the schema was inferred from (None in schema files written before it existed):
    # batch scoring widens the budgets for a sample of that size (mlpipe.data.budgets).
    rows: int | None = None

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @functools.cached_property  # frozen: computed once (a 1 000-column table asks per column)
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.columns)

    def features(self, kind: str) -> tuple[str, ...]:
        """Names of the non-target columns of one kind, in schema order."""
        return tuple(s.name for s in self.columns if s.kind == kind and s.name != self.target)


def dtype_kind(series: pd.Series) -> Kind:
    """``column_kind`` from the dtype alone: text is ``categorical`` (whether it would count as
    an id column does not change which kinds it is compatible with)."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "categorical"


def column_kind(series: pd.Series) -> Kind:
    """Classify a column by its dtype (and cardinality for text)."""
    kind = dtype_kind(series)
    if kind == "categorical" and series.nunique(dropna=True) > MAX_CATEGORIES:
        return "id"
    return kind


def category_value_text(value: Any) -> str:
    """The text a category is compared by: ``str(value)``, but a whole-number float without
    its fraction (1.0 -> '1'), so 1 and 1.0 are the same category.

    Categories are compared as text everywhere (validate, the model's encoders, predict's
    unknown-category check, drift); a numeric column recast to categorical in the schema
    (``categories: [1, 2]``) holds floats 1.0/2.0 when some value is missing.
    """
    if isinstance(value, float | np.floating) and math.isfinite(value):
        number = float(value)
        if number.is_integer() and abs(number) < 2**53:
            return str(int(number))
    return str(value)


def category_text(values: pd.Series) -> pd.Series:
    """``values`` as category text (see ``category_value_text``); missing values stay missing.

    Text columns are converted with ``astype(str)``, numeric and boolean ones map each distinct
    value once, object columns (mixed values: 1 and True are equal dict keys) value by value.
    """
    if pd.api.types.is_object_dtype(values):
        return values.map(category_value_text, na_action="ignore")
    if pd.api.types.is_string_dtype(values):
        return values.astype(str).where(values.notna(), np.nan)
    distinct = values.dropna().unique()
    mapping = {value: category_value_text(value) for value in distinct}
    return values.map(mapping).astype(object)


def infer_task(target: pd.Series) -> TaskName:
    """binary for two classes, multiclass for few discrete values, regression otherwise."""
    present = target.dropna()
    distinct = present.nunique()
    if distinct <= 2:
        return "binary"
    is_number = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if is_number:
        whole = bool((present == np.floor(present.astype(float))).all())
        if not (whole and distinct <= 20):
            return "regression"
    return "multiclass" if distinct <= MAX_CATEGORIES else "regression"


def infer_schema(
    frame: pd.DataFrame,
    target: str,
    task: str = "auto",
    id_columns: tuple[str, ...] = (),
    range_tolerance: float = RANGE_TOLERANCE,
    missing_slack: float = MISSING_SLACK,
    date_column: str | None = None,
    date_formats: dict[str, str] | None = None,
) -> Schema:
    """Infer a schema from a table: kinds, ranges widened by ``range_tolerance`` of the span,
    allowed categories with their policy for new values, and a missing-value budget of the
    observed share + ``missing_slack`` (the target's budget is 0: rows need labels).
    ``date_formats`` (ingest's report) gives the form of datetime columns written as text in a
    form other than ISO; the schema records it.

    Raises ConfigError (naming the params key to fix) when the target, an id column or the date
    column is not in the table, when the target has no values or a single class, and when the
    configured task does not fit the target (e.g. regression on text).
    """
    columns = list(frame.columns)
    if target not in frame.columns:
        raise ConfigError(
            f"data.target '{target}' is not a column of the data; columns are: "
            f"{_preview(columns)}. Set data.target in params.yaml"
        )
    absent = [c for c in id_columns if c not in frame.columns]
    if absent:
        raise ConfigError(
            f"data.id_columns names columns that are not in the data: {absent}; columns are: "
            f"{_preview(columns)}"
        )
    if date_column is not None and date_column not in frame.columns:
        raise ConfigError(
            f"data.date_column '{date_column}' is not a column of the data; set it to a date "
            "column or null"
        )
    if target in id_columns or target == date_column:
        raise ConfigError(f"data.target '{target}' is also listed as an id or date column")
    check_target(frame[target], task)
    resolved: TaskName = infer_task(frame[target]) if task == "auto" else task  # type: ignore[assignment]
    specs = []
    for name in frame.columns:
        series = frame[name]
        kind: Kind = "id" if name in id_columns else column_kind(series)
        if name == target and kind == "id":
            kind = "categorical"
        missing = float(series.isna().mean())
        budget = 0.0 if missing == 0 else min(1.0, _round_up(missing + missing_slack))
        if name == target:
            budget = 0.0  # every row needs a label (see missing_labels_warning)
        spec: dict[str, Any] = {"name": name, "kind": kind, "max_missing": budget}
        if kind == "numeric":
            present = series.dropna().astype(float)
            if len(present):
                low, high = float(present.min()), float(present.max())
                pad = (high - low) * range_tolerance
                spec["integer"] = bool((present == np.floor(present)).all())
                # Data that is never negative keeps a non-negative floor.
                spec["min"] = _round_down(low - pad if low < 0 else max(0.0, low - pad))
                spec["max"] = _round_up(high + pad)
        elif kind == "datetime":
            present = series.dropna()
            if len(present):
                spec["min"] = str(present.min().date())
                spec["max"] = str(present.max().ceil("D").date())
            spec["format"] = (date_formats or {}).get(name)
        elif kind == "categorical":
            counts = category_text(series.dropna()).value_counts()
            spec["categories"] = tuple(sorted(counts.index))
            # A long tail (some value seen fewer than RARE_COUNT times) means new values are
            # expected in fresh data: warn. A closed set of well-populated values: fail.
            rare = name != target and bool((counts < RARE_COUNT).any())
            spec["unknown"] = "warn" if rare else "fail"
        elif kind == "id" and name not in id_columns and series.dropna().duplicated().any():
            # Free text with many distinct values, not a declared id: repeats are its nature.
            spec["unique"] = False
        specs.append(ColumnSpec(**spec))
    classes = None
    if resolved != "regression":
        classes = tuple(sorted((_plain(v) for v in frame[target].dropna().unique()), key=_order))
    return Schema(
        target=target, task=resolved, columns=tuple(specs), classes=classes, rows=len(frame)
    )


def feature_columns(
    schema: Schema,
    numeric: tuple[str, ...] | None = None,
    categorical: tuple[str, ...] | None = None,
    boolean: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> dict[str, tuple[str, ...]]:
    """The model's feature columns by kind: an explicit params list (``data.*_features``) when
    given, else the schema's columns of that kind, without the ``exclude`` columns
    (``data.exclude_columns``). One rule for every reader of the roles
    (``mlpipe.model.features.feature_spec`` checks the lists; drift skips what no model reads).
    """
    given = {"numeric": numeric, "categorical": categorical, "boolean": boolean}
    return {
        kind: tuple(
            name
            for name in (names if names is not None else schema.features(kind))
            if name not in exclude
        )
        for kind, names in given.items()
    }


# Rows from which a column of distinct whole numbers is taken for a row number or an id.
ID_LIKE_ROWS = 100
# A text column with a distinct value in at least this share of its (more than FREE_TEXT_ROWS)
# present values looks like free text (a note, a name) or an identifier, not a category.
FREE_TEXT_SHARE = 0.9
FREE_TEXT_ROWS = 20
# Numbers and dates kept as text ("1,25", "1.234,5": another decimal mark; "13/01/2020") are
# not free text: ingest and the date-column check have their own hints for them.
_NUMBER_OR_DATE_TEXT = re.compile(r"\s*[-+]?\d+([.,/:T -]\d+)+\s*")
# At most this many groups of case/space variants are named in a hint (each up to 5 values).
VARIANT_GROUPS_SHOWN = 5


def missing_labels_warning(target: pd.Series) -> str | None:
    """The warning for a target with missing labels (None when every row has one).

    ``infer_schema`` gives the target ``max_missing: 0`` whatever it observed: validate fails
    on an unlabelled row, so the warning says so before the first run.
    """
    missing = int(target.isna().sum())
    if not missing:
        return None
    return f"target '{target.name}' has {missing} missing labels; {MISSING_LABELS_FIX}"


def column_hints(
    frame: pd.DataFrame, schema: Schema, id_columns: tuple[str, ...] = ()
) -> list[str]:
    """Warnings about feature columns that cannot help, or can mislead, the model.

    An empty column and a column with one value in every row carry nothing; a column of
    whole numbers that differ in every row (at least ``ID_LIKE_ROWS`` rows) looks like a row
    number or an id, which as a feature can leak the row order (files sorted by class); a text
    column with a distinct value in nearly every row (``FREE_TEXT_SHARE`` of more than
    ``FREE_TEXT_ROWS`` values) looks like free text or an identifier. Text values of a
    categorical column or of a classification target that differ only in letter case or
    surrounding spaces ('Barolo', 'BAROLO') become separate categories or classes: named too.
    """
    hints: list[str] = []
    for spec in schema.columns:
        name = spec.name
        if name == schema.target:
            if schema.task != "regression":
                hint = _case_variants_hint(frame[name], f"the target '{name}'", "class")
                hints += [hint] if hint else []
            continue
        if spec.kind in ("id", "datetime") or name in id_columns:
            continue
        values = frame[name].dropna()
        if values.empty:
            hints.append(
                f"column '{name}' is empty (no values in any row): drop it from the source"
            )
        elif values.nunique() == 1:
            hints.append(
                f"column '{name}' has one value ({values.iloc[0]!r}) in every row: it cannot "
                "help the model; drop it from the source"
            )
        elif (
            spec.kind == "numeric"
            and len(values) == len(frame) >= ID_LIKE_ROWS
            and pd.api.types.is_integer_dtype(values)
            and values.is_unique
        ):
            hints.append(
                f"column '{name}' holds a different whole number in every row, like a row number "
                "or an id: if it is one, add it to data.id_columns (as a feature it can leak the "
                "order of the rows)"
            )
        elif spec.kind == "categorical" and _is_text(values):
            distinct = values.nunique()
            if (
                len(values) > FREE_TEXT_ROWS
                and distinct >= FREE_TEXT_SHARE * len(values)
                and values.astype(str).str.fullmatch(_NUMBER_OR_DATE_TEXT).mean() < FREE_TEXT_SHARE
            ):
                hints.append(
                    f"column '{name}' has {distinct} distinct texts in {len(values)} rows: looks "
                    "like free text or an identifier, not a category; set kind: id for it in the "
                    "schema (or add it to data.id_columns) or drop it from the source"
                )
            else:
                hint = _case_variants_hint(values, f"column '{name}'", "category")
                hints += [hint] if hint else []
    return hints


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) or (
        values.dtype == object and all(isinstance(v, str) for v in values.head(1000))
    )


def _case_variants_hint(values: pd.Series, what: str, unit: str) -> str | None:
    """The hint naming the text values of ``values`` that differ only in letter case or
    surrounding spaces (None when there are none): each spelling is its own category."""
    values = values.dropna()
    if values.empty or not _is_text(values):
        return None
    groups: dict[str, list[str]] = {}
    for value in sorted({str(v) for v in values.unique()}):
        groups.setdefault(value.strip().casefold(), []).append(value)
    variants = [g for _, g in sorted(groups.items()) if len(g) > 1]
    if not variants:
        return None
    shown = "; ".join(
        ", ".join(repr(v) for v in g[:5]) + (f" (+{len(g) - 5})" if len(g) > 5 else "")
        for g in variants[:VARIANT_GROUPS_SHOWN]
    )
    more = len(variants) - VARIANT_GROUPS_SHOWN
    return (
        f"{what} has values that differ only in letter case or surrounding spaces: {shown}"
        + (f"; and {more} more group(s)" if more > 0 else "")
        + f". Each spelling is a separate {unit}: "
        f"write each value one way in the source (then run `mlpipe schema infer` again)"
    )


def check_target(target: pd.Series, task: str) -> None:
    """Raise ConfigError when ``target`` cannot be learned as ``task`` (auto included)."""
    name = target.name
    present = target.dropna()
    if present.empty:
        raise ConfigError(
            f"target '{name}' has no values: all {len(target)} rows are empty. Choose another "
            "data.target or fill in the labels"
        )
    distinct = present.nunique()
    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if task == "regression":
        if not numeric:
            examples = sorted({str(v) for v in present.head(1000)})[:3]
            raise ConfigError(
                f"data.task is regression but target '{name}' is not numeric (values such as "
                f"{examples}). Fix the values, or set data.task to multiclass or auto"
            )
        return
    if distinct < 2:
        raise ConfigError(
            f"target '{name}' has a single value ({_plain(present.iloc[0])!r}) in all "
            f"{len(present)} "
            "labelled rows; a model needs at least two classes. Check data.target and the file"
        )
    if task == "binary" and distinct != 2:
        raise ConfigError(
            f"data.task is binary but target '{name}' has {distinct} classes; set data.task "
            "to multiclass (or auto)"
        )
    if task == "multiclass" and distinct > MAX_CATEGORIES:
        raise ConfigError(
            f"data.task is multiclass but target '{name}' has {distinct} distinct values "
            f"(at most {MAX_CATEGORIES}); set data.task to regression (or auto)"
        )


def check_params(schema: Schema, data: DataConfig, where: str | Path = "the schema") -> None:
    """Raise ConfigError when params.yaml [data] no longer matches the schema file ``where``.

    The schema fixes target and task; changing data.target or data.task (other than auto) in
    params.yaml needs a new `mlpipe schema infer`, and data.positive_class must be a class.
    """
    fix = "run `mlpipe schema infer`, review and commit the schema"
    if data.target != schema.target:
        raise ConfigError(
            f"data.target is '{data.target}' but {where} is for target '{schema.target}'; {fix}"
        )
    if data.task != "auto" and data.task != schema.task:
        raise ConfigError(
            f"data.task is {data.task} but {where} says task {schema.task}; {fix}, or set "
            "data.task to auto"
        )
    if data.positive_class is not None:
        classes = [str(c) for c in schema.classes or ()]
        if schema.task != "binary":
            raise ConfigError(
                f"data.positive_class is set but the task is {schema.task}; set it to null"
            )
        if data.positive_class not in classes:
            hint = " (yes/no labels are read as booleans)" if classes == ["False", "True"] else ""
            raise ConfigError(
                f"data.positive_class {data.positive_class!r} is not one of the target's "
                f"classes {classes}{hint}; set it to one of them or to null"
            )


def _order(value: Any) -> tuple[str, Any]:
    """Sort key that never compares values of different types."""
    return (type(value).__name__, value)


def _preview(names: list[Any], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return f"[{shown}{', ...' if len(names) > limit else ''}] ({len(names)} columns)"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _round_up(value: float) -> float:
    return float(f"{math.ceil(value * 1e4) / 1e4:.4f}")


def _round_down(value: float) -> float:
    return float(f"{math.floor(value * 1e4) / 1e4:.4f}")


def schema_to_dict(schema: Schema) -> dict[str, Any]:
    """The YAML-ready mapping for a schema (defaults omitted, stable order)."""
    columns: dict[str, Any] = {}
    for spec in schema.columns:
        entry: dict[str, Any] = {"kind": spec.kind}
        if spec.kind != "id":
            entry["max_missing"] = spec.max_missing
        if spec.kind == "numeric":
            entry["integer"] = spec.integer
        if spec.min is not None:
            entry["min"] = spec.min
        if spec.max is not None:
            entry["max"] = spec.max
        if spec.categories is not None:
            entry["categories"] = list(spec.categories)
            entry["unknown"] = spec.unknown
        if spec.kind == "id" and not spec.unique:
            entry["unique"] = False
        if spec.format is not None:
            entry["format"] = spec.format
        columns[spec.name] = entry
    out: dict[str, Any] = {"version": SCHEMA_VERSION, "target": schema.target, "task": schema.task}
    if schema.classes is not None:
        out["classes"] = list(schema.classes)
    if schema.rows is not None:
        out["rows"] = schema.rows
    out["columns"] = columns
    return out


def dump_schema(schema: Schema) -> str:
    """schema.yaml text with a header telling the reader what it is."""
    header = "".join(
        f"# {line}\n"
        for line in (
            "Data contract enforced by the validate stage. Generated by `mlpipe schema infer`,",
            "then reviewed and edited like code (ranges, integer, categories, missing budgets).",
            "Rules, per column (kind: numeric | categorical | boolean | datetime | id):",
            "  max_missing  largest share of empty values allowed (0.0: not nullable)",
            f"  min, max     numeric range: the observed range widened by {RANGE_TOLERANCE:.0%}",
            "               of its span on each side (never below 0 for data that was never",
            "               negative); values outside fail validation once they exceed",
            "               validate.max_invalid_fraction of the rows (datetime: warn only)",
            "  categories   the values seen; `unknown` is the policy for a value not listed:",
            "               fail (an error beyond validate.max_invalid_fraction of the rows) or",
            f"               warn (inferred when a value was rare, seen < {RARE_COUNT} times,",
            "               so new ones are expected; the model scores them as unknown, like a",
            "               missing value)",
            "  classes      the target's classes (classification); a new class fails validation",
            "  rows         the rows it was inferred from: `mlpipe predict` and `monitor` test a",
            "               batch's missing / invalid counts against the budgets widened for a",
            "               sample of that size (the validate stage applies them exactly)",
            "  unique       id columns: false when values may repeat (by default a repeated id",
            "               fails validation: copies would land in both train and test)",
        )
    )
    if any(spec.format is not None for spec in schema.columns):
        header += "".join(
            f"# {line}\n"
            for line in (
                "  format       datetime columns written as text, not in ISO: how (strftime,",
                "               e.g. '%d/%m/%Y'); batches to score are read the same way",
            )
        )
    body = yaml.safe_dump(
        schema_to_dict(schema), sort_keys=False, default_flow_style=None, width=99
    )
    return header + body


def load_schema(path: str | Path) -> Schema:
    """Parse schema.yaml; raise ConfigError naming the file and key on any problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: schema file not found. Create it with `mlpipe schema infer` and commit it"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return schema_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def schema_from_dict(raw: Any) -> Schema:
    """Build a Schema from its YAML mapping (pure; raises ConfigError)."""
    if not isinstance(raw, dict):
        raise ConfigError("the schema must be a mapping")
    allowed_top = {"version", "target", "task", "classes", "rows", "columns"}
    unknown = sorted(set(raw) - allowed_top)
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}'; allowed: {', '.join(sorted(allowed_top))}")
    if raw.get("version") != SCHEMA_VERSION:
        raise ConfigError(f"'version' must be {SCHEMA_VERSION}, got {raw.get('version')!r}")
    task = raw.get("task")
    if task not in ("binary", "multiclass", "regression"):
        raise ConfigError(f"'task' is {task!r}; allowed values: binary, multiclass, regression")
    columns = raw.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ConfigError("'columns' must be a non-empty mapping of column name to rules")
    specs = []
    fields = {
        "kind",
        "max_missing",
        "integer",
        "min",
        "max",
        "categories",
        "unknown",
        "unique",
        "format",
    }
    for name, rules in columns.items():
        if not isinstance(rules, dict):
            raise ConfigError(f"'columns.{name}' must be a mapping")
        bad = sorted(set(rules) - fields)
        if bad:
            raise ConfigError(
                f"unknown key 'columns.{name}.{bad[0]}'; allowed: {', '.join(sorted(fields))}"
            )
        if rules.get("kind") not in KINDS:
            raise ConfigError(
                f"'columns.{name}.kind' is {rules.get('kind')!r}; allowed values: "
                + ", ".join(KINDS)
            )
        max_missing = rules.get("max_missing", 0.0)
        if not isinstance(max_missing, int | float) or not 0 <= max_missing <= 1:
            raise ConfigError(f"'columns.{name}.max_missing' must be a number in [0, 1]")
        if rules.get("unknown", "fail") not in ("fail", "warn"):
            raise ConfigError(f"'columns.{name}.unknown' must be 'fail' or 'warn'")
        if not isinstance(rules.get("unique", True), bool):
            raise ConfigError(f"'columns.{name}.unique' must be true or false")
        form = rules.get("format")
        if form is not None and (rules["kind"] != "datetime" or not isinstance(form, str)):
            raise ConfigError(
                f"'columns.{name}.format' is for datetime columns: a strftime format such as "
                f"'%d/%m/%Y', got {form!r} on a {rules['kind']} column"
            )
        categories = rules.get("categories")
        specs.append(
            ColumnSpec(
                name=str(name),
                kind=rules["kind"],
                max_missing=float(max_missing),
                integer=bool(rules.get("integer", False)),
                min=rules.get("min"),
                max=rules.get("max"),
                categories=None
                if categories is None
                else tuple(category_value_text(c) for c in categories),
                unknown=rules.get("unknown", "fail"),
                unique=rules.get("unique", True),
                format=form,
            )
        )
    target = raw.get("target")
    if target not in columns:
        raise ConfigError(f"'target' is {target!r}, which is not one of the schema's columns")
    classes = raw.get("classes")
    rows = raw.get("rows")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ConfigError(
            f"'rows' must be a whole number >= 1 (the rows inferred from), got {rows!r}"
        )
    return Schema(
        target=target,
        task=task,
        columns=tuple(specs),
        classes=None if classes is None else tuple(classes),
        rows=rows,
    )
