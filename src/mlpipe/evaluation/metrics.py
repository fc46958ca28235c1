"""Task-agnostic metrics: one entry point for binary, multiclass and regression models.

``DIRECTIONS`` says for each metric whether higher or lower is better; the PR report and the
gate use it to mark improvements and regressions. scikit-learn is imported only by the
functions that compute metrics: the stages that only check metric names (validate, report,
gate) start without it (about 2 s of each process's start-up on a 2-core CI machine).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from mlpipe.config import ConfigError
from mlpipe.predictions import Predictions, positive_class

HIGHER = "higher"
LOWER = "lower"

DIRECTIONS: dict[str, str] = {
    "roc_auc": HIGHER,
    "average_precision": HIGHER,
    "accuracy": HIGHER,
    "balanced_accuracy": HIGHER,
    "precision": HIGHER,
    "recall": HIGHER,
    "f1": HIGHER,
    "f1_macro": HIGHER,
    "f1_weighted": HIGHER,
    "precision_macro": HIGHER,
    "recall_macro": HIGHER,
    "roc_auc_ovr_macro": HIGHER,
    "roc_auc_ovr_weighted": HIGHER,
    "log_loss": LOWER,
    "brier": LOWER,
    "rmse": LOWER,
    "mae": LOWER,
    "r2": HIGHER,
    "mape": LOWER,
    "positive_rate": HIGHER,  # informational; not gated by default
    "rows": HIGHER,
}
# The metrics ``compute_metrics`` produces for each task (when defined on the data): what
# gate.rules and monitor.metrics may name (``check_metric_settings``).
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": (
        "rows",
        "positive_rate",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "average_precision",
        "log_loss",
        "brier",
    ),
    "multiclass": (
        "rows",
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "f1_weighted",
        "precision_macro",
        "recall_macro",
        "log_loss",
        "roc_auc_ovr_macro",
        "roc_auc_ovr_weighted",
    ),
    "regression": ("rows", "rmse", "mae", "r2", "mape"),
}
DECIMALS = 6
# scikit-learn UserWarnings on label sets that compute_metrics handles itself
_LABEL_WARNINGS = ("A single label was found in", "y_pred contains classes not in y_true")


def check_metric_settings(
    task: str, gate_metrics: Iterable[str], monitor_metrics: Iterable[str], where: str
) -> None:
    """Raise ConfigError when gate.rules or monitor.metrics names a metric the task's model
    does not have (a regression gate on roc_auc), before anything is trained.

    ``task`` is the schema's (binary, multiclass or regression); ``where`` names the params
    file in the message.
    """
    available = TASK_METRICS[task]
    for key, names in (("gate.rules", gate_metrics), ("monitor.metrics", monitor_metrics)):
        for name in names:
            if name not in available:
                raise ConfigError(
                    f"{where}: {key} names metric '{name}', which a {task} model does not "
                    f"have (the task is from the schema). Metrics of a {task} model: "
                    f"{', '.join(available)}. Fix {key} in {where}: use one of them, or remove "
                    f"'{name}'"
                )


def compute_metrics(task: str, p: Predictions, positive: str | None = None) -> dict[str, float]:
    """All metrics for ``task``; rounded to DECIMALS; undefined metrics are omitted.

    scikit-learn's warnings about labels (a single class in ``y_true``, or predicted classes
    absent from it, e.g. in a small batch or slice) are silenced: the metrics that need every
    class are already omitted, and callers say which are missing and why.
    """
    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"unknown task {task!r}")
    with warnings.catch_warnings():
        for message in _LABEL_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        if task == "binary":
            values = _binary(p, positive_class(p.classes, positive))
        elif task == "multiclass":
            values = _multiclass(p)
        else:
            values = _regression(p)
    return {k: round(float(v), DECIMALS) for k, v in values.items() if math.isfinite(v)}


def _binary(p: Predictions, positive: str) -> dict[str, float]:
    from sklearn import metrics as skm

    y = p.y_true == positive
    pred = p.y_pred == positive
    out = {
        "rows": float(len(y)),
        "positive_rate": float(y.mean()) if len(y) else math.nan,
        "accuracy": skm.accuracy_score(y, pred),
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
        "f1": skm.f1_score(y, pred, zero_division=0),
    }
    if p.proba is not None and len(np.unique(y)) == 2:
        score = p.proba[:, list(p.classes).index(positive)]
        out["roc_auc"] = skm.roc_auc_score(y, score)
        out["average_precision"] = skm.average_precision_score(y, score)
        out["log_loss"] = skm.log_loss(y, np.clip(score, 1e-15, 1 - 1e-15), labels=[False, True])
        out["brier"] = skm.brier_score_loss(y, score)
    return out


def _multiclass(p: Predictions) -> dict[str, float]:
    from sklearn import metrics as skm

    out = {
        "rows": float(len(p.y_true)),
        "accuracy": skm.accuracy_score(p.y_true, p.y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(p.y_true, p.y_pred),
        "f1_macro": skm.f1_score(p.y_true, p.y_pred, average="macro", zero_division=0),
        "f1_weighted": skm.f1_score(p.y_true, p.y_pred, average="weighted", zero_division=0),
        "precision_macro": skm.precision_score(
            p.y_true, p.y_pred, average="macro", zero_division=0
        ),
        "recall_macro": skm.recall_score(p.y_true, p.y_pred, average="macro", zero_division=0),
    }
    if p.proba is not None and set(np.unique(p.y_true)) <= set(p.classes):
        labels = list(p.classes)
        out["log_loss"] = skm.log_loss(p.y_true, p.proba, labels=labels)
        if len(np.unique(p.y_true)) == len(labels):
            # one-vs-rest ROC AUC per class, averaged two ways: macro (sklearn's default, each
            # class counts the same) and weighted by class support (hides weak rare classes)
            for average in ("macro", "weighted"):
                out[f"roc_auc_ovr_{average}"] = skm.roc_auc_score(
                    p.y_true, p.proba, multi_class="ovr", average=average, labels=labels
                )
    return out


def _regression(p: Predictions) -> dict[str, float]:
    from sklearn import metrics as skm

    y = p.y_true.astype(float)
    pred = p.y_pred.astype(float)
    out = {
        "rows": float(len(y)),
        "rmse": math.sqrt(skm.mean_squared_error(y, pred)),
        "mae": skm.mean_absolute_error(y, pred),
        "r2": skm.r2_score(y, pred) if len(y) > 1 else math.nan,
    }
    if len(y) and not np.any(y == 0):  # MAPE is undefined when a true value is 0
        out["mape"] = skm.mean_absolute_percentage_error(y, pred)
    return out


def per_class_report(p: Predictions) -> dict[str, dict[str, float | int | None]]:
    """Precision, recall, F1 and support per class (classification).

    A score whose denominator is zero is None (JSON null), not 0: precision of a class never
    predicted, recall of a class with no rows in the set (support 0), F1 when both.
    """
    from sklearn import metrics as skm

    labels = list(p.classes)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        p.y_true, p.y_pred, labels=labels, zero_division=np.nan
    )

    def score(value: float) -> float | None:
        return None if math.isnan(value) else round(float(value), DECIMALS)

    return {
        label: {
            "precision": score(precision[i]),
            "recall": score(recall[i]),
            "f1": score(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }


def small_slices(groups: dict[str, pd.Series], min_rows: int) -> dict[str, int]:
    """How many values of each slicing column have fewer than ``min_rows`` rows: the slices
    ``slice_metrics`` skips (missing values count as one value, "(missing)")."""
    out = {}
    for column, values in groups.items():
        counts = values.astype(object).where(values.notna(), "(missing)").astype(str)
        out[column] = int((counts.value_counts() < min_rows).sum())
    return out


def slice_metrics(
    task: str,
    p: Predictions,
    groups: dict[str, pd.Series],
    min_rows: int,
    positive: str | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics per value of each slicing column; slices smaller than ``min_rows`` are skipped.

    ``groups`` maps a column name to its values, aligned with the predictions. Missing values
    form their own slice, named "(missing)".
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for column, values in groups.items():
        keys = values.astype(object).where(values.notna(), "(missing)").astype(str).to_numpy()
        column_out = {}
        for key in sorted(set(keys)):
            mask = keys == key
            if mask.sum() < min_rows:
                continue
            sub = Predictions(
                y_true=p.y_true[mask],
                y_pred=p.y_pred[mask],
                proba=None if p.proba is None else p.proba[mask],
                classes=p.classes,
            )
            column_out[key] = compute_metrics(task, sub, positive)
        out[column] = column_out
    return out
