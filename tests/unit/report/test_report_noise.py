"""The noise-aware gate and metrics table: which rule decided, the detectable drop, `within
noise`, the unpaired and the unavailable cases, from in-memory revisions and predictions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import BootstrapConfig, GateConfig, MetricGate
from mlpipe.evaluation.bootstrap import Comparison, Difference, Interval
from mlpipe.evaluation.metrics import Predictions
from mlpipe.evaluation.rows import prediction_rows
from mlpipe.report.gate import evaluate_gate
from mlpipe.report.markdown import build_report
from mlpipe.report.noise import Noise, compare_rows, detectable, intervals_from_report
from mlpipe.report.revision import Revision

SETTINGS = BootstrapConfig(resamples=300, seed=1)


def _noise(
    low: float,
    high: float,
    estimate: float,
    rows: int = 214,
    paired: bool = True,
    log_loss: Difference | None = None,
    identical: bool = False,
):
    difference = Difference(estimate, Interval(low, high))
    if log_loss is None:  # base 0.40: the relative interval [-6 %, +12 %]
        log_loss = Difference(0.01, Interval(-0.02, 0.04), Interval(-0.06, 0.12))
    comparison = Comparison(
        paired=paired,
        rows=(rows, rows),
        resampled_rows=(rows, rows),
        resamples=1000,
        confidence=0.95,
        seed=42,
        differences={"roc_auc": difference, "log_loss": log_loss},
        unpaired_reason=None if paired else "214 base rows, 214 PR rows, 100 with the same id",
        identical=identical,
    )
    return Noise(0.95, comparison=comparison)


def _gate(noise_rule: str = "significant", **rule) -> GateConfig:
    return GateConfig(rules=(MetricGate("roc_auc", **rule),), noise=noise_rule)


BASE, PR = {"roc_auc": 0.8894}, {"roc_auc": 0.8694}  # a drop of 0.02


def test_significant_passes_a_drop_beyond_the_tolerance_that_is_within_noise() -> None:
    result = evaluate_gate(_gate(max_drop=0.015), PR, BASE, noise=_noise(-0.045, 0.005, -0.02))
    assert result.passed and result.noise_rule == "significant"
    (check,) = result.checks
    assert check.message == (
        "roc_auc worsened by 0.0200 (0.8894 → 0.8694), more than the allowed 0.015 but within "
        "noise: the change's 95% interval [-0.0450, +0.0050] includes 0 (rule `significant`; "
        "with 214 test rows, paired, a drop of roc_auc under ~0.0250 cannot be told from noise)"
    )


def test_significant_fails_a_drop_beyond_the_tolerance_and_beyond_noise() -> None:
    result = evaluate_gate(_gate(max_drop=0.015), PR, BASE, noise=_noise(-0.03, -0.01, -0.02))
    assert not result.passed
    assert result.failures == [
        "roc_auc worsened by 0.0200 (0.8894 → 0.8694), more than the allowed 0.015, and beyond "
        "noise: the change's 95% interval [-0.0300, -0.0100] excludes 0 (rule `significant`; "
        "with 214 test rows, paired, a drop of roc_auc under ~0.0100 cannot be told from noise)"
    ]
    # A significant drop within the tolerance passes.
    small = evaluate_gate(_gate(max_drop=0.025), PR, BASE, noise=_noise(-0.03, -0.01, -0.02))
    assert small.passed
    assert "is within the allowed drop 0.025 (rule `significant`" in small.checks[0].message


def test_non_inferiority_fails_when_the_worse_bound_crosses_the_tolerance() -> None:
    pr = {"roc_auc": 0.8944}  # the case: +0.005 [-0.011, +0.020]
    noise = _noise(-0.011, 0.020, 0.005)
    ok = evaluate_gate(_gate("non_inferiority", max_drop=0.015), pr, BASE, noise=noise)
    assert ok.passed
    assert ok.checks[0].message.startswith(
        "roc_auc may be worse by up to 0.0110 (0.8894 → 0.8944) (the change's 95% interval "
        "[-0.0110, +0.0200]), within the allowed 0.015 (rule `non_inferiority`"
    )
    bad = evaluate_gate(_gate("non_inferiority", max_drop=0.01), pr, BASE, noise=noise)
    assert not bad.passed
    assert "may be worse by up to 0.0110" in bad.failures[0]
    assert "more than the allowed 0.01 (rule `non_inferiority`" in bad.failures[0]


def test_a_rule_may_set_its_own_noise_rule_and_ignore_judges_point_values() -> None:
    noise = _noise(-0.045, 0.005, -0.02)
    rule = _gate("significant", max_drop=0.015, noise="ignore")
    result = evaluate_gate(rule, PR, BASE, noise=noise)
    assert not result.passed
    assert result.failures == [
        "roc_auc worsened by 0.0200 (0.8894 → 0.8694), more than the allowed 0.015 (rule: "
        "ignore, the point values decide)"
    ]


def test_without_an_interval_the_point_values_decide_and_the_message_says_why() -> None:
    noise = Noise(0.95, unavailable="`main` has no per-row test predictions")
    result = evaluate_gate(_gate(max_drop=0.015), PR, BASE, noise=noise)
    assert not result.passed
    assert result.noise_unavailable == "`main` has no per-row test predictions"
    assert result.failures[0].endswith(
        "more than the allowed 0.015 (point estimate, not tested against noise: `main` has no "
        "per-row test predictions)"
    )


def test_relative_rules_read_the_interval_of_the_relative_change() -> None:
    """max_drop_relative judges the relative change's own interval (each resample's change
    over that resample's base), not the absolute interval over the base value."""
    gate = GateConfig(rules=(MetricGate("log_loss", max_drop_relative=0.05),))
    result = evaluate_gate(gate, {"log_loss": 0.42}, {"log_loss": 0.40}, noise=_noise(0, 0, 0))
    (check,) = result.checks
    assert check.status == "pass"  # +5 % within the 5 % tolerance
    assert check.message == (
        "log_loss change +0.0200 (0.4000 → 0.4200) is within the allowed rise 5.0% (rule "
        "`significant`; the change's 95% interval [-6.0%, +12.0%]; with 214 test rows, paired, "
        "a rise of log_loss under ~9.0% cannot be told from noise)"
    )
    assert detectable("log_loss", _noise(0, 0, 0)) == (
        "with 214 test rows, paired, a rise of log_loss under ~0.0300 cannot be told from noise"
    )
    # The case: 69 rows, an absolute interval [-0.5384, +0.0756] on a base of 0.40
    # read [-134.6%, +18.9%]; the per-resample relative interval is what the rule shows.
    skewed = Difference(0.0, Interval(-0.5384, 0.0756), Interval(-0.712, 0.189))
    rise = evaluate_gate(
        gate, {"log_loss": 0.5344}, {"log_loss": 0.40}, noise=_noise(0, 0, 0, log_loss=skewed)
    )
    (check,) = rise.checks
    assert "[-71.2%, +18.9%] includes 0" in check.message and "134.6" not in check.message
    # non_inferiority reads the same interval's worse bound: +18.9 % > 5 %
    strict = dataclasses.replace(gate, noise="non_inferiority")
    fails = evaluate_gate(
        strict, {"log_loss": 0.38}, {"log_loss": 0.40}, noise=_noise(0, 0, 0, log_loss=skewed)
    )
    assert fails.failures[0].startswith(
        "log_loss may be worse by up to 18.9% (0.4000 → 0.3800) (the change's 95% interval "
        "[-71.2%, +18.9%]), more than the allowed 5.0%"
    )
    # Without a relative interval (the base is 0 in too many resamples): point values, why.
    bare = Difference(0.13, Interval(0.1, 0.2))
    point = evaluate_gate(
        gate, {"log_loss": 0.53}, {"log_loss": 0.40}, noise=_noise(0, 0, 0, log_loss=bare)
    )
    assert point.failures == [
        "log_loss worsened by 32.5% (0.4000 → 0.5300), more than the allowed 5.0% (point "
        "estimate, not tested against noise: the relative change of log_loss is undefined in "
        "too many resamples (base 0))"
    ]


