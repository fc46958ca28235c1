"""The monitoring verdict: drift counts, metric drops with their direction, missing labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import ConfigError, DriftConfig, MonitorConfig, params_from_dict
from mlpipe.data.budgets import INVALID, MISSING, BudgetCount, evaluate_budgets
from mlpipe.data.drift import DriftReport, FeatureDrift, compute_drift
from mlpipe.data.schema import ColumnSpec, Schema
from mlpipe.evaluation.monitor import (
    ALERT,
    OK,
    MonitorResult,
    compare_metrics,
    label_shift,
    metrics_panel_title,
    monitor_figure,
    monitor_markdown,
    monitor_plot,
    monitor_verdict,
    too_few_labelled,
    unavailable_reasons,
    untested_warning,
)
from support.markdown import cell_counts_match, foreign_html, mentions, tables

CONFIG = MonitorConfig(
    max_drifted_features=1, metrics=("roc_auc", "log_loss"), max_metric_drop_relative=0.05
)
BASE = {"roc_auc": 0.80, "log_loss": 0.40, "accuracy": 0.9}


@pytest.mark.parametrize(
    ("drifted", "verdict"),
    [((), OK), (("age",), OK), (("age", "plan"), ALERT)],
)
def test_drift_count_against_the_threshold(drifted: tuple[str, ...], verdict: str) -> None:
    got, reasons = monitor_verdict(drifted, None, CONFIG)
    assert got == verdict
    if verdict == ALERT:
        assert reasons == ("2 column(s) drifted (allowed: 1): age, plan",)
    else:
        assert reasons == ()


def test_higher_is_better_metric_alerts_only_when_it_drops_beyond_the_tolerance() -> None:
    # roc_auc 0.80 -> 0.77 is 3.75 % worse (ok); -> 0.75 is 6.25 % worse (alert)
    small, _ = compare_metrics(BASE, {"roc_auc": 0.77, "log_loss": 0.40}, ["roc_auc"], 0.05)
    big, _ = compare_metrics(BASE, {"roc_auc": 0.75, "log_loss": 0.40}, ["roc_auc"], 0.05)
    rise, _ = compare_metrics(BASE, {"roc_auc": 0.95, "log_loss": 0.40}, ["roc_auc"], 0.05)
    assert small[0].worsening == pytest.approx(0.0375) and not small[0].worse
    assert big[0].worsening == pytest.approx(0.0625) and big[0].worse
    assert rise[0].worsening < 0 and not rise[0].worse
    assert monitor_verdict((), small, CONFIG) == (OK, ())
    verdict, reasons = monitor_verdict((), big, CONFIG)
    assert verdict == ALERT
    assert reasons == ("roc_auc dropped from 0.8000 to 0.7500 (+6.2% worse; allowed 5.0%)",)


def test_lower_is_better_metric_alerts_when_it_rises() -> None:
    # log_loss 0.40 -> 0.30 improved; 0.40 -> 0.44 is 10 % worse
    better, _ = compare_metrics(BASE, {"log_loss": 0.30}, ["log_loss"], 0.05)
    worse, _ = compare_metrics(BASE, {"log_loss": 0.44}, ["log_loss"], 0.05)
    assert better[0].direction == "lower" and not better[0].worse
    assert worse[0].worse and worse[0].worsening == pytest.approx(0.1)
    verdict, reasons = monitor_verdict((), worse, CONFIG)
    assert verdict == ALERT and reasons[0].startswith("log_loss rose from 0.4000 to 0.4400")


def test_metrics_missing_on_either_side_are_listed_not_compared() -> None:
    changes, missing = compare_metrics(BASE, {"roc_auc": 0.8}, ["roc_auc", "rmse", "log_loss"], 0)
    assert [c.metric for c in changes] == ["roc_auc"]
    assert missing == ("rmse", "log_loss")


def test_unknown_metric_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"monitor.metrics: unknown metric\(s\) \['roc'\]"):
        compare_metrics(BASE, BASE, ["roc"], 0.05)


def test_without_labels_only_drift_decides_and_the_report_says_so() -> None:
    schema = Schema(
        columns=(
            ColumnSpec(name="x", kind="numeric"),
            ColumnSpec(name="y", kind="boolean"),
        ),
        target="y",
        task="binary",
    )
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=500), "y": rng.random(500) < 0.5})
    cur = pd.DataFrame({"x": rng.normal(loc=3.0, size=300), "y": rng.random(300) < 0.5})
    drift = compute_drift(ref, cur, schema, DriftConfig())
    verdict, reasons = monitor_verdict(drift.drifted, None, MonitorConfig())
    assert drift.drifted == ("x",) and verdict == ALERT
    result = MonitorResult(verdict, reasons, drift, None, 300, MonitorConfig())
    text = monitor_markdown(result, "batch.parquet")
    assert "## Model monitoring: 🚨 alert" in text
    assert "- 1 column(s) drifted (allowed: 0): x" in text
    assert "**Live metrics**: not computed (run with `--labels`" in text
    assert result.as_dict()["metrics"] is None and result.as_dict()["drifted"] == ["x"]
    png = monitor_figure(result)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert monitor_figure(result) == png  # deterministic bytes


def test_monitor_params_are_typed_and_checked() -> None:
    params = params_from_dict({"monitor": {"max_drifted_features": 2, "metrics": ["f1"]}})
    assert params.monitor == MonitorConfig(max_drifted_features=2, metrics=("f1",))
    with pytest.raises(ConfigError, match=r"'monitor\.max_metric_drop_relative' is 1\.5"):
        params_from_dict({"monitor": {"max_metric_drop_relative": 1.5}})
    with pytest.raises(ConfigError, match=r"unknown key 'monitor\.max_drifted'"):
        params_from_dict({"monitor": {"max_drifted": 1}})


def _xy_schema() -> Schema:
    return Schema(
        columns=(ColumnSpec(name="x", kind="numeric"), ColumnSpec(name="y", kind="boolean")),
        target="y",
        task="binary",
    )


def test_a_batch_below_min_rows_is_ok_with_a_warning_not_an_alert() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=500), "y": rng.random(500) < 0.5})
    cur = pd.DataFrame({"x": rng.normal(loc=3.0, size=10), "y": rng.random(10) < 0.5})
    drift = compute_drift(ref, cur, _xy_schema(), DriftConfig())
    assert drift.drifted == () and drift.not_tested == ("x", "y")
    assert drift.features[0].flags == ("psi",)  # a large PSI, but 10 rows cannot confirm it
    verdict, reasons = monitor_verdict(drift.drifted, None, MonitorConfig())
    assert (verdict, reasons) == (OK, ())
    warning = untested_warning(drift, 30)
    assert warning == (
        "the batch has 10 rows, fewer than drift.min_rows 30: drift was not tested for any of "
        "the 2 columns, so this batch cannot raise a drift alert; monitor batches of at least "
        "30 rows"
    )
    result = MonitorResult(verdict, reasons, drift, None, 10, MonitorConfig(), (warning,))
    text = monitor_markdown(result, "batch10.csv")
    assert "## Model monitoring: ✅ ok" in text and "No threshold crossed." in text
    assert f"> **Warning**: {warning}" in text
    assert "**2 of 2 columns not tested**" in text
    assert result.as_dict()["warnings"] == [warning]
    assert result.as_dict()["drift"]["not_tested"] == ["x", "y"]
    assert monitor_figure(result)[:8] == b"\x89PNG\r\n\x1a\n"


def test_columns_not_tested_in_a_large_batch_are_named() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=500), "y": rng.random(500) < 0.5})
    x = np.where(np.arange(200) < 12, rng.normal(size=200), np.nan)
    cur = pd.DataFrame({"x": x, "y": rng.random(200) < 0.5})
    drift = compute_drift(ref, cur, _xy_schema(), DriftConfig())
    assert untested_warning(drift, 30) == (
        "drift not tested for 1 of 2 columns with fewer than drift.min_rows 30 values: x; "
        "they cannot raise a drift alert"
    )
    tested = compute_drift(ref, cur.fillna(0.0), _xy_schema(), DriftConfig())
    assert untested_warning(tested, 30) is None


def test_metrics_of_a_batch_below_min_labelled_rows_are_shown_but_cannot_alert() -> None:
    """The user review's case: 10 labelled rows gave exit 3, 'log_loss rose from 0.0138 to
    0.0297 (+115.6% worse)'."""
    config = MonitorConfig(metrics=("log_loss",), min_labelled_rows=30)
    reason = too_few_labelled(10, config.min_labelled_rows)
    assert reason == "10 labelled rows < monitor.min_labelled_rows 30"
    assert too_few_labelled(30, 30) == ""
    card = {"log_loss": 0.0138}
    changes, _ = compare_metrics(card, {"log_loss": 0.0297}, ["log_loss"], 0.05, reason)
    assert changes[0].worsening == pytest.approx(1.152174) and changes[0].worse is False
    assert changes[0].as_dict()["not_compared"] == reason
    assert monitor_verdict((), changes, config) == (OK, ())
    enough, _ = compare_metrics(card, {"log_loss": 0.0297}, ["log_loss"], 0.05)
    assert enough[0].worse and enough[0].as_dict()["not_compared"] is None
    assert monitor_verdict((), enough, config)[0] == ALERT
    drift = compute_drift(
        pd.DataFrame({"x": np.arange(50.0), "y": [True, False] * 25}),
        pd.DataFrame({"x": np.arange(10.0), "y": [True, False] * 5}),
        _xy_schema(),
        DriftConfig(),
    )
    result = MonitorResult(OK, (), drift, changes, 10, config, labelled_rows=10)
    text = monitor_markdown(result, "tiny.parquet")
    assert (
        "**Live metrics** (10 labelled rows) against the model card's test metrics, not "
        "compared: 10 labelled rows < monitor.min_labelled_rows 30:"
    ) in text
    assert "| log_loss | lower | 0.0138 | 0.0297 | +115.2% | - | not compared |" in text
    assert result.as_dict()["labelled_rows"] == 10
    assert result.as_dict()["thresholds"]["min_labelled_rows"] == 30
    assert monitor_figure(result)[:8] == b"\x89PNG\r\n\x1a\n"


