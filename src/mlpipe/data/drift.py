"""Data drift between a reference table and a current one, per feature (pure, deterministic).

Every schema column the model reads, and the target, is compared. Columns that change by
design and that the model does not read are *not compared* (``DriftReport.not_compared`` says
why, see ``changing_by_design``): ``data.date_column``, id columns (schema ``kind: id`` or
``data.id_columns``) and other datetime columns (no datetime column is a model feature unless
a ``data.*_features`` list names it). A newer batch has later dates and new ids by design, so
comparing them would flag every batch. Each compared column must be in both tables, except the
target, which an unlabelled table may lack (``missing_columns``): any other absent column is a
DriftError naming it (a wrong file, or the schema of other data).

- numeric and datetime columns: population stability index (PSI) over quantile bins of the
  reference and the two-sample Kolmogorov-Smirnov test. ``DriftConfig.bins`` bins at most:
  fewer when the smaller table has fewer than MIN_ROWS_PER_BIN present values per bin
  (``min(bins, present // 20)``, at least 2), or when reference quantiles tie; missing values
  form their own bin. ``FeatureDrift.bins`` records the bins used;
- categorical and boolean columns: PSI over the categories (missing and values unseen in the
  reference are categories too) and the chi-square test of homogeneity. A boolean column that
  holds text (a table normalised without the schema) is compared by its yes/no values read as
  True/False, so `Yes` and True are the same category; other text stays a category of its own.

A feature gets the flag ``psi`` when PSI >= ``DriftConfig.psi_threshold`` and ``test`` when the
p-value < ``DriftConfig.p_value_threshold``. It has *drifted* when the shift is both large and
real: the ``psi`` flag, confirmed by the ``test`` flag. PSI alone is noisy on small tables; a
p-value alone flags trivial shifts on large ones. A column with fewer than
``DriftConfig.min_rows`` present (non-missing) values on either side is *not tested*
(``FeatureDrift.not_tested`` says why): it has a PSI but can never count as drifted, since
that is where PSI is noisiest. (The chi-square test, when it runs, still counts missing values
as a category.)

The target is the exception: a missing label is a row not labelled yet (labels often arrive
after the scores), not a class and not a value, so the target is compared on its labelled rows
only, on both sides (``FeatureDrift.reference_rows`` / ``current_rows`` count them).

``compute_drift`` is the entry point the pipeline,
the PR report and the monitoring job share; ``DriftReport.as_dict`` is the JSON form and
``report_from_dict`` reads it back; ``drift_markdown`` renders a report as a markdown table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import DataConfig, DriftConfig
from mlpipe.data.ingest import yes_no
from mlpipe.data.schema import Schema, category_value_text, feature_columns
from mlpipe.errors import MlpipeError
from mlpipe.io import ParquetColumns
from mlpipe.markdown_escape import CELL_LIMIT, md, md_text, shortened

# PSI smoothing: every bin gets this many extra rows on both sides (Laplace), so an empty bin
# never gives log(0) and small samples are not flagged for a bin that happens to be empty.
PSI_PSEUDO_COUNT = 0.5
# Numeric PSI uses at most DriftConfig.bins bins, and fewer when the smaller table would have
# fewer than this many present values per bin.
MIN_ROWS_PER_BIN = 20
DECIMALS = 6
MISSING = "(missing)"


class DriftError(MlpipeError):
    """The tables cannot be compared (no rows, schema columns missing from a table)."""


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column: PSI, the test used with its statistic and p-value, and flags.

    ``test`` is "ks", "chi2" or "none" (not tested); ``statistic`` and ``p_value`` are None
    when no test ran, and ``not_tested`` then says why (e.g. "current: 10 present values <
    drift.min_rows 30"; empty when tested). ``flags`` lists the thresholds crossed: "psi"
    and/or "test". ``bins``: the quantile bins of present values the PSI of a numeric or
    datetime column used (missing values are one more bin); None for categories.
    """

    column: str
    kind: str
    psi: float
    test: str
    statistic: float | None
    p_value: float | None
    reference_rows: int
    current_rows: int
    flags: tuple[str, ...] = ()
    not_tested: str = ""
    bins: int | None = None

    @property
    def drifted(self) -> bool:
        """Large (PSI) and real (the test agrees); never when not tested."""
        return "psi" in self.flags and "test" in self.flags


