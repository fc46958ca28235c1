"""The target's own monitoring rule: a class's share moving by more than
monitor.max_class_share_change points (confirmed by chi-square), or the drift rule."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import ConfigError, DriftConfig, MonitorConfig, params_from_dict
from mlpipe.data.drift import compute_drift
from mlpipe.data.schema import ColumnSpec, Schema
from mlpipe.evaluation.monitor import (
    ALERT,
    OK,
    MonitorResult,
    label_shift,
    monitor_figure,
    monitor_markdown,
    monitor_verdict,
)


def _labels(rows: int, positives: int, name: str = "churned") -> pd.Series:
    """``rows`` booleans with ``positives`` True, shuffled (seeded)."""
    values = np.zeros(rows, dtype=bool)
    values[:positives] = True
    return pd.Series(np.random.default_rng(rows + positives).permutation(values), name=name)


def _schema(kind: str = "boolean", task: str = "binary") -> Schema:
    return Schema(
        columns=(ColumnSpec(name="x", kind="numeric"), ColumnSpec(name="churned", kind=kind)),
        target="churned",
        task=task,
    )


def _shift(reference: pd.Series, batch: pd.Series, task: str = "binary", **monitor):
    """label_shift with the drift report's row for the target, as the stage computes it."""
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=len(reference)), "churned": reference})
    cur = pd.DataFrame({"x": rng.normal(size=len(batch)), "churned": batch})
    kind = "numeric" if task == "regression" else "boolean"
    if task == "multiclass":
        kind = "categorical"
    drift = compute_drift(ref, cur, _schema(kind, task), DriftConfig())
    target = next(f for f in drift.features if f.column == "churned")
    return label_shift(reference, batch, task, target, MonitorConfig(**monitor), DriftConfig())


def _drift_with_noise(reference: pd.Series, batch: pd.Series):
    """Drift of the 16 000-row reference vs the 5 000-row batch, plus one random feature."""
    rng = np.random.default_rng(0)
    return compute_drift(
        pd.DataFrame({"x": rng.normal(size=len(reference)), "churned": reference}),
        pd.DataFrame({"x": rng.normal(size=len(batch)), "churned": batch}),
        _schema(),
        DriftConfig(),
    )


def test_the_review_case_churn_24_to_40_percent_alerts_on_the_class_share_rule() -> None:
    """The user review: churn 24.3 % in training, 40 % in 5000 labelled rows, PSI 0.114 (< 0.2)
    and chi-square p = 0 — the drift rule did not fire; the class share rule must."""
    shift = _shift(_labels(16_000, 3_894), _labels(5_000, 2_000))
    assert shift.psi is not None and 0.1 < shift.psi < 0.2  # the drift rule cannot fire
    assert [(c.label, c.reference, c.batch, c.change) for c in shift.classes] == [
        ("False", 0.756625, 0.6, -0.156625),
        ("True", 0.243375, 0.4, 0.156625),
    ]
    assert shift.test == "chi2" and shift.p_value is not None and shift.p_value < 1e-6
    assert shift.fired == ("class_share",) and shift.shifted and shift.not_compared == ""
    verdict, reasons = monitor_verdict((), None, MonitorConfig(), shift)
    assert verdict == ALERT
    assert reasons == (
        "label shift in 'churned' (class share rule, 5000 labelled rows): class True 24.3% in "
        "training -> 40.0% in this batch (+15.7 points) (allowed: ±5.0 points, "
        "monitor.max_class_share_change; chi-square p-value 0.00e+00 < 0.01)",
    )


def test_same_distribution_does_not_alert() -> None:
    shift = _shift(_labels(16_000, 3_894), _labels(5_000, 1_220))  # 24.4 %
    assert max(abs(c.change) for c in shift.classes) < 0.002
    assert shift.fired == () and monitor_verdict((), None, MonitorConfig(), shift) == (OK, ())


@pytest.mark.parametrize(
    ("positives", "fired"),
    [(2_800, ()), (3_000, ("class_share",))],  # 28 % (+3.7 points), 30 % (+5.7 points)
)
def test_a_real_but_small_shift_within_the_limit_does_not_alert(
    positives: int, fired: tuple[str, ...]
) -> None:
    """On 10 000 rows +3.7 points is highly significant, yet within monitor.max_class_share_
    change (0.05): only the change beyond the limit alerts."""
    shift = _shift(_labels(16_000, 3_894), _labels(10_000, positives))
    assert shift.p_value is not None and shift.p_value < 1e-9
    assert shift.fired == fired
    # the limit is the user's: 0.03 makes the 28 % batch alert too
    assert _shift(
        _labels(16_000, 3_894), _labels(10_000, positives), max_class_share_change=0.03
    ).fired == ("class_share",)


