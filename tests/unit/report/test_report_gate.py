"""The merge gate: floors, ceilings, absolute and relative drops, no baseline, bad rules."""

from __future__ import annotations

import pytest

from mlpipe.config import ConfigError, GateConfig, MetricGate, params_from_dict
from mlpipe.report.gate import evaluate_gate, worsening

BASE = {"roc_auc": 0.82, "log_loss": 0.40, "average_precision": 0.60}


def _gate(*rules: MetricGate) -> GateConfig:
    return GateConfig(dataset="test", rules=rules)


def test_worsening_follows_direction() -> None:
    assert worsening("roc_auc", 0.82, 0.80) == pytest.approx(0.02)
    assert worsening("log_loss", 0.40, 0.44) == pytest.approx(0.04)
    assert worsening("log_loss", 0.40, 0.30) == pytest.approx(-0.10)


@pytest.mark.parametrize(
    ("pr_auc", "passed"),
    [(0.81, True), (0.805, True), (0.8049, False), (0.70, False), (0.90, True)],
)
def test_absolute_drop_tolerance(pr_auc: float, passed: bool) -> None:
    result = evaluate_gate(_gate(MetricGate("roc_auc", max_drop=0.015)), {"roc_auc": pr_auc}, BASE)
    assert result.passed is passed
    if not passed:
        assert result.failures == [
            f"roc_auc worsened by {0.82 - pr_auc:.4f} (0.8200 → {pr_auc:.4f}), "
            "more than the allowed 0.015"
        ]


def test_relative_drop_on_lower_is_better_metric() -> None:
    rule = MetricGate("log_loss", max_drop_relative=0.05)
    within = evaluate_gate(_gate(rule), {"log_loss": 0.419}, BASE)  # +4.75 %
    assert within.passed
    assert within.checks[0].message == (
        "log_loss relative change +4.7% (0.4000 → 0.4190) is within the allowed drop 5.0%"
    )
    result = evaluate_gate(_gate(rule), {"log_loss": 0.43}, BASE)  # +7.5 %
    assert result.failures == [
        "log_loss worsened by 7.5% (0.4000 → 0.4300), more than the allowed 5.0%"
    ]
    # Lower log loss is an improvement, never a failure.
    assert evaluate_gate(_gate(rule), {"log_loss": 0.2}, BASE).passed


def test_floor_and_ceiling() -> None:
    gate = _gate(MetricGate("roc_auc", min=0.75), MetricGate("log_loss", max=0.5))
    ok = evaluate_gate(gate, {"roc_auc": 0.76, "log_loss": 0.49}, None)
    assert ok.passed and [c.status for c in ok.checks] == ["pass", "pass"]
    bad = evaluate_gate(gate, {"roc_auc": 0.74, "log_loss": 0.51}, None)
    assert bad.failures == [
        "roc_auc 0.7400 is below the floor 0.75",
        "log_loss 0.5100 is above the ceiling 0.5",
    ]


def test_no_baseline_checks_floors_only() -> None:
    gate = _gate(MetricGate("roc_auc", min=0.75, max_drop=0.001))
    result = evaluate_gate(gate, {"roc_auc": 0.5}, None)
    assert not result.has_baseline
    assert [(c.rule, c.status) for c in result.checks] == [("min", "fail"), ("drop", "skip")]
    assert result.checks[1].message == "roc_auc: no baseline, drop check skipped"
    assert evaluate_gate(gate, {"roc_auc": 0.8}, None).passed


def test_the_reason_for_no_baseline_is_in_the_skipped_checks() -> None:
    gate = _gate(MetricGate("roc_auc", min=0.75, max_drop=0.001))
    why = "not comparable: the base predicts `churned`, the PR `class`"
    result = evaluate_gate(gate, {"roc_auc": 0.5}, None, why)
    assert result.no_baseline == why and not result.has_baseline
    assert result.checks[1].message == f"roc_auc: {why}, drop check skipped"
    assert evaluate_gate(gate, {"roc_auc": 0.8}, {"roc_auc": 0.9}, why).no_baseline is None


def test_rule_on_a_metric_the_model_does_not_produce_fails_with_the_fix() -> None:
    result = evaluate_gate(_gate(MetricGate("rmse", max=1.0)), {"roc_auc": 0.8, "f1": 0.5}, BASE)
    assert not result.passed
    assert result.failures == [
        "rmse: not among the PR's test metrics (available: f1, roc_auc); "
        "fix or remove this rule in params.yaml gate.rules (each task has its own metrics: "
        "see the README's gate section)"
    ]


def test_defaults_pass_for_the_committed_default_model() -> None:
    # The defaults must accept the default model's own committed metrics against themselves.
    import json

    from support.repo import PROJECT

    metrics = json.loads((PROJECT / "data/results/metrics.json").read_text())["test"]
    assert evaluate_gate(GateConfig(), metrics, metrics).passed


def test_params_yaml_gate_section_is_typed() -> None:
    params = params_from_dict(
        {"gate": {"dataset": "train", "rules": [{"metric": "f1", "min": 0.4, "max_drop": 0.1}]}}
    )
    assert params.gate == GateConfig("train", (MetricGate("f1", min=0.4, max_drop=0.1),))
    assert "gate" not in params.extra


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"rules": [{"metric": "f1", "max_drop": -0.1}]}, "'max_drop' is -0.1; it must be >= 0"),
        ({"rules": [{"min": 0.5}]}, "every rule in 'gate.rules' needs a 'metric'"),
        ({"rules": [{"metric": "f1", "mni": 0.5}]}, "unknown key 'gate.rules[0].mni'"),
        ({"dataset": "valid"}, "'gate.dataset' is 'valid'; allowed values: 'test', 'train'"),
        ({"rules": [{"metric": "f1", "min": "high"}]}, "'gate.rules[0].min' must be a number"),
        ({"rules": [{"metric": "f1", "min": 0.9, "max": 0.1}]}, "'min' (0.9) is above 'max'"),
    ],
)
def test_bad_gate_params_name_the_key(gate: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        params_from_dict({"gate": gate})
    assert message in str(info.value)