@dataclass(frozen=True)
class DriftReport:
    """Drift of every compared column, in schema order, with the thresholds used."""

    reference_rows: int
    current_rows: int
    psi_threshold: float
    p_value_threshold: float
    features: tuple[FeatureDrift, ...]
    missing_columns: tuple[str, ...] = field(default=())
    not_compared: tuple[tuple[str, str], ...] = field(default=())
    """(column, why) of the columns left out by design (see ``changing_by_design``)."""
    bins: int | None = None
    """``DriftConfig.bins``: at most this many quantile bins per numeric column (None: unknown,
    a report written before it was recorded)."""

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the columns that drifted (see FeatureDrift.drifted)."""
        return tuple(f.column for f in self.features if f.drifted)

    @property
    def not_tested(self) -> tuple[str, ...]:
        """Names of the columns with too few values for the test (never drifted)."""
        return tuple(f.column for f in self.features if f.not_tested)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys; floats rounded to DECIMALS)."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "thresholds": {"psi": self.psi_threshold, "p_value": self.p_value_threshold},
            "bins": self.bins,
            "drifted": list(self.drifted),
            "not_tested": list(self.not_tested),
            "missing_columns": list(self.missing_columns),
            "not_compared": dict(self.not_compared),
            "features": {
                f.column: {
                    "kind": f.kind,
                    "psi": f.psi,
                    "test": f.test,
                    "statistic": f.statistic,
                    "p_value": f.p_value,
                    "reference_rows": f.reference_rows,
                    "current_rows": f.current_rows,
                    "flags": list(f.flags),
                    "not_tested": f.not_tested or None,
                    "bins": f.bins,
                }
                for f in self.features
            },
        }


def report_from_dict(raw: dict[str, Any]) -> DriftReport:
    """Read back the JSON form written from ``DriftReport.as_dict`` (e.g. from another commit)."""
    return DriftReport(
        reference_rows=int(raw["reference_rows"]),
        current_rows=int(raw["current_rows"]),
        psi_threshold=float(raw["thresholds"]["psi"]),
        p_value_threshold=float(raw["thresholds"]["p_value"]),
        features=tuple(
            FeatureDrift(
                column=name,
                kind=f["kind"],
                psi=float(f["psi"]),
                test=f["test"],
                statistic=f["statistic"],
                p_value=f["p_value"],
                reference_rows=int(f["reference_rows"]),
                current_rows=int(f["current_rows"]),
                flags=tuple(f["flags"]),
                not_tested=f.get("not_tested") or _untested_before(f["test"]),
                bins=f.get("bins"),
            )
            for name, f in raw["features"].items()
        ),
        missing_columns=tuple(raw.get("missing_columns", ())),
        not_compared=tuple((raw.get("not_compared") or {}).items()),
        bins=raw.get("bins"),
    )


def _untested_before(test: str) -> str:
    """A report written before ``not_tested`` existed: "none" meant no test ran."""
    return "no test ran" if test == "none" else ""


def changing_by_design(schema: Schema, data: DataConfig) -> dict[str, str]:
    """Columns not compared for drift, in schema order, each with the reason.

    ``data.date_column``, id columns (schema ``kind: id`` or ``data.id_columns``) and datetime
    columns change by design from one batch to the next (later dates, new ids), and the model
    does not read them. A column the model does read stays compared: one named in a
    ``data.*_features`` list, or, for a kind without such a list, a numeric, categorical or
    boolean schema column (``feature_columns``, the roles the model is built with). The target
    is always compared. A column in ``data.exclude_columns`` is not a feature either: not
    compared.
    """
    roles = feature_columns(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        data.exclude_columns,
    )
    read = {name for names in roles.values() for name in names}
    out = {}
    for spec in schema.columns:
        if spec.name == schema.target or spec.name in read:
            continue
        if spec.name in data.exclude_columns:
            out[spec.name] = "left out of the features (data.exclude_columns)"
        elif spec.name == data.date_column:
            out[spec.name] = "date column: changes by design"
        elif spec.kind == "id" or spec.name in data.id_columns:
            out[spec.name] = "id column: changes by design"
        elif spec.kind == "datetime":
            out[spec.name] = "datetime column: changes by design, not a model feature"
    return out


@dataclass(frozen=True)
class DriftColumn:
    """How one column is compared: ``kind`` as reported (numeric, datetime, categorical,
    boolean); ``numeric``: by the distribution of its numbers (numeric and datetime columns),
    else by its categories; ``labelled``: the target, whose missing values are rows not
    labelled yet (left out) rather than a category or a missing value."""

    name: str
    kind: str
    numeric: bool
    labelled: bool = False


@dataclass(frozen=True)
class DriftPlan:
    """The columns compared (in schema order, each in both tables), the target when a table
    lacks it (``missing``), and the columns left out by design with the reason."""

    columns: tuple[DriftColumn, ...]
    missing: tuple[str, ...]
    not_compared: tuple[tuple[str, str], ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class ColumnCounts:
    """The exact distribution of one column over some rows: the partial result of a chunk.

    ``values``: the distinct present values, sorted (float64 for a numeric comparison: dates
    as seconds; the category texts, with ``MISSING`` for missing values, for a categorical
    one), ``counts`` how many rows hold each. ``present``: rows with a value; ``rows``: rows
    counted (for the target: the labelled ones). Two chunks' counts merge exactly
    (``merge_column_counts``), so the counts of a table do not depend on how it was cut.
    """

    values: np.ndarray
    counts: np.ndarray
    present: int
    rows: int


def drift_plan(
    reference: pd.DataFrame | ParquetColumns,
    current: pd.DataFrame | ParquetColumns,
    schema: Schema,
    names: tuple[str, str] = ("reference", "current"),
    data: DataConfig | None = None,
) -> DriftPlan:
    """Which columns ``compute_drift`` compares and how (see the module docstring).

    Reads only the tables' lengths and column names. Raises DriftError when either table has
    no rows, or lacks a compared column other than the target.
    """
    if reference.empty or current.empty:
        raise DriftError(
            f"cannot compare tables: {names[0]} has {len(reference)} rows, {names[1]} has "
            f"{len(current)}; both need rows"
        )
    by_design = changing_by_design(schema, data if data is not None else DataConfig())
    compared = [spec.name for spec in schema.columns if spec.name not in by_design]
    _check_columns(compared, schema.target, (reference, current), names)
    columns, missing = [], []
    for spec in schema.columns:
        if spec.name in by_design:
            continue
        if spec.name not in reference.columns or spec.name not in current.columns:
            missing.append(spec.name)  # the target of unlabelled data (see _check_columns)
            continue
        kind = spec.kind
        target = spec.name == schema.target
        if target and schema.task != "regression" and kind == "numeric":
            kind = "categorical"  # class labels that happen to be numbers
        columns.append(DriftColumn(spec.name, kind, kind in ("numeric", "datetime"), target))
    return DriftPlan(tuple(columns), tuple(missing), tuple(by_design.items()))


def column_counts(series: pd.Series, column: DriftColumn) -> ColumnCounts:
    """The ``ColumnCounts`` of ``series`` (a chunk of the column ``column``)."""
    if column.labelled:
        series = series.dropna()  # rows not labelled yet: no class, no value
    if column.numeric:
        values = _as_float(series)
        present = values[~np.isnan(values)]
        distinct, counts = np.unique(present, return_counts=True)
        return ColumnCounts(distinct, counts.astype(np.int64), len(present), len(values))
    if column.kind == "boolean":
        series = _as_boolean(series)
    text = series.astype(object).map(category_value_text, na_action="ignore")
    labels = text.where(series.notna(), MISSING).to_numpy(dtype=object)
    distinct, counts = np.unique(labels, return_counts=True)
    return ColumnCounts(distinct, counts.astype(np.int64), int(series.notna().sum()), len(series))


def merge_column_counts(a: ColumnCounts, b: ColumnCounts) -> ColumnCounts:
    """The counts of the rows of ``a`` and ``b`` together (exact, in either order)."""
    if not len(a.values) or not len(b.values):
        values, counts = (b.values, b.counts) if not len(a.values) else (a.values, a.counts)
    else:
        distinct, inverse = np.unique(np.concatenate([a.values, b.values]), return_inverse=True)
        counts = np.zeros(len(distinct), dtype=np.int64)
        np.add.at(counts, inverse, np.concatenate([a.counts, b.counts]))
        values = distinct
    return ColumnCounts(values, counts, a.present + b.present, a.rows + b.rows)


def drift_counts(frame: pd.DataFrame, plan: DriftPlan) -> dict[str, ColumnCounts]:
    """The chunk function of the drift stage: ``ColumnCounts`` of each of ``plan``'s columns
    that ``frame`` holds (a chunk of rows of a table, or some of its columns)."""
    return {c.name: column_counts(frame[c.name], c) for c in plan.columns if c.name in frame}


def merge_drift_counts(
    a: dict[str, ColumnCounts], b: dict[str, ColumnCounts]
) -> dict[str, ColumnCounts]:
    """The merge of the drift stage: the counts of two chunks' rows together, per column."""
    out = dict(a)
    for name, counts in b.items():
        out[name] = merge_column_counts(out[name], counts) if name in out else counts
    return out


