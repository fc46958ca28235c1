"""Plot data (lists of records) for ROC, precision-recall, confusion, calibration, importance
and regression diagnostics. Curves are thinned to at most ``points`` points so files stay small
whatever the test set size."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from mlpipe.evaluation.metrics import DECIMALS
from mlpipe.predictions import Predictions


def _thin(n: int, points: int) -> np.ndarray:
    """Indices of at most ``points`` evenly spaced positions in 0..n-1, ends included."""
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(int))


def _r(value: float) -> float:
    return round(float(value), DECIMALS)


def roc_points(y: np.ndarray, score: np.ndarray, points: int) -> list[dict[str, float]]:
    """ROC curve (fpr, tpr, threshold); ``y`` boolean."""
    fpr, tpr, thr = skm.roc_curve(y, score)
    thr = np.minimum(thr, 1.0)
    return [
        {"fpr": _r(fpr[i]), "tpr": _r(tpr[i]), "threshold": _r(thr[i])}
        for i in _thin(len(fpr), points)
    ]


def pr_points(y: np.ndarray, score: np.ndarray, points: int) -> list[dict[str, float]]:
    """Precision-recall curve (recall, precision, threshold); ``y`` boolean."""
    precision, recall, thr = skm.precision_recall_curve(y, score)
    thr = np.append(thr, 1.0)
    return [
        {"recall": _r(recall[i]), "precision": _r(precision[i]), "threshold": _r(thr[i])}
        for i in _thin(len(recall), points)
    ]


def confusion_rows(p: Predictions) -> list[dict[str, str | int]]:
    """Confusion matrix as one record per (actual, predicted) cell with its count."""
    labels = list(p.classes)
    matrix = skm.confusion_matrix(p.y_true, p.y_pred, labels=labels)
    return [
        {"actual": labels[i], "predicted": labels[j], "count": int(matrix[i, j])}
        for i in range(len(labels))
        for j in range(len(labels))
    ]


def calibration_points(y: np.ndarray, score: np.ndarray, bins: int) -> list[dict[str, float]]:
    """Reliability diagram: per equal-width bin, mean predicted vs observed positive rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        out.append(
            {
                "bin": b,
                "mean_predicted": _r(score[mask].mean()),
                "fraction_positive": _r(y[mask].mean()),
                "count": int(mask.sum()),
            }
        )
    return out


def regression_points(
    y: np.ndarray, pred: np.ndarray, points: int, seed: int
) -> list[dict[str, float]]:
    """Predicted vs actual and residuals for a seeded sample of at most ``points`` rows."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(y), size=min(points, len(y)), replace=False))
    return [
        {"actual": _r(y[i]), "predicted": _r(pred[i]), "residual": _r(y[i] - pred[i])} for i in idx
    ]