def test_a_small_batch_with_a_large_change_is_not_significant() -> None:
    """30 labelled rows at 40 % churn: compared (30 >= min_labelled_rows), +15.7 points, but the
    chi-square p-value (~0.04) is not below drift.p_value_threshold 0.01: no alert."""
    shift = _shift(_labels(16_000, 3_894), _labels(30, 12))
    assert shift.not_compared == "" and shift.labelled_rows == 30
    assert shift.classes[1].change == pytest.approx(0.156625)
    assert shift.p_value is not None and 0.01 < shift.p_value < 0.1
    assert shift.fired == () and monitor_verdict((), None, MonitorConfig(), shift) == (OK, ())


def test_fewer_than_min_labelled_rows_are_not_compared() -> None:
    batch = pd.concat([_labels(29, 29), pd.Series([None] * 20, name="churned")])
    shift = _shift(_labels(16_000, 3_894), batch.reset_index(drop=True))
    assert shift.labelled_rows == 29  # missing labels do not count
    assert shift.not_compared == "29 labelled rows < monitor.min_labelled_rows 30"
    assert shift.classes[1].batch == 1.0 and shift.fired == ()
    assert monitor_verdict((), None, MonitorConfig(), shift) == (OK, ())
    drift = compute_drift(
        pd.DataFrame({"x": np.arange(50.0), "churned": [True, False] * 25}),
        pd.DataFrame({"x": np.arange(49.0), "churned": batch.to_numpy()}),
        _schema(),
        DriftConfig(),
    )
    result = MonitorResult(OK, (), drift, None, 49, MonitorConfig(), label_shift=shift)
    text = monitor_markdown(result, "b.csv")
    assert (
        "**Label shift** of `churned`: not compared: 29 labelled rows < "
        "monitor.min_labelled_rows 30. 29 labelled rows, 16000 in training;"
    ) in text
    assert result.as_dict()["label_shift"]["not_compared"] == (
        "29 labelled rows < monitor.min_labelled_rows 30"
    )


def test_multiclass_names_every_class_beyond_the_limit() -> None:
    reference = pd.Series(["a"] * 600 + ["b"] * 300 + ["c"] * 100, name="churned")
    batch = pd.Series(["a"] * 520 + ["b"] * 300 + ["c"] * 180, name="churned")
    shift = _shift(reference, batch, task="multiclass")
    assert [(c.label, c.change) for c in shift.classes] == [("a", -0.08), ("b", 0.0), ("c", 0.08)]
    assert [c.label for c in shift.beyond()] == ["c", "a"]
    _, reasons = monitor_verdict((), None, MonitorConfig(), shift)
    assert reasons[0].startswith(
        "label shift in 'churned' (class share rule, 1000 labelled rows): class c 10.0% in "
        "training -> 18.0% in this batch (+8.0 points), class a 60.0% in training -> 52.0% in "
        "this batch (-8.0 points) (allowed: ±5.0 points"
    )


def test_regression_target_keeps_the_drift_rule() -> None:
    rng = np.random.default_rng(5)
    reference = pd.Series(rng.normal(100, 10, 2000), name="churned")
    same = _shift(reference, pd.Series(rng.normal(100, 10, 500), name="churned"), "regression")
    moved = _shift(reference, pd.Series(rng.normal(115, 10, 500), name="churned"), "regression")
    assert same.classes == () and same.fired == () and same.rule == "drift"
    assert moved.fired == ("drift",) and moved.test == "ks" and moved.psi > 0.2
    _, reasons = monitor_verdict((), None, MonitorConfig(), moved)
    assert reasons[0].startswith(
        f"label shift in 'churned' (drift rule, 500 labelled rows): PSI {moved.psi:.4f} >= "
        "drift.psi_threshold 0.2 and ks p-value"
    )
    assert moved.as_dict()["classes"] is None and moved.as_dict()["fired"] == ["drift"]


def test_the_target_is_judged_by_its_own_rule_not_counted_as_a_drifted_feature() -> None:
    shift = _shift(_labels(16_000, 3_894), _labels(5_000, 4_000))  # 80 %: both rules fire
    assert shift.fired == ("class_share", "drift")
    config = MonitorConfig(max_drifted_features=1)
    verdict, reasons = monitor_verdict(("x", "churned"), None, config, shift)
    assert verdict == ALERT and len(reasons) == 1  # x alone is within the allowance
    assert reasons[0].startswith("label shift in 'churned' (class share rule and drift rule,")
    assert "; PSI " in reasons[0] and "chi2 p-value 0.00e+00 < 0.01" in reasons[0]
    # without a label shift (no target in the batch) the drifted columns count as before
    assert monitor_verdict(("x", "churned"), None, config)[1] == (
        "2 column(s) drifted (allowed: 1): x, churned",
    )