def table_counts(table: pd.DataFrame | ParquetColumns, plan: DriftPlan) -> dict[str, ColumnCounts]:
    """``drift_counts`` of a whole table, one column at a time (a ``ParquetColumns`` table
    reads a block of columns at a time)."""
    return {c.name: column_counts(table[c.name], c) for c in plan.columns}


def drift_report(
    plan: DriftPlan,
    reference: dict[str, ColumnCounts],
    current: dict[str, ColumnCounts],
    rows: tuple[int, int],
    config: DriftConfig,
) -> DriftReport:
    """The report from the two tables' counts (``rows``: their row counts)."""
    return DriftReport(
        reference_rows=rows[0],
        current_rows=rows[1],
        psi_threshold=config.psi_threshold,
        p_value_threshold=config.p_value_threshold,
        features=tuple(
            feature_drift(c, reference[c.name], current[c.name], config) for c in plan.columns
        ),
        missing_columns=plan.missing,
        not_compared=plan.not_compared,
        bins=config.bins,
    )


def feature_drift(
    column: DriftColumn, ref: ColumnCounts, cur: ColumnCounts, config: DriftConfig
) -> FeatureDrift:
    """The drift of one column from its counts on both sides."""
    if column.numeric:
        return _numeric(column.name, column.kind, ref, cur, config)
    return _categorical(column.name, column.kind, ref, cur, config)


