"""The gate rules `mlpipe init` suggests per task: the task's own metrics, loose floors."""

from __future__ import annotations

import numpy as np
import pytest

from mlpipe.config import GateConfig
from mlpipe.evaluation.metrics import Predictions, compute_metrics
from mlpipe.report.gate import describe_rule, evaluate_gate, rule_mapping, suggested_rules


def _metrics(task: str, seed: int = 0, signal: float = 1.0) -> dict[str, float]:
    """Test metrics of a model with some (``signal``) or no (0) skill on 200 rows."""
    rng = np.random.default_rng(seed)
    rows = 200
    if task == "regression":
        y = rng.normal(50, 10, rows)
        pred = 50 + signal * (y - 50) * 0.6 + rng.normal(0, 6, rows)
        return compute_metrics(task, Predictions(y_true=y, y_pred=pred))
    classes = ("a", "b") if task == "binary" else ("a", "b", "c")
    y = rng.choice(classes, rows)
    logits = rng.normal(0, 1, (rows, len(classes)))
    logits[np.arange(rows), [classes.index(v) for v in y]] += 1.5 * signal
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = np.array(classes)[proba.argmax(axis=1)]
    return compute_metrics(task, Predictions(y_true=y, y_pred=pred, proba=proba, classes=classes))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_rules_name_only_metrics_the_task_reports(task: str) -> None:
    rules = suggested_rules(task, classes=3)
    assert len(rules) == 3
    assert {r.metric for r in rules} <= set(_metrics(task))


def test_regression_and_multiclass_never_gate_on_roc_auc() -> None:
    for task in ("multiclass", "regression"):
        assert all(not r.metric.startswith("roc_auc") for r in suggested_rules(task, 3))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_first_honest_model_passes_and_a_model_without_skill_fails(task: str) -> None:
    gate = GateConfig(rules=suggested_rules(task, classes=3))
    first = evaluate_gate(gate, _metrics(task), base=None, no_baseline="no run on main")
    assert first.passed, first.failures
    assert [c.status for c in first.checks if c.rule == "drop"] == ["skip"] * 3
    broken = {**_metrics(task), "roc_auc": 0.45, "balanced_accuracy": 0.30, "r2": -0.2}
    assert not evaluate_gate(gate, broken, base=None).passed


def test_drops_against_the_base_are_limited() -> None:
    gate = GateConfig(rules=suggested_rules("regression"))
    base = _metrics("regression")
    worse = {**base, "rmse": base["rmse"] * 1.08}
    result = evaluate_gate(gate, worse, base)
    assert len(result.failures) == 1 and result.failures[0].startswith("rmse worsened by 8.0%")
    assert evaluate_gate(gate, base, base).passed


@pytest.mark.parametrize(("classes", "floor"), [(3, 0.33), (4, 0.25), (7, 0.14), (2, 0.5)])
def test_multiclass_floor_is_chance_for_the_class_count(classes: int, floor: float) -> None:
    first = suggested_rules("multiclass", classes)[0]
    assert (first.metric, first.min, first.max_drop) == ("balanced_accuracy", floor, 0.03)


def test_rules_as_written_and_described() -> None:
    r2, rmse, _ = suggested_rules("regression")
    assert rule_mapping(r2) == {"metric": "r2", "min": 0.0, "max_drop": 0.03}
    assert rule_mapping(rmse) == {"metric": "rmse", "max_drop_relative": 0.05}
    assert describe_rule(r2) == "r2 >= 0, drop <= 0.03"
    assert describe_rule(rmse) == "rmse rise <= 5%"