def test_unavailable_metrics_say_why_and_how_to_fix_the_params() -> None:
    card = {"log_loss": 0.2, "balanced_accuracy": 0.9, "roc_auc_ovr_macro": 0.95}
    reasons = unavailable_reasons(
        ["roc_auc", "average_precision", "roc_auc_ovr_macro"],
        card,
        "multiclass",
        batch_classes=["Adelie"],
        model_classes=["Adelie", "Chinstrap", "Gentoo"],
    )
    hint = (
        "not a metric of this multiclass model (not in the model card): set monitor.metrics "
        "in params.yaml to metrics of this task, e.g. [balanced_accuracy, f1_macro, log_loss]"
    )
    undefined = "undefined for this batch: its labels hold 1 of the model's 3 classes (Adelie)"
    assert reasons == (
        ("roc_auc", hint), ("average_precision", hint), ("roc_auc_ovr_macro", undefined)
    )  # fmt: skip
    drift = compute_drift(
        pd.DataFrame({"x": np.arange(50.0), "y": [True, False] * 25}),
        pd.DataFrame({"x": np.arange(40.0), "y": [True, False] * 20}),
        _xy_schema(),
        DriftConfig(),
    )
    result = MonitorResult(OK, (), drift, (), 40, MonitorConfig(), unavailable_metrics=reasons)
    text = monitor_markdown(result, "b.csv")
    assert (
        f"Not available:\n\n- roc_auc, average_precision: {hint}\n"
        f"- roc_auc_ovr_macro: {undefined}\n" in text
    )
    assert result.as_dict()["unavailable_metrics"]["roc_auc"] == hint
    regression = unavailable_reasons(["roc_auc"], {"rmse": 1.0}, "regression")
    assert regression[0][1].endswith("e.g. [rmse, mae, r2]")