def test_no_detectable_drop_is_claimed_from_an_interval_of_no_width() -> None:
    """Identical predictions: the change is 0 in every resample; the gate says so instead of
    "a drop under ~0.0000 cannot be told from noise"."""
    gate = GateConfig(
        rules=(
            MetricGate("roc_auc", max_drop=0.015),
            MetricGate("log_loss", max_drop_relative=0.05),
        )
    )
    same = Difference(0.0, Interval(0.0, 0.0), Interval(0.0, 0.0))
    values = {"roc_auc": 0.8894, "log_loss": 0.40}
    identical = _noise(0, 0, 0, log_loss=same, identical=True)
    result = evaluate_gate(gate, values, values, noise=identical)
    assert [c.message for c in result.checks] == [
        "roc_auc change +0.0000 (0.8894 → 0.8894) is within the allowed drop 0.015 (rule "
        "`significant`; the change's 95% interval [+0.0000, +0.0000]; base and PR predict the "
        "same on every one of the 214 test rows: no change to tell from noise)",
        "log_loss change +0.0000 (0.4000 → 0.4000) is within the allowed rise 5.0% (rule "
        "`significant`; the change's 95% interval [+0.0%, +0.0%]; base and PR predict the "
        "same on every one of the 214 test rows: no change to tell from noise)",
    ]
    assert "~0.0000" not in detectable("roc_auc", identical)
    # Other predictions, yet this metric the same in every resample (e.g. the same ranking).
    assert detectable("roc_auc", _noise(0, 0, 0)) == (
        "roc_auc is the same for base and PR in every resample of the 214 paired test rows: "
        "no change to tell from noise"
    )


