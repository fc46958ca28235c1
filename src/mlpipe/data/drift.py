"""Data drift between a reference table and a current one, per feature (pure, deterministic).

For every schema column present in both tables (id columns excluded, the target included):

- numeric and datetime columns: population stability index (PSI) over quantile bins of the
  reference (``DriftConfig.bins``, fewer for small tables; missing values form their own bin)
  and the two-sample Kolmogorov-Smirnov test;
- categorical and boolean columns: PSI over the categories (missing and values unseen in the
  reference are categories too) and the chi-square test of homogeneity.

A feature gets the flag ``psi`` when PSI >= ``DriftConfig.psi_threshold`` and ``test`` when the
p-value < ``DriftConfig.p_value_threshold``. It has *drifted* when the shift is both large and
real: the ``psi`` flag, confirmed by the ``test`` flag (or alone when too few rows for a test).
PSI alone is noisy on small tables; a p-value alone flags trivial shifts on large ones.

``compute_drift`` is the entry point the pipeline,
the PR report and the monitoring job share; ``DriftReport.as_dict`` is the JSON form and
``report_from_dict`` reads it back; ``drift_markdown`` renders a report as a markdown table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlpipe.config import DriftConfig
from mlpipe.data.schema import Schema
from mlpipe.errors import MlpipeError
from mlpipe.io import ParquetColumns

# PSI smoothing: every bin gets this many extra rows on both sides (Laplace), so an empty bin
# never gives log(0) and small samples are not flagged for a bin that happens to be empty.
PSI_PSEUDO_COUNT = 0.5
# Numeric PSI uses at most DriftConfig.bins bins, and fewer when the smaller table would have
# fewer than this many present values per bin.
MIN_ROWS_PER_BIN = 20
DECIMALS = 6
MISSING = "(missing)"


class DriftError(MlpipeError):
    """The tables cannot be compared (no rows, no shared columns)."""


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one column: PSI, the test used with its statistic and p-value, and flags.

    ``test`` is "ks", "chi2" or "none" (too few rows, or a constant column); ``statistic`` and
    ``p_value`` are None when no test ran. ``flags`` lists the thresholds crossed: "psi"
    and/or "test".
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

    @property
    def drifted(self) -> bool:
        """Large (PSI) and real (the test agrees, or no test could run)."""
        return "psi" in self.flags and ("test" in self.flags or self.test == "none")


@dataclass(frozen=True)
class DriftReport:
    """Drift of every compared column, in schema order, with the thresholds used."""

    reference_rows: int
    current_rows: int
    psi_threshold: float
    p_value_threshold: float
    features: tuple[FeatureDrift, ...]
    missing_columns: tuple[str, ...] = field(default=())

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the columns that drifted (see FeatureDrift.drifted)."""
        return tuple(f.column for f in self.features if f.drifted)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys; floats rounded to DECIMALS)."""
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "thresholds": {"psi": self.psi_threshold, "p_value": self.p_value_threshold},
            "drifted": list(self.drifted),
            "missing_columns": list(self.missing_columns),
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
            )
            for name, f in raw["features"].items()
        ),
        missing_columns=tuple(raw.get("missing_columns", ())),
    )


def compute_drift(
    reference: pd.DataFrame | ParquetColumns,
    current: pd.DataFrame | ParquetColumns,
    schema: Schema,
    config: DriftConfig,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (see the module docstring).

    Columns of the schema missing from either table are listed in ``missing_columns``; columns
    not in the schema are ignored. Raises DriftError when either table has no rows.
    """
    if reference.empty or current.empty:
        raise DriftError(
            f"cannot compare tables: reference has {len(reference)} rows, current has "
            f"{len(current)}; both need rows"
        )
    features = []
    missing = []
    for spec in schema.columns:
        if spec.kind == "id":
            continue
        if spec.name not in reference.columns or spec.name not in current.columns:
            missing.append(spec.name)
            continue
        kind = spec.kind
        if spec.name == schema.target and schema.task != "regression" and kind == "numeric":
            kind = "categorical"  # class labels that happen to be numbers
        if kind in ("numeric", "datetime"):
            features.append(
                _numeric(spec.name, kind, reference[spec.name], current[spec.name], config)
            )
        else:
            features.append(
                _categorical(spec.name, kind, reference[spec.name], current[spec.name], config)
            )
    return DriftReport(
        reference_rows=len(reference),
        current_rows=len(current),
        psi_threshold=config.psi_threshold,
        p_value_threshold=config.p_value_threshold,
        features=tuple(features),
        missing_columns=tuple(missing),
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
    name: str, kind: str, ref: pd.Series, cur: pd.Series, config: DriftConfig
) -> FeatureDrift:
    r, c = _as_float(ref), _as_float(cur)
    r_present, c_present = r[~np.isnan(r)], c[~np.isnan(c)]
    bins = max(2, min(config.bins, min(len(r_present), len(c_present)) // MIN_ROWS_PER_BIN))
    edges = np.array([])
    if len(r_present):
        edges = np.unique(np.quantile(r_present, np.linspace(0, 1, bins + 1)[1:-1]))

    def counts(values: np.ndarray, present: np.ndarray) -> np.ndarray:
        binned = np.bincount(
            np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1
        )
        return np.append(binned, len(values) - len(present)).astype(float)

    value = psi(counts(r, r_present), counts(c, c_present))
    test, statistic, p_value = "none", None, None
    if min(len(r_present), len(c_present)) >= config.min_rows and (
        np.ptp(r_present) > 0 or np.ptp(c_present) > 0 or r_present[0] != c_present[0]
    ):
        result = stats.ks_2samp(r_present, c_present, method="asymp")
        test, statistic, p_value = "ks", float(result.statistic), float(result.pvalue)
    return _feature(
        name, kind, value, test, statistic, p_value, len(r_present), len(c_present), config
    )


def _categorical(
    name: str, kind: str, ref: pd.Series, cur: pd.Series, config: DriftConfig
) -> FeatureDrift:
    def labels(series: pd.Series) -> pd.Series:
        text = series.astype(object).map(str, na_action="ignore")
        return text.where(series.notna(), MISSING)

    r, c = labels(ref).value_counts(), labels(cur).value_counts()
    keys = sorted(set(r.index) | set(c.index))
    r_counts = np.array([r.get(k, 0) for k in keys], dtype=float)
    c_counts = np.array([c.get(k, 0) for k in keys], dtype=float)
    value = psi(r_counts, c_counts)
    test, statistic, p_value = "none", None, None
    r_present = int(ref.notna().sum())
    c_present = int(cur.notna().sum())
    if min(len(ref), len(cur)) >= config.min_rows and len(keys) >= 2:
        table = np.vstack([r_counts, c_counts])
        result = stats.chi2_contingency(table, correction=False)
        test, statistic, p_value = "chi2", float(result.statistic), float(result.pvalue)
    return _feature(name, kind, value, test, statistic, p_value, r_present, c_present, config)


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
    )


def _round(value: float) -> float:
    return round(float(value), DECIMALS) if math.isfinite(value) else 0.0


def drift_markdown(report: DriftReport) -> str:
    """A markdown summary: a headline, then one row per column, flagged columns first."""
    flagged = report.drifted
    lines = [
        f"**Data drift**: {len(flagged)} of {len(report.features)} columns drifted "
        f"(PSI >= {report.psi_threshold:g} and p-value < {report.p_value_threshold:g}); "
        f"reference {report.reference_rows} rows, current {report.current_rows} rows.",
        "",
        "| column | kind | PSI | test | statistic | p-value | flags | drifted |",
        "| --- | --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    ordered = sorted(report.features, key=lambda f: (not f.drifted, not f.flags, -f.psi, f.column))
    for f in ordered:
        stat = "-" if f.statistic is None else f"{f.statistic:.4f}"
        p = "-" if f.p_value is None else f"{f.p_value:.2e}"
        marks = ", ".join(f.flags) if f.flags else ""
        drifted = "**yes**" if f.drifted else ""
        lines.append(
            f"| {f.column} | {f.kind} | {f.psi:.4f} | {f.test} | {stat} | {p} | {marks} "
            f"| {drifted} |"
        )
    if report.missing_columns:
        lines += ["", "Not compared (missing from a table): " + ", ".join(report.missing_columns)]
    return "\n".join(lines) + "\n"