def test_report_markdown_json_and_figure_show_the_shares() -> None:
    reference, batch = _labels(16_000, 3_894), _labels(5_000, 2_000)
    shift = _shift(reference, batch)
    drift = _drift_with_noise(reference, batch)
    verdict, reasons = monitor_verdict(drift.drifted, None, MonitorConfig(), shift)
    result = MonitorResult(verdict, reasons, drift, None, 5000, MonitorConfig(), label_shift=shift)
    text = monitor_markdown(result, "b.parquet")
    assert "**Label shift** of `churned`: **shifted** (class share rule). 5000 labelled " in text
    assert "| True | 24.3% | 40.0% | +15.7 | **yes** |" in text
    assert "| False | 75.7% | 60.0% | -15.7 | **yes** |" in text
    assert text.index("**Label shift**") < text.index("**Data drift**")
    raw = json.loads(json.dumps(result.as_dict()))
    assert raw["thresholds"]["max_class_share_change"] == 0.05
    entry = raw["label_shift"]
    assert entry["classes"]["True"] == {
        "reference_share": 0.243375,
        "batch_share": 0.4,
        "change": 0.156625,
    }
    assert entry["fired"] == ["class_share"] and entry["shifted"] is True
    assert entry["rule"] == "class_share" and entry["labelled_rows"] == 5000
    assert entry["drift"]["psi"] == shift.psi and entry["drift"]["test"] == "chi2"
    assert monitor_figure(result)[:8] == b"\x89PNG\r\n\x1a\n"


def test_max_class_share_change_is_checked() -> None:
    params = params_from_dict({"monitor": {"max_class_share_change": 0.1}})
    assert params.monitor.max_class_share_change == 0.1
    assert MonitorConfig().max_class_share_change == 0.05
    with pytest.raises(ConfigError, match=r"'monitor\.max_class_share_change' is 5\.0"):
        params_from_dict({"monitor": {"max_class_share_change": 5}})
    with pytest.raises(ConfigError, match=r"'monitor\.max_class_share_change' must be a number"):
        params_from_dict({"monitor": {"max_class_share_change": "5%"}})


def test_labels_not_known_yet_are_no_label_shift_and_are_counted() -> None:
    """The user review's case (F11): 500 of 5000 labels missing (not known yet) made the
    target 'drifted' (PSI 0.82) and the verdict alert; missing labels are no class."""
    reference, complete = _labels(16_000, 3_894), _labels(5_000, 1_220)
    batch = complete.astype("boolean")
    batch.iloc[:500] = pd.NA
    shift = _shift(reference, batch)
    assert shift == _shift(reference, complete.iloc[500:].reset_index(drop=True))
    assert shift.labelled_rows == 4_500 and shift.fired == () and shift.psi < 0.01
    assert [c.label for c in shift.classes] == ["False", "True"]  # no "(missing)" class
    drift = _drift_with_noise(reference, batch)
    assert drift.drifted == ()
    verdict, reasons = monitor_verdict(drift.drifted, None, MonitorConfig(), shift)
    assert (verdict, reasons) == (OK, ())
    result = MonitorResult(
        verdict, reasons, drift, None, 5_000, MonitorConfig(), labelled_rows=4_500,
        label_shift=shift, unlabelled_rows=500,
    )  # fmt: skip
    text = monitor_markdown(result, "b.csv")
    assert (
        "Batch `b.csv`: 5000 rows, 4500 labelled, 500 without a label yet (left out of the "
        "label shift and the target's drift).\n"
    ) in text
    raw = result.as_dict()
    assert (raw["labelled_rows"], raw["unlabelled_rows"]) == (4_500, 500)
    assert raw["drift"]["features"]["churned"]["current_rows"] == 4_500
    # every label present: the plain line, and 0 unlabelled rows in the JSON
    full = replace(result, labelled_rows=5_000, unlabelled_rows=0)
    assert "Batch `b.csv`: 5000 rows.\n" in monitor_markdown(full, "b.csv")
    assert full.as_dict()["unlabelled_rows"] == 0
    assert (
        MonitorResult(OK, (), drift, None, 1, MonitorConfig()).as_dict()["unlabelled_rows"] is None
    )  # no target column