def test_monitor_min_labelled_rows_is_checked() -> None:
    assert (
        params_from_dict({"monitor": {"min_labelled_rows": 100}}).monitor.min_labelled_rows == 100
    )
    with pytest.raises(ConfigError, match=r"'monitor\.min_labelled_rows' is 0"):
        params_from_dict({"monitor": {"min_labelled_rows": 0}})


def test_the_metrics_panel_shows_the_metrics_state_not_the_verdict() -> None:
    """The user review's case (F9): an alert from drift alone titled the metrics panel
    "Metrics: alert" though every metric was fine; the verdict is the figure's title."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=500), "y": rng.random(500) < 0.5})
    cur = pd.DataFrame({"x": rng.normal(loc=3.0, size=300), "y": rng.random(300) < 0.5})
    drift = compute_drift(ref, cur, _xy_schema(), DriftConfig())
    fine, _ = compare_metrics(BASE, {"roc_auc": 0.81, "log_loss": 0.41}, CONFIG.metrics, 0.05)
    worse, _ = compare_metrics(BASE, {"roc_auc": 0.70, "log_loss": 0.41}, CONFIG.metrics, 0.05)
    held, _ = compare_metrics(BASE, {"roc_auc": 0.70}, ["roc_auc"], 0.05, "10 labelled rows")
    titles = {}
    for name, changes in (("fine", fine), ("worse", worse), ("held", held)):
        verdict, reasons = monitor_verdict(drift.drifted, changes, MonitorConfig())
        assert verdict == ALERT and reasons[0] == "1 column(s) drifted (allowed: 0): x"
        result = MonitorResult(verdict, reasons, drift, changes, 300, MonitorConfig())
        fig = monitor_plot(result)
        titles[name] = (fig.get_suptitle(), fig.axes[1].get_title())
        plt.close(fig)
        assert monitor_figure(result)[:8] == b"\x89PNG\r\n\x1a\n"
    assert titles == {
        "fine": ("Model monitoring: alert", "Live metrics: ok\n(none worse than allowed)"),
        "worse": (
            "Model monitoring: alert",
            "Live metrics: alert\n(roc_auc worse than allowed)",
        ),
        "held": ("Model monitoring: alert", "Live metrics: not compared\n(too few labelled rows)"),
    }
    assert metrics_panel_title(worse + held) == (
        "Live metrics: alert\n(roc_auc worse than allowed)"
    )
    ok = MonitorResult(OK, (), compute_drift(ref, ref, _xy_schema(), DriftConfig()), fine, 500,
                       MonitorConfig())  # fmt: skip
    fig = monitor_plot(ok)
    assert fig.get_suptitle() == "Model monitoring: ok" and len(fig.axes) == 2
    plt.close(fig)


def test_the_report_shows_the_data_contracts_p_values() -> None:
    counts = [
        BudgetCount("age", MISSING, 0.06, "max_missing 0.06 in the schema", 9),
        BudgetCount("age", INVALID, 0.0, "validate.max_invalid_fraction 0", 0),
        BudgetCount("plan", MISSING, 0.0, "max_missing 0 in the schema", 1),
    ]
    tests = evaluate_budgets(counts, 100, 20000, 0.001)
    schema = Schema(columns=(ColumnSpec(name="x", kind="numeric"),), target="x", task="regression")
    frame = pd.DataFrame({"x": np.arange(100.0)})
    drift = compute_drift(frame, frame, schema, DriftConfig())
    result = MonitorResult(
        OK, (), drift, None, 100, MonitorConfig(), contract=tests, contract_alpha=0.001
    )
    text = monitor_markdown(result, "batch.csv")
    assert (
        "**Data contract**: 3 budget tests (missing and invalid values per column), none "
        "crossed: a budget is crossed when the one-sided binomial p-value is below "
        "predict.contract_alpha 0.001 / 3 = 0.00033."
    ) in text
    p_age, p_plan = tests[0].p_value, tests[2].p_value
    assert f"| age | missing | 9 | 9.00% | 6.00% | 6.54% | {p_age:.2g} |" in text
    assert f"| plan | missing | 1 | 1.00% | 0.00% | 0.03% | {p_plan:.2g} |" in text
    assert "| age | invalid |" not in text  # no invalid value: p-value 1, not listed
    contract = result.as_dict()["contract"]
    assert contract["alpha"] == 0.001 and len(contract["tests"]) == 3
    assert contract["tests"][2] == {
        "column": "plan",
        "budget": "missing",
        "allowed": 0.0,
        "setting": "max_missing 0 in the schema",
        "rows": 100,
        "count": 1,
        "tested_rate": pytest.approx(0.000345, abs=1e-6),
        "p_value": pytest.approx(p_plan, rel=1e-5),
        "level": pytest.approx(0.001 / 3, rel=1e-5),
        "crossed": False,
    }


def test_the_issue_body_escapes_names_labels_and_messages() -> None:
    """The monitoring issue renders on GitHub like the PR comment: a column, a class or a
    warning from the batch cannot mention anyone, inject HTML or break a table."""

    def feature(name: str, psi: float) -> FeatureDrift:
        flags = ("psi", "test") if psi >= 0.2 else ()
        return FeatureDrift(name, "categorical", psi, "chi2", 3.5, 0.001, 80, 20, flags)

    drift = DriftReport(
        80, 20, 0.2, 0.01, (feature("income | net", 0.45), feature("@octocat", 0.3))
    )
    reference = pd.Series(["@octocat"] * 60 + ["a|b"] * 40)
    batch = pd.Series(["@octocat"] * 20 + ["a|b"] * 80)
    shift = label_shift(reference, batch, "binary", None, MonitorConfig(), DriftConfig())
    assert shift.shifted
    verdict, reasons = monitor_verdict(drift.drifted, None, MonitorConfig(), shift)
    warning = "unseen categories in '<img src=x>': 3 rows (#12)"
    result = MonitorResult(verdict, reasons, drift, None, 100, MonitorConfig(), (warning,))
    result = dataclasses.replace(result, label_shift=shift)
    text = monitor_markdown(result, "@team|batch.csv")
    cell_counts_match(text)
    assert foreign_html(text) == [] and mentions(text) == []
    assert "Batch <code>&#64;team&#124;batch&#46;csv</code>: 100 rows." in text
    assert "- 2 column(s) drifted (allowed: 0): income \\| net, <code>&#64;octocat</code>" in text
    assert (
        "> **Warning**: unseen categories in '\\<img src=x>': 3 rows (<code>&#35;12</code>)"
        in text
    )
    classes = next(t for t in tables(text) if t.header[0] == "class")
    assert classes.row("a|b")[1:3] == ["40.0%", "80.0%"]
    (columns,) = [t for t in tables(text) if t.header[0] == "column"]
    assert columns.row("income | net")[columns.column("PSI")] == "0.4500"
