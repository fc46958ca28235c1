"""Every metric the evaluate stage can emit has a direction for the report and the gate."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipe.config import ConfigError
from mlpipe.evaluation.metrics import DIRECTIONS, Predictions, compute_metrics, positive_class


def _classification(classes: tuple[str, ...], n: int = 60) -> Predictions:
    rng = np.random.default_rng(0)
    y = np.asarray(classes, dtype=object)[np.arange(n) % len(classes)]
    proba = rng.dirichlet(np.ones(len(classes)), n)
    proba[np.arange(n), np.arange(n) % len(classes)] += 1.0
    proba /= proba.sum(axis=1, keepdims=True)
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    return Predictions(y_true=y, y_pred=pred, proba=proba, classes=classes)


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (
            "binary",
            {
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
            },
        ),
        (
            "multiclass",
            {
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
            },
        ),
        ("regression", {"rows", "rmse", "mae", "r2", "mape"}),
    ],
)
def test_every_emitted_metric_has_a_direction(task: str, expected: set[str]) -> None:
    if task == "regression":
        y = np.linspace(1, 10, 30)
        p = Predictions(y_true=y, y_pred=y + np.sin(y))
    else:
        p = _classification(("a", "b") if task == "binary" else ("a", "b", "c"))
    values = compute_metrics(task, p)
    assert set(values) == expected
    assert set(values) <= set(DIRECTIONS)
    assert DIRECTIONS["rmse"] == "lower" and DIRECTIONS["f1_macro"] == "higher"


def test_regression_values_and_mape_undefined_at_zero() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    values = compute_metrics("regression", Predictions(y_true=y, y_pred=y + 1))
    assert values["rmse"] == 1.0 and values["mae"] == 1.0
    assert values["mape"] == pytest.approx(np.mean(1 / y), abs=1e-6)
    with_zero = compute_metrics("regression", Predictions(y_true=y - 1, y_pred=y))
    assert "mape" not in with_zero


def test_unknown_positive_class_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"data.positive_class 'yes' is not one of the classes"):
        positive_class(("False", "True"), "yes")