def test_intervals_of_a_report_file() -> None:
    found = intervals_from_report({"test": {"f1": {"low": 0.1, "high": 0.3}, "bad": {}}})
    assert found == {"f1": Interval(0.1, 0.3)}
    assert intervals_from_report(None) == {}


# The comment, from predictions of the same rows.


def _predictions(score: np.ndarray, y: np.ndarray, ids: list[str]) -> pd.DataFrame:
    p = Predictions(
        np.where(y, "yes", "no").astype(object),
        np.where(score >= 0.5, "yes", "no").astype(object),
        np.column_stack([1 - score, score]),
        ("no", "yes"),
    )
    return prediction_rows(p, pd.DataFrame({"id": ids}), np.arange(len(y)), "binary")


def _revision(label: str, auc: float, intervals: dict | None = None) -> Revision:
    return Revision(
        label=label,
        commit=label[:3] + "12345",
        params={"data": {"target": "churned"}},
        metrics={"test": {"roc_auc": auc, "rows": 300.0}},
        intervals=intervals,
    )


RNG = np.random.default_rng(0)
Y = RNG.random(300) < 0.3
SCORE = 1 / (1 + np.exp(-(2 * Y - 1 + RNG.normal(size=300))))
IDS = [f"c{i}" for i in range(300)]


def _comment(base_rows: pd.DataFrame, pr_rows: pd.DataFrame, pr_auc: float) -> str:
    comparison = compare_rows(base_rows, pr_rows, SETTINGS)
    noise = Noise(
        0.95,
        comparison=comparison,
        pr_intervals={"roc_auc": Interval(0.70, 0.80)},
        base_intervals={"roc_auc": Interval(0.71, 0.81)},
    )
    base, head = _revision("main", 0.76), _revision("feature", pr_auc)
    gate = evaluate_gate(
        _gate(max_drop=0.015), head.metrics["test"], base.metrics["test"], noise=noise
    )
    return build_report(base, head, gate, noise=noise)


def test_two_identical_models_are_the_same_in_the_comment() -> None:
    rows = _predictions(SCORE, Y, IDS)
    text = _comment(rows, rows, 0.76)
    assert "### Gate: ✅ passed" in text
    assert "Noise rule `significant` (params `gate.noise`)" in text
    assert "The change's interval is a **paired** bootstrap: 300 resamples of the same 300" in text
    assert "Base and PR predict the same on every one of the 300 test rows: nothing changed" in (
        text
    )
    assert (
        "| metric | base [95% interval] | PR [95% interval] | change [95% interval] | relative | |"
    ) in text
    assert (
        "| roc_auc | 0.7600 [0.7100, 0.8100] | 0.7600 [0.7000, 0.8000] | +0.0000 [+0.0000, "
        "+0.0000] | +0.00% | = same |"
    ) in text
    assert "| rows | 300 | 300 | +0 | +0.00% |  |" in text
    assert "within noise |" not in text and "~0.0000" not in text
    assert "base and PR predict the same on every one of the 300 test rows: no change" in text


def test_a_changed_split_is_unpaired_and_the_comment_says_so() -> None:
    base = _predictions(SCORE, Y, IDS)
    moved = _predictions(SCORE[::-1].copy(), Y[::-1].copy(), [f"d{i}" for i in range(300)])
    text = _comment(base, moved, 0.75)
    assert (
        "> ⚠️ **The test sets differ**: 300 base rows, 300 PR rows, 0 with the same id `id` on "
        "both sides: the split or the data changed."
    ) in text
    assert "The change's interval is **unpaired**: each side's 300 resamples" in text
    row = next(line for line in text.splitlines() if line.startswith("| roc_auc |"))
    assert row.endswith("| within noise |")


def test_without_base_predictions_the_comment_marks_point_estimates() -> None:
    noise = Noise(0.95, unavailable="`main` has no per-row test predictions (no `x` in dvc.lock)")
    base, head = _revision("main", 0.80), _revision("feature", 0.75)
    gate = evaluate_gate(
        _gate(max_drop=0.015), head.metrics["test"], base.metrics["test"], noise=noise
    )
    text = build_report(base, head, gate, noise=noise)
    assert (
        "> ⚠️ **No interval for the changes**: `main` has no per-row test predictions (no `x` "
        "in dvc.lock)."
    ) in text
    assert "| roc_auc | 0.8000 | 0.7500 | -0.0500 | -6.25% | 🔻 worse (*point estimate*) |" in text
    assert "⚠️ The drop rules had no interval of the change" in text