def compute_drift(
    reference: pd.DataFrame | ParquetColumns,
    current: pd.DataFrame | ParquetColumns,
    schema: Schema,
    config: DriftConfig,
    names: tuple[str, str] = ("reference", "current"),
    data: DataConfig | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (see the module docstring).

    ``names`` (e.g. the two file paths) name the tables in error messages. ``data`` (params.yaml
    ``data:``; default: no date column, no id columns besides the schema's, the schema's kinds)
    says which columns change by design and are not compared (``changing_by_design``). The
    target, when absent from a table (unlabelled data), is listed in ``missing_columns``;
    columns not in the schema are ignored. Raises DriftError when either table has no rows, or
    when a table lacks any other compared column of the schema.
    """
    plan = drift_plan(reference, current, schema, names, data)
    features = []
    for column in plan.columns:  # one column of each table in memory at a time
        ref = column_counts(reference[column.name], column)
        cur = column_counts(current[column.name], column)
        features.append(feature_drift(column, ref, cur, config))
    return DriftReport(
        reference_rows=len(reference),
        current_rows=len(current),
        psi_threshold=config.psi_threshold,
        p_value_threshold=config.p_value_threshold,
        features=tuple(features),
        missing_columns=plan.missing,
        not_compared=plan.not_compared,
        bins=config.bins,
    )


def _check_columns(
    compared: list[str],
    target: str,
    tables: tuple[pd.DataFrame | ParquetColumns, ...],
    names: tuple[str, str],
) -> None:
    """Raise DriftError naming every schema column but the target that a table lacks."""
    problems = []
    for table, name in zip(tables, names, strict=True):
        absent = [c for c in compared if c != target and c not in table.columns]
        if absent:
            shown = ", ".join(absent[:10]) + (
                f" and {len(absent) - 10} more" if len(absent) > 10 else ""
            )
            problems.append(
                f"{name} lacks {len(absent)} of the {len(compared)} columns of the schema "
                f"({shown})"
            )
    if problems:
        raise DriftError(
            "; ".join(problems)
            + ": is it the right file? Both tables need every column of the schema (only the "
            "target may be absent); for other data pass its schema with --schema. Nothing written"
        )


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins.

    sum((a - e) * ln(a / e)) over the bins' shares, after adding PSI_PSEUDO_COUNT to every
    count of both vectors.
    """
    e = expected + PSI_PSEUDO_COUNT
    a = actual + PSI_PSEUDO_COUNT
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def _as_float(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("datetime64[s]").astype("int64").astype(float)
        return np.where(series.isna().to_numpy(), np.nan, values)
    if pd.api.types.is_bool_dtype(series):
        return series.astype("Float64").astype(float).to_numpy()
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def _numeric(
    name: str, kind: str, ref: ColumnCounts, cur: ColumnCounts, config: DriftConfig
) -> FeatureDrift:
    # Quantiles and KS from the sorted distinct values and their counts: the same floats as
    # numpy and scipy give on the rows, without rebuilding the rows (memory: distinct values).
    bins = max(2, min(config.bins, min(ref.present, cur.present) // MIN_ROWS_PER_BIN))
    edges = np.array([])
    if ref.present:
        edges = np.unique(quantiles_of_counts(ref, np.linspace(0, 1, bins + 1)[1:-1]))

    def counts(side: ColumnCounts) -> np.ndarray:
        binned = np.bincount(
            np.searchsorted(edges, side.values, side="right"),
            weights=side.counts,
            minlength=len(edges) + 1,
        )
        return np.append(binned, side.rows - side.present).astype(float)

    value = psi(counts(ref), counts(cur))
    test, statistic, p_value = "none", None, None
    untested = _too_few("present values", ref.present, cur.present, config.min_rows)
    if not untested:  # a constant column, the same on both sides, gives statistic 0, p-value 1
        test = "ks"
        statistic, p_value = ks_of_counts(ref, cur)
    feature = _feature(
        name, kind, value, test, statistic, p_value, ref.present, cur.present, config, untested
    )
    return replace(feature, bins=len(edges) + 1)


def quantiles_of_counts(side: ColumnCounts, q: np.ndarray) -> np.ndarray:
    """``np.quantile`` (method ``linear``) of the present values ``side`` counts, at ``q``.

    numpy's own steps: the virtual index ``(n - 1) * q``, its neighbours clipped to the ends,
    and numpy's lerp; each neighbour read off the cumulative counts instead of a sorted array
    of ``n`` values.
    """
    n = int(side.counts.sum())
    q = np.asarray(q, dtype=np.float64)
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    above, below = virtual >= n - 1, virtual < 0
    previous[above], following[above] = -1, -1
    previous[below], following[below] = 0, 0
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    ends = np.cumsum(side.counts)

    def at(position: np.ndarray) -> np.ndarray:
        position = np.where(position < 0, n + position, position)
        return side.values[np.searchsorted(ends, position, side="right")]

    a, b = at(previous), at(following)
    gamma = virtual - previous
    step = b - a
    return np.where(gamma >= 0.5, b - step * (1 - gamma), a + step * gamma)


def ks_of_counts(ref: ColumnCounts, cur: ColumnCounts) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic and p-value (``scipy.stats.ks_2samp``,
    two-sided, ``method="asymp"``) of the values the two sides count.

    The empirical CDFs are step functions of the value: evaluated at the distinct values of
    both sides (the cumulative counts / the row counts), their largest gap is scipy's
    statistic; the p-value is scipy's Smirnov distribution at it.
    """
    from scipy import stats  # imported when used: ~1 s of start-up

    values = np.union1d(ref.values, cur.values)

    def cdf(side: ColumnCounts) -> np.ndarray:
        below = np.concatenate([[0], np.cumsum(side.counts)])
        return below[np.searchsorted(side.values, values, side="right")] / int(side.present)

    gaps = cdf(ref) - cdf(cur)
    lowest, highest = np.clip(-gaps.min(), 0, 1), gaps.max()
    statistic = lowest if lowest > highest else highest
    m, n = sorted([float(ref.present), float(cur.present)], reverse=True)
    p_value = np.clip(stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1)
    return float(statistic), float(p_value)


def _as_boolean(series: pd.Series) -> pd.Series:
    """A boolean column's values with yes/no text as True/False (other values unchanged)."""
    if isinstance(series.dtype, pd.StringDtype):
        text = series
    elif pd.api.types.is_object_dtype(series):  # mixed: only the str values can be yes/no
        text = series.map(lambda v: v if isinstance(v, str) else None)
    else:
        return series
    flags = yes_no(text)
    return series.astype(object).where(flags.isna(), flags.astype(object))


def _categorical(
    name: str, kind: str, ref: ColumnCounts, cur: ColumnCounts, config: DriftConfig
) -> FeatureDrift:
    r = dict(zip(ref.values.tolist(), ref.counts.tolist(), strict=True))
    c = dict(zip(cur.values.tolist(), cur.counts.tolist(), strict=True))
    keys = sorted(set(r) | set(c))
    r_counts = np.array([r.get(k, 0) for k in keys], dtype=float)
    c_counts = np.array([c.get(k, 0) for k in keys], dtype=float)
    value = psi(r_counts, c_counts)
    test, statistic, p_value = "none", None, None
    # as for numeric columns, present values decide whether the test runs (an all-empty column
    # is never tested); the test itself keeps missing as a category
    untested = _too_few("present values", ref.present, cur.present, config.min_rows)
    if not untested:  # a single category on both sides gives statistic 0, p-value 1
        table = np.vstack([r_counts, c_counts])
        from scipy import stats  # imported when used: ~1 s of start-up

        result = stats.chi2_contingency(table, correction=False)
        test, statistic, p_value = "chi2", float(result.statistic), float(result.pvalue)
    return _feature(
        name, kind, value, test, statistic, p_value, ref.present, cur.present, config, untested
    )


def _too_few(unit: str, reference: int, current: int, min_rows: int) -> str:
    """Why a column is not tested ("current: 10 rows < drift.min_rows 30"), or ""."""
    sides = [
        f"{side}: {n} {unit}"
        for side, n in (("reference", reference), ("current", current))
        if n < min_rows
    ]
    return f"{', '.join(sides)} < drift.min_rows {min_rows}" if sides else ""


def _feature(
    name: str,
    kind: str,
    value: float,
    test: str,
    statistic: float | None,
    p_value: float | None,
    ref_rows: int,
    cur_rows: int,
    config: DriftConfig,
    not_tested: str = "",
) -> FeatureDrift:
    flags = []
    if value >= config.psi_threshold:
        flags.append("psi")
    if p_value is not None and p_value < config.p_value_threshold:
        flags.append("test")
    return FeatureDrift(
        column=name,
        kind=kind,
        psi=_round(value),
        test=test,
        statistic=None if statistic is None else _round(statistic),
        p_value=None if p_value is None else _round(p_value),
        reference_rows=ref_rows,
        current_rows=cur_rows,
        flags=tuple(flags),
        not_tested=not_tested,
    )


def _round(value: float) -> float:
    return round(float(value), DECIMALS) if math.isfinite(value) else 0.0


def drift_markdown(report: DriftReport) -> str:
    """A markdown summary: a headline, then one row per column, flagged columns first.

    Column names are written through ``mlpipe.markdown_escape`` (a name can hold any text);
    one longer than ``CELL_LIMIT`` characters is shortened, and a line says so."""
    flagged = report.drifted
    lines = [
        f"**Data drift**: {len(flagged)} of {len(report.features)} columns drifted "
        f"(PSI >= {report.psi_threshold:g} and p-value < {report.p_value_threshold:g}); "
        f"reference {report.reference_rows} rows, current {report.current_rows} rows.",
        "",
    ]
    untested = report.not_tested
    if untested:
        lines += [
            f"**{len(untested)} of {len(report.features)} columns not tested**: too few rows "
            "for the KS / chi-square test (see the test column), so they are never counted as "
            "drifted and their PSI is noise-prone; compare a larger table to judge them.",
            "",
        ]
    lines += [
        "| column | kind | PSI | test | statistic | p-value | flags | drifted |",
        "| --- | --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    ordered = sorted(report.features, key=lambda f: (not f.drifted, not f.flags, -f.psi, f.column))
    for f in ordered:
        stat = "-" if f.statistic is None else f"{f.statistic:.4f}"
        p = "-" if f.p_value is None else f"{f.p_value:.2e}"
        marks = ", ".join(f.flags) if f.flags else ""
        drifted = "**yes**" if f.drifted else ""
        test = f"not tested ({md_text(f.not_tested)})" if f.not_tested else md(f.test)
        lines.append(
            f"| {md(f.column)} | {md(f.kind)} | {f.psi:.4f} | {test} | {stat} | {p} | {marks} "
            f"| {drifted} |"
        )
    coarse = [f for f in report.features if f.bins is not None and f.bins < (report.bins or 0)]
    if coarse:
        lines += [
            "",
            f"PSI over fewer than drift.bins {report.bins} quantile bins (the smaller table has "
            f"fewer than {MIN_ROWS_PER_BIN} present values per bin, or the reference's values "
            "tie): " + ", ".join(f"{md(f.column)} {f.bins}" for f in coarse),
        ]
    if report.missing_columns:
        lines += [
            "",
            "Not compared (the target, absent from a table: unlabelled data): "
            + ", ".join(md(c) for c in report.missing_columns),
        ]
    if report.not_compared:
        lines += [
            "",
            "Not compared (the model does not read them): "
            + ", ".join(f"{md(column)} ({md_text(why)})" for column, why in report.not_compared),
        ]
    names = [f.column for f in report.features] + list(report.missing_columns)
    names += [column for column, _ in report.not_compared]
    if any(shortened(name) for name in names):
        lines += [
            "",
            f"Column names longer than {CELL_LIMIT} characters are shortened here (ending in "
            "…); the JSON drift report holds them in full.",
        ]
    return "\n".join(lines) + "\n"
