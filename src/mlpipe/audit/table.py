"""The whole audit of one table, as the audit stage runs it (pure: frames in, report out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.audit.findings import TOP_ROWS, leakage_message, power_words
from mlpipe.audit.labels import (
    MODEL,
    LabelIssues,
    find_issues,
    issue_table,
    out_of_fold_proba,
    source_rows,
)
from mlpipe.audit.leakage import POWER_METRIC, feature_powers
from mlpipe.config import AuditConfig, DataConfig
from mlpipe.data.schema import Schema
from mlpipe.model.features import FeatureSpec, feature_spec, model_frame
from mlpipe.model.train import target_values


@dataclass(frozen=True)
class Audit:
    """The report (JSON-ready), the label-issues table (all listed rows, worst first) and the
    warnings to log."""

    report: dict[str, Any]
    label_issues: pd.DataFrame
    warnings: tuple[str, ...]


def sample_positions(total: int, rows: int, seed: int) -> np.ndarray:
    """Ascending positions of at most ``rows`` of ``total`` rows, drawn with ``seed`` (all of
    them when the table is not larger)."""
    if total <= rows:
        return np.arange(total, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=rows, replace=False)).astype(np.int64)


def leakage_section(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    target: str,
    task: str,
    config: AuditConfig,
    excluded: Sequence[str] = (),
) -> dict[str, Any]:
    """The leakage half of the report: every feature's power alone, the flagged ones (power
    >= ``config.max_feature_power``) with their warning, and the excluded columns.

    ``frame`` holds the features and the target (every row labelled), already sampled."""
    powers = feature_powers(
        model_frame(frame, spec),
        spec,
        target_values(frame, target, task),
        task,
        folds=config.folds,
        bins=config.bins,
        seed=config.seed,
    )
    metric = POWER_METRIC[task]
    threshold = config.max_feature_power
    return {
        "metric": metric,
        "max_feature_power": threshold,
        "features": [{"column": p.column, "kind": p.kind, "power": p.power} for p in powers],
        "flagged": [
            {
                "column": p.column,
                "power": p.power,
                "message": leakage_message(p.column, p.power, metric, target, threshold),
            }
            for p in powers
            if p.power >= threshold
        ],
        "excluded": list(excluded),
    }


def audit_table(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    target: str,
    task: str,
    classes: Sequence[Any] | None,
    config: AuditConfig,
    *,
    positions: np.ndarray,
    total_rows: int,
    id_columns: Sequence[str] = (),
    excluded: Sequence[str] = (),
    sources: np.ndarray | None = None,
) -> Audit:
    """Audit ``frame``: the rows at ``positions`` (ascending) of the ingested table of
    ``total_rows`` rows, with the features of ``spec``, the target and ``id_columns``.
    ``sources`` is each ingested row's source row (None: the same number; see
    ``labels.source_rows``).

    ``classes`` are the schema's classes (classification) or None (regression: no label
    issues, see docs/limits.md).
    """
    leakage = leakage_section(frame, spec, target, task, config, excluded)
    issues, label_report = _label_issues(frame, spec, target, task, classes, config)
    table = issue_table(
        issues, source_rows(positions, sources), frame[list(id_columns)].reset_index(drop=True)
    )
    label_report["top"] = _top_rows(table)
    report = {
        "target": target,
        "task": task,
        "rows": total_rows,
        "audited_rows": len(frame),
        "folds": config.folds,
        "seed": config.seed,
        "leakage": leakage,
        "label_issues": label_report,
    }
    return Audit(report, table, tuple(f["message"] for f in leakage["flagged"]))


def _label_issues(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    target: str,
    task: str,
    classes: Sequence[Any] | None,
    config: AuditConfig,
) -> tuple[LabelIssues, dict[str, Any]]:
    none = LabelIssues(np.zeros(0, np.int64), (), (), np.zeros(0))
    if task == "regression" or not classes:
        return none, {
            "computed": False,
            "reason": "a regression target (label issues are found for classification only)",
        }
    names = [str(c) for c in classes]
    index = {name: i for i, name in enumerate(names)}
    labels = target_values(frame, target, task)
    codes = labels.map(index).to_numpy(dtype=np.int64)  # validate refuses a class not listed
    counts = np.bincount(codes, minlength=len(names))
    present = counts > 0
    rarest = int(counts[present].min())
    if present.sum() < 2 or rarest < config.folds:
        rare = names[int(np.flatnonzero(present)[np.argmin(counts[present])])]
        return none, {
            "computed": False,
            "reason": (
                f"class '{rare}' has {rarest} audited rows, fewer than audit.folds "
                f"({config.folds}), so its labels cannot be checked out of fold"
                if present.sum() >= 2
                else "the audited rows hold one class"
            ),
        }
    # cleanlab needs classes 0 .. K - 1 that all occur: keep the present ones, in order
    kept = np.flatnonzero(present)
    remap = np.full(len(names), -1)
    remap[kept] = np.arange(len(kept))
    labels_kept = remap[codes]
    proba = out_of_fold_proba(
        frame, spec, labels_kept, len(kept), folds=config.folds, seed=config.seed
    )
    issues = find_issues(labels_kept, proba, [names[i] for i in kept])
    return issues, {
        "computed": True,
        "model": f"{MODEL}, out of fold ({config.folds} folds), then cleanlab find_label_issues",
        "checked_rows": len(frame),
        "count": len(issues.positions),
        "share": round(len(issues.positions) / len(frame), 6) if len(frame) else 0.0,
    }


def _top_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The first ``TOP_ROWS`` rows of the label-issues table as JSON records."""
    own = ("row", "given_label", "suggested_label", "label_quality")
    ids = [c for c in table.columns if c not in own]
    out = []
    for record in table.head(TOP_ROWS).to_dict("records"):
        out.append(
            {
                "row": int(record["row"]),
                "ids": {c: _plain(record[c]) for c in ids},
                "given": record["given_label"],
                "suggested": record["suggested_label"],
                "quality": float(record["label_quality"]),
            }
        )
    return out


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | bool) else str(value)


def leakage_lines(
    frame: pd.DataFrame, schema: Schema, data: DataConfig, config: AuditConfig
) -> list[str]:
    """The audit stage's leakage check on the table, before any training: a warning per
    column that alone predicts the target at or above ``audit.max_feature_power``, or one line
    saying none does (with the strongest feature). Rows without a target (ingest sets them
    aside) are left out, as the audit stage, which reads the ingested table, never sees them."""
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    frame = frame[frame[schema.target].notna().to_numpy()]
    rows = sample_positions(len(frame), config.max_rows, config.seed)
    sample = frame.iloc[rows].reset_index(drop=True)
    leakage = leakage_section(sample, spec, schema.target, schema.task, config)
    if leakage["flagged"]:
        return [f["message"] for f in leakage["flagged"]]
    strongest = leakage["features"][0]
    return [
        f"no target leakage found: no feature alone reaches {power_words(leakage['metric'])} "
        f"{config.max_feature_power:g} (strongest: '{strongest['column']}', "
        f"{strongest['power']:.4f}; on {len(sample):,} rows)"
    ]
