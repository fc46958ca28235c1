"""Params/metrics diffs and the mermaid charts, on tiny in-memory data."""

from __future__ import annotations

import pytest

from mlpipe.report import charts
from mlpipe.report.diff import MISSING, flatten, metric_changes, param_changes, text_diff


def test_flatten_nested_params_and_lists_of_rules() -> None:
    tree = {"train": {"seed": 1, "hgb": {"max_iter": 5}}, "evaluate": {"slices": ["a", "b"]}}
    tree["gate"] = {"rules": [{"metric": "f1", "min": 0.5}]}
    assert flatten(tree) == {
        "train.seed": 1,
        "train.hgb.max_iter": 5,
        "evaluate.slices": ["a", "b"],
        "gate.rules[0].metric": "f1",
        "gate.rules[0].min": 0.5,
    }


def test_param_changes_lists_only_changed_added_and_removed() -> None:
    base = {"train": {"seed": 1, "C": 1.0, "old": True}, "split": {"test_size": 0.2}}
    head = {"train": {"seed": 1, "C": 0.5, "new": "x"}, "split": {"test_size": 0.2}}
    changes = [(c.key, c.old, c.new) for c in param_changes(base, head)]
    assert changes == [
        ("train.C", 1.0, 0.5),
        ("train.new", MISSING, "x"),
        ("train.old", True, MISSING),
    ]
    assert param_changes(base, base) == []


def test_metric_changes_direction_and_relative_change() -> None:
    base = {"roc_auc": 0.8, "log_loss": 0.5, "rows": 100.0, "f1": 0.4, "gone": 1.0}
    pr = {"roc_auc": 0.7, "log_loss": 0.4, "rows": 120.0, "f1": 0.4, "accuracy": 0.9}
    got = {c.name: c for c in metric_changes(base, pr)}
    assert got["roc_auc"].delta == pytest.approx(-0.1)
    assert got["roc_auc"].relative == pytest.approx(-0.125)
    assert got["roc_auc"].verdict == "worse"
    assert got["log_loss"].delta == pytest.approx(-0.1)
    assert got["log_loss"].verdict == "better"  # lower is better
    assert got["rows"].verdict == "info" and got["rows"].relative == pytest.approx(0.2)
    assert got["f1"].verdict == "same"
    assert got["accuracy"].verdict == "new" and got["accuracy"].base is None
    assert got["gone"].verdict == "gone" and got["gone"].pr is None


def test_metric_changes_without_baseline() -> None:
    got = metric_changes(None, {"f1": 0.5})
    assert [(c.name, c.base, c.pr, c.verdict) for c in got] == [("f1", None, 0.5, "new")]


def test_text_diff() -> None:
    assert text_diff("a: 1\n", "a: 1\n", "schema.yaml") == ""
    diff = text_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "schema.yaml")
    assert "--- base/schema.yaml" in diff and "-b: 2" in diff and "+b: 3" in diff


ROC = [
    {"fpr": 0.0, "tpr": 0.0},
    {"fpr": 0.1, "tpr": 0.5},
    {"fpr": 0.5, "tpr": 0.9},
    {"fpr": 1.0, "tpr": 1.0},
]
PR = [
    {"recall": 1.0, "precision": 0.3},
    {"recall": 0.5, "precision": 0.6},
    {"recall": 0.0, "precision": 1.0},
]


def test_roc_and_pr_resampled_on_the_grid() -> None:
    xs = [0.0, 0.05, 0.1, 0.5, 0.75, 1.0]
    assert charts.roc_on_grid(ROC, xs) == [0.0, 0.0, 0.5, 0.9, 0.9, 1.0]
    assert charts.pr_on_grid(PR, xs) == [1.0, 0.6, 0.6, 0.6, 0.3, 0.3]
    assert charts.grid(5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_overlay_chart_is_a_mermaid_xychart_with_base_then_pr() -> None:
    text = charts.overlay_chart("ROC curve", "fpr", "tpr", [0.0, 1.0], [0.1, 0.2], [0.3, 0.4])
    lines = text.splitlines()
    assert lines[0] == "```mermaid" and lines[-1] == "```"
    assert "xychart-beta" in lines
    assert '  x-axis "fpr" ["0.00", "1.00"]' in lines
    assert lines[-3:-1] == ["  line [0.100, 0.200]", "  line [0.300, 0.400]"]
    assert f'"plotColorPalette": "{charts.BASE_COLOR}, {charts.PR_COLOR}"' in text
    single = charts.overlay_chart("ROC curve", "fpr", "tpr", [0.0, 1.0], None, [0.3, 0.4])
    assert single.count("  line [") == 1 and charts.BASE_COLOR not in single