@pytest.mark.parametrize("dataset", ["train"])
def test_intervals_are_for_the_test_set_only(dataset: str) -> None:
    noise = _noise(-0.03, -0.01, -0.02)
    gate = dataclasses.replace(_gate(max_drop=0.015), dataset=dataset)
    result = evaluate_gate(gate, PR, BASE, noise=noise)
    assert result.failures[0].endswith(
        "(point estimate, not tested against noise: intervals are computed for the test set, "
        "gate.dataset is train)"
    )


# What a passed verdict must not hide, and no verdict on results that are not reproduced.


def _two_metric_report(noise: Noise, gate: GateConfig, pr: dict, stale: tuple = ()) -> str:
    base_metrics = {"roc_auc": 0.8894, "log_loss": 0.40, "rows": 69.0}
    base = Revision("main", "aaa11111", params={}, metrics={"test": base_metrics})
    head = Revision(
        "feature", "bbb22222", params={}, metrics={"test": pr | {"rows": 69.0}}, stale=stale
    )
    result = evaluate_gate(gate, head.metrics["test"], base_metrics, noise=noise)
    return build_report(base, head, result, noise=noise)


def test_a_pass_within_noise_and_an_allowed_worsening_are_said_under_the_verdict() -> None:
    skewed = Difference(0.1344, Interval(-0.5384, 0.0756), Interval(-0.712, 0.189))
    noise = _noise(-0.03, -0.01, -0.02, rows=69, log_loss=skewed)
    gate = GateConfig(
        rules=(
            MetricGate("roc_auc", max_drop=0.025),
            MetricGate("log_loss", max_drop_relative=0.05),
        )
    )
    text = _two_metric_report(noise, gate, {"roc_auc": 0.8694, "log_loss": 0.5344})
    top = text.split("<details>")[0]  # what shows without expanding anything
    assert "### Gate: ✅ passed" in top
    assert (
        "⚠️ **Passed only because the change is within noise**: beyond its tolerance, but the "
        "test set cannot tell the change from noise"
    ) in top
    assert (
        "- log_loss worsened by 33.6% (0.4000 → 0.5344), more than the allowed rise 5.0%; it "
        "passed only because the change's 95% interval [-71.2%, +18.9%] includes 0"
    ) in top
    assert (
        "🔻 **Worse beyond noise, and allowed by the gate**: the table below marks these 🔻 "
        "worse (their interval excludes 0); the rules let them pass:"
    ) in top
    assert "- `roc_auc` -0.0200 [-0.0300, -0.0100]: within the allowed drop 0.025" in top
    assert "| roc_auc | 0.8894 | 0.8694 | -0.0200 [-0.0300, -0.0100] | -2.25% | 🔻 worse |" in text
    # A metric worse beyond noise with no drop rule is named too.
    only_floor = GateConfig(rules=(MetricGate("roc_auc", min=0.5),))
    text = _two_metric_report(noise, only_floor, {"roc_auc": 0.8694, "log_loss": 0.5344})
    assert "- `roc_auc` -0.0200 [-0.0300, -0.0100]: no drop rule on it in `gate.rules`" in text
    # A failed gate lists its failures; no such notes.
    tight = GateConfig(rules=(MetricGate("roc_auc", max_drop=0.015),))
    text = _two_metric_report(noise, tight, {"roc_auc": 0.8694, "log_loss": 0.5344})
    assert "### Gate: ❌ failed" in text and "allowed by the gate" not in text


def test_a_report_on_results_not_reproduced_has_no_passed_gate() -> None:
    gate = GateConfig(rules=(MetricGate("roc_auc", max_drop=0.025),))
    text = _two_metric_report(
        _noise(-0.03, -0.01, -0.02), gate, {"roc_auc": 0.8694, "log_loss": 0.40}, ("train",)
    )
    assert "✅ passed" not in text
    assert (
        "### Gate: ❌ not passed: the workspace is not reproduced\n\n`dvc status` lists `train` "
        "as changed since the last `dvc repro`, so the results below belong to older code, "
        "params or data and the gate cannot judge this PR: `mlpipe gate` refuses (exit 2). Run "
        "`dvc repro`, commit `dvc.lock` and the results, then report again."
    ) in text
    assert (
        "<details><summary>The gate's checks on those older results (not a verdict)</summary>"
    ) in text
