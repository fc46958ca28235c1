"""The data contract: schema.yaml, inferred from data once and then reviewed like code.

Format (version 1)::

    version: 1
    target: churned
    task: binary                  # binary | multiclass | regression
    classes: [false, true]        # classification only
    columns:
      tenure_months: {kind: numeric, integer: true, min: 0, max: 79.2, max_missing: 0.0}
      contract: {kind: categorical, categories: [...], unknown: fail, max_missing: 0.0}
      signup_date: {kind: datetime, min: '2019-01-05', max: '2025-01-01', max_missing: 0.0}
      paperless_billing: {kind: boolean, max_missing: 0.0}
      customer_id: {kind: id}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from mlpipe.config import ConfigError

Kind = Literal["numeric", "categorical", "boolean", "datetime", "id"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "id")
TaskName = Literal["binary", "multiclass", "regression"]
SCHEMA_VERSION = 1
# A text column with more distinct values than this is not treated as categorical.
MAX_CATEGORIES = 200


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


@dataclass(frozen=True)
class Schema:
    """The contract for a table: its columns, target and task."""

    target: str
    task: TaskName
    columns: tuple[ColumnSpec, ...]
    classes: tuple[Any, ...] | None = None

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.columns)

    def features(self, kind: str) -> tuple[str, ...]:
        """Names of the non-target columns of one kind, in schema order."""
        return tuple(s.name for s in self.columns if s.kind == kind and s.name != self.target)


def column_kind(series: pd.Series) -> Kind:
    """Classify a column by its dtype (and cardinality for text)."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if series.nunique(dropna=True) > MAX_CATEGORIES:
        return "id"
    return "categorical"


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
    range_tolerance: float = 0.1,
    missing_slack: float = 0.02,
) -> Schema:
    """Infer a schema from a table: kinds, ranges widened by ``range_tolerance`` of the span,
    allowed categories, and a missing-value budget of the observed share + ``missing_slack``."""
    if target not in frame.columns:
        raise ConfigError(
            f"target column '{target}' is not in the data; columns are: {list(frame.columns)}"
        )
    resolved: TaskName = infer_task(frame[target]) if task == "auto" else task  # type: ignore[assignment]
    specs = []
    for name in frame.columns:
        series = frame[name]
        kind: Kind = "id" if name in id_columns else column_kind(series)
        if name == target and kind == "id":
            kind = "categorical"
        missing = float(series.isna().mean())
        budget = 0.0 if missing == 0 else min(1.0, _round_up(missing + missing_slack))
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
                spec["max"] = str(present.max().date())
        elif kind == "categorical":
            spec["categories"] = tuple(sorted(str(v) for v in series.dropna().unique()))
        specs.append(ColumnSpec(**spec))
    classes = None
    if resolved != "regression":
        classes = tuple(sorted(_plain(v) for v in frame[target].dropna().unique()))
    return Schema(target=target, task=resolved, columns=tuple(specs), classes=classes)


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
        columns[spec.name] = entry
    out: dict[str, Any] = {"version": SCHEMA_VERSION, "target": schema.target, "task": schema.task}
    if schema.classes is not None:
        out["classes"] = list(schema.classes)
    out["columns"] = columns
    return out


def dump_schema(schema: Schema) -> str:
    """schema.yaml text with a header telling the reader what it is."""
    header = (
        "# Data contract enforced by the validate stage. Generated by `mlpipe schema infer`,\n"
        "# then reviewed and edited like code (ranges, categories, missing budgets).\n"
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
    allowed_top = {"version", "target", "task", "classes", "columns"}
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
    fields = {"kind", "max_missing", "integer", "min", "max", "categories", "unknown"}
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
        categories = rules.get("categories")
        specs.append(
            ColumnSpec(
                name=str(name),
                kind=rules["kind"],
                max_missing=float(max_missing),
                integer=bool(rules.get("integer", False)),
                min=rules.get("min"),
                max=rules.get("max"),
                categories=None if categories is None else tuple(str(c) for c in categories),
                unknown=rules.get("unknown", "fail"),
            )
        )
    target = raw.get("target")
    if target not in columns:
        raise ConfigError(f"'target' is {target!r}, which is not one of the schema's columns")
    classes = raw.get("classes")
    return Schema(
        target=target,
        task=task,
        columns=tuple(specs),
        classes=None if classes is None else tuple(classes),
    )
