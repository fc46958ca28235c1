"""What the audit found, in words: shared by the audit stage's log, `mlpipe init`, the gate,
the model card and the PR comment (pure; no scikit-learn, cheap to import; the markdown is in
``mlpipe.audit.markdown``).

The audit report (paths.audit, JSON) holds, under ``leakage``, every feature's power alone and
the ``flagged`` ones (power >= ``max_feature_power``), and under ``label_issues`` the count,
the share of the checked rows and the ``top`` rows of the label-issues table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The one params key that leaves a column out of the features.
FIX_KEY = "data.exclude_columns"
# A test metric at or above this is "too good to be true" (AUC or r2).
TOO_GOOD = 0.99
TOO_GOOD_METRICS = ("roc_auc", "roc_auc_ovr_macro", "r2")
# Label-issue rows shown in the report, the card and the PR comment (the CSV has them all).
TOP_ROWS = 10
# Features named by the "too good to be true" note.
TOP_FEATURES = 3

_METRIC_WORDS = {
    "gini": "gini (2 AUC - 1)",
    "r2": "r2 on the target's ranks",
}


def power_words(metric: str) -> str:
    """How a power is named in sentences: 'gini (2 AUC - 1)', 'r2 on the target's ranks'."""
    return _METRIC_WORDS.get(metric, metric)


def leakage_message(column: str, power: float, metric: str, target: str, threshold: float) -> str:
    """The warning for one flagged column (plain text: logs, `mlpipe init`, the gate)."""
    return (
        f"possible target leakage: column '{column}' alone predicts '{target}' with "
        f"{power_words(metric)} {power:.4f} (audit.max_feature_power: {threshold:g}). A column "
        "this strong is usually computed from the target or recorded after it, and the "
        "model's metrics then mean nothing for new data. If it is one, leave it out of the "
        f"features: add '{column}' to {FIX_KEY} in params.yaml"
    )


def flagged(audit: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The flagged columns of an audit report ({"column", "power"} each), strongest first."""
    if not audit:
        return []
    return list((audit.get("leakage") or {}).get("flagged") or [])


def too_good(
    test_metrics: Mapping[str, float] | None,
    importance: Sequence[Mapping[str, Any]] | None,
) -> tuple[str, float, list[str]] | None:
    """(metric, value, most important features) when a test AUC or r2 reaches ``TOO_GOOD``,
    else None. ``importance`` is the permutation-importance records (strongest first)."""
    for name in TOO_GOOD_METRICS:
        value = (test_metrics or {}).get(name)
        if value is not None and value >= TOO_GOOD:
            features = [str(r["feature"]) for r in (importance or [])[:TOP_FEATURES]]
            return name, float(value), features
    return None


def too_good_message(metric: str, value: float, features: Sequence[str]) -> str:
    """The "too good to be true" note as plain text (names not escaped)."""
    named = ", ".join(f"'{f}'" for f in features) or "(no importance recorded)"
    return (
        f"test {metric} {value:.4f} is too good to be true for most real problems: check the "
        f"most important features ({named}) for target leakage; leave a leak out with "
        f"{FIX_KEY}"
    )
