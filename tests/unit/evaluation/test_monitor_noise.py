"""The noise-aware live-metric rule of `mlpipe monitor` (monitor.noise): a drop beyond the
tolerance alerts only when it is also beyond noise; without intervals the tolerance decides and
the report says so."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import ConfigError, DriftConfig, MonitorConfig, params_from_dict
from mlpipe.data.drift import compute_drift
from mlpipe.data.schema import ColumnSpec, Schema
from mlpipe.evaluation.bootstrap import Interval
from mlpipe.evaluation.metrics import compute_metrics
from mlpipe.evaluation.monitor import (
    ALERT,
    OK,
    MonitorResult,
    NoiseEvidence,
    compare_metrics,
    live_intervals,
    monitor_markdown,
    monitor_verdict,
    noise_warnings,
)
from mlpipe.predictions import Predictions
from support.markdown import cell_counts_match, tables

CONFIG = MonitorConfig(metrics=("average_precision",), max_metric_drop_relative=0.05)
# The default demo's model card and intervals file (data/results/intervals.json).
CARD = {"roc_auc": 0.826966, "average_precision": 0.615249, "log_loss": 0.418494}
CARD_INTERVALS = {
    "roc_auc": Interval(0.811157, 0.840777),
    "average_precision": Interval(0.584335, 0.646419),
    "log_loss": Interval(0.4024, 0.43484),
}
SOURCE = "data/results/intervals.json"
SETTINGS = {"resamples": 300, "confidence": 0.95, "seed": 42, "max_rows": 50_000}


def _predictions(n: int, seed: int, signal: float) -> Predictions:
    """n rows of a binary model: 25 % positives, scores that rank them by ``signal``."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.25
    score = 1 / (1 + np.exp(-(signal * y - 1.5 + rng.normal(size=n))))
    return Predictions(
        np.where(y, "True", "False").astype(object),
        np.where(score >= 0.5, "True", "False").astype(object),
        np.column_stack([1 - score, score]),
        ("False", "True"),
    )


def _drift() -> object:
    schema = Schema(
        columns=(ColumnSpec(name="x", kind="numeric"), ColumnSpec(name="y", kind="boolean")),
        target="y",
        task="binary",
    )
    return compute_drift(
        pd.DataFrame({"x": np.arange(50.0), "y": [True, False] * 25}),
        pd.DataFrame({"x": np.arange(40.0), "y": [True, False] * 20}),
        schema,
        DriftConfig(),
    )


def test_a_drop_beyond_the_tolerance_but_within_noise_does_not_alert() -> None:
    """The review's case: 5 000 fresh customers of the same population, average precision
    0.6152 -> 0.5780 (6.0 % worse, allowed 5 %) alerted; the two intervals say it is noise."""
    live = {"average_precision": Interval(0.550, 0.605)}  # half-width 0.0275
    noise = NoiseEvidence(0.95, CARD_INTERVALS, live, SOURCE)
    (change,), _ = compare_metrics(
        CARD, {"average_precision": 0.578}, ["average_precision"], 0.05, noise=noise
    )
    # the drop 0.037249 against sqrt(0.031042**2 + 0.0275**2) = 0.041471
    assert change.worsening == pytest.approx(0.060543) and change.drop == pytest.approx(0.037249)
    assert change.noise == pytest.approx(math.hypot(0.031042, 0.0275), abs=1e-6)
    assert change.beyond_noise is False and change.worse is False
    assert change.within_noise(0.05) and not change.within_noise(0.07)
    assert monitor_verdict((), (change,), CONFIG) == (OK, ())
    assert change.as_dict() == {
        "direction": "higher",
        "base": 0.615249,
        "current": 0.578,
        "worsening_relative": 0.060543,
        "worse": False,
        "not_compared": None,
        "base_interval": {"low": 0.584335, "high": 0.646419},
        "interval": {"low": 0.55, "high": 0.605},
        "confidence": 0.95,
        "noise_half_width": 0.041471,
        "beyond_noise": False,
        "noise_not_tested": None,
    }
    result = MonitorResult(OK, (), _drift(), (change,), 5000, CONFIG, labelled_rows=5000)
    text = monitor_markdown(result, "fresh.parquet")
    cell_counts_match(text)
    (table,) = [t for t in tables(text) if t.header[0] == "metric"]
    assert table.header == [
        "metric", "better", "model card", "this batch", "worse by", "noise", "alert"
    ]  # fmt: skip
    assert table.row("average_precision") == [
        "average_precision", "higher", "0.6152 [0.5843, 0.6464]", "0.5780 [0.5500, 0.6050]",
        "+6.1%", "within ±0.0415", "no: within noise",
    ]  # fmt: skip
    assert (
        "- average_precision is 6.1% worse, more than the allowed 5.0%, but within noise: the "
        "drop 0.0372 is within ±0.0415, the half-width of the 95% interval of the difference "
        "(model card [0.5843, 0.6464], this batch [0.5500, 0.6050])."
    ) in text
    assert "sqrt(card half-width² + batch half-width²) (`monitor.noise: significant`)" in text


def test_a_large_drop_on_enough_rows_alerts_beyond_noise_with_the_numbers() -> None:
    """A model that ranks much worse on 2 000 labelled rows: roc_auc far below the card's
    interval; the batch's own interval comes from the seeded bootstrap."""
    batch = _predictions(2000, seed=1, signal=0.6)
    live = compute_metrics("binary", batch, "True")
    intervals = live_intervals(batch, "binary", "True", **SETTINGS)
    assert intervals == live_intervals(batch, "binary", "True", **SETTINGS)  # seeded
    auc = intervals["roc_auc"]
    assert auc.low < live["roc_auc"] < auc.high and 0.02 < auc.half_width < 0.04
    noise = NoiseEvidence(0.95, CARD_INTERVALS, intervals, SOURCE)
    config = MonitorConfig(metrics=("roc_auc", "log_loss"))
    changes, _ = compare_metrics(CARD, live, config.metrics, 0.05, noise=noise)
    roc = changes[0]
    assert roc.metric == "roc_auc" and roc.worse and roc.beyond_noise is True
    assert roc.noise == pytest.approx(math.hypot(0.01481, auc.half_width), abs=1e-6)
    assert roc.drop > 0.15 > roc.noise
    verdict, reasons = monitor_verdict((), changes, config)
    assert verdict == ALERT
    assert reasons[0] == (
        f"roc_auc dropped from 0.8270 to {live['roc_auc']:.4f} ({roc.worsening:+.1%} worse; "
        f"allowed 5.0%), beyond noise: the drop {roc.drop:.4f} is more than ±{roc.noise:.4f}, "
        "the half-width of the 95% interval of the difference (model card [0.8112, 0.8408], "
        f"this batch [{auc.low:.4f}, {auc.high:.4f}])"
    )
    result = MonitorResult(verdict, reasons, _drift(), changes, 2000, config)
    (table,) = [t for t in tables(monitor_markdown(result, "b.csv")) if t.header[0] == "metric"]
    assert table.row("roc_auc")[5:] == [f"beyond ±{roc.noise:.4f}", "yes"]  # bold stripped


def test_a_lower_is_better_metric_alerts_on_a_rise_beyond_noise() -> None:
    noise = NoiseEvidence(0.95, CARD_INTERVALS, {"log_loss": Interval(0.48, 0.52)}, SOURCE)
    (change,), _ = compare_metrics(CARD, {"log_loss": 0.5}, ["log_loss"], 0.05, noise=noise)
    assert change.drop == pytest.approx(0.081506) and change.noise == pytest.approx(0.025751)
    config = MonitorConfig(metrics=("log_loss",))
    assert monitor_verdict((), (change,), config) == (
        ALERT,
        (
            "log_loss rose from 0.4185 to 0.5000 (+19.5% worse; allowed 5.0%), beyond noise: the "
            "rise 0.0815 is more than ±0.0258, the half-width of the 95% interval of the "
            "difference (model card [0.4024, 0.4348], this batch [0.4800, 0.5200])",
        ),
    )
    (better,), _ = compare_metrics(CARD, {"log_loss": 0.41}, ["log_loss"], 0.05, noise=noise)
    result = MonitorResult(OK, (), _drift(), (better,), 5000, config)
    (table,) = [t for t in tables(monitor_markdown(result, "b.csv")) if t.header[0] == "metric"]
    assert table.row("log_loss")[4:] == ["-2.0%", "no rise (±0.0258)", ""]


def test_the_same_population_alerts_less_often_than_the_plain_tolerance() -> None:
    """Sixteen pairs of (test set, batch), 400 rows each, from one population (a seeded
    simulation): the plain 5 % tolerance on average precision calls 3 batches worse, the noise
    rule none; the same card against a model that ranks far worse still alerts."""
    plain = noisy = 0
    for k in range(16):
        test, batch = _predictions(400, 2 * k, 2.0), _predictions(400, 2 * k + 1, 2.0)
        card = compute_metrics("binary", test, "True")
        live = compute_metrics("binary", batch, "True")
        noise = NoiseEvidence(
            0.95,
            live_intervals(test, "binary", "True", **SETTINGS),
            live_intervals(batch, "binary", "True", **SETTINGS),
        )
        ((ignored,), _) = compare_metrics(card, live, ["average_precision"], 0.05)
        ((tested,), _) = compare_metrics(card, live, ["average_precision"], 0.05, noise=noise)
        assert tested.beyond_noise is not None
        plain += ignored.worse
        noisy += tested.worse
    assert (plain, noisy) == (3, 0)
    worse = _predictions(400, 99, 0.5)
    noise = NoiseEvidence(
        0.95,
        live_intervals(_predictions(400, 0, 2.0), "binary", "True", **SETTINGS),
        live_intervals(worse, "binary", "True", **SETTINGS),
    )
    card = compute_metrics("binary", _predictions(400, 0, 2.0), "True")
    ((change,), _) = compare_metrics(
        card, compute_metrics("binary", worse, "True"), ["average_precision"], 0.05, noise=noise
    )
    assert change.worse and change.beyond_noise and change.drop > 2 * change.noise


@pytest.mark.parametrize(
    ("card", "live", "unavailable", "why"),
    [
        ({}, {}, f"{SOURCE} not found (an older model card)", f"{SOURCE} not found (an older "
         "model card)"),
        ({"log_loss": Interval(0.40, 0.43)}, {"average_precision": Interval(0.55, 0.60)}, "",
         f"{SOURCE} has no test interval for it"),
        (CARD_INTERVALS, {}, "", "undefined in too many bootstrap resamples of this batch"),
    ],
    ids=["no-file", "card-lacks-metric", "batch-lacks-interval"],
)  # fmt: skip
def test_without_both_intervals_the_tolerance_alone_decides_and_a_warning_says_so(
    card: dict, live: dict, unavailable: str, why: str
) -> None:
    noise = NoiseEvidence(0.95, card, live, SOURCE, unavailable)
    (change,), _ = compare_metrics(
        CARD, {"average_precision": 0.578}, ["average_precision"], 0.05, noise=noise
    )
    assert change.worse is True and change.beyond_noise is None and change.noise is None
    assert change.noise_not_tested == why and change.as_dict()["noise_not_tested"] == why
    verdict, reasons = monitor_verdict((), (change,), CONFIG)
    assert verdict == ALERT
    assert reasons == (
        "average_precision dropped from 0.6152 to 0.5780 (+6.1% worse; allowed 5.0%)",
    )
    assert noise_warnings((change,)) == (
        "monitor.noise: average_precision judged on monitor.max_metric_drop_relative alone, "
        f"not tested against noise: {why}",
    )
    result = MonitorResult(verdict, reasons, _drift(), (change,), 5000, CONFIG)
    (table,) = [t for t in tables(monitor_markdown(result, "b.csv")) if t.header[0] == "metric"]
    assert table.row("average_precision")[5:] == ["-", "yes"]


def test_noise_warnings_group_metrics_and_skip_those_not_compared() -> None:
    noise = NoiseEvidence(0.95, {}, {}, SOURCE, f"{SOURCE} not found")
    both, _ = compare_metrics(CARD, CARD, ["roc_auc", "log_loss"], 0.05, noise=noise)
    assert noise_warnings(both) == (
        "monitor.noise: roc_auc, log_loss judged on monitor.max_metric_drop_relative alone, "
        f"not tested against noise: {SOURCE} not found",
    )
    held, _ = compare_metrics(CARD, CARD, ["roc_auc"], 0.05, "10 labelled rows", noise=noise)
    assert noise_warnings(held) == ()


def test_monitor_noise_ignore_keeps_the_plain_tolerance() -> None:
    (change,), _ = compare_metrics(CARD, {"average_precision": 0.578}, ["average_precision"], 0.05)
    assert change.worse and change.beyond_noise is None and change.noise_not_tested == ""
    entry = change.as_dict()
    assert [entry[k] for k in ("base_interval", "interval", "noise_half_width")] == [None] * 3
    assert noise_warnings((change,)) == ()
    result = MonitorResult(ALERT, (), _drift(), (change,), 5000, MonitorConfig(noise="ignore"))
    text = monitor_markdown(result, "b.csv")
    assert "beyond noise" not in text and "| +6.1% | - | **yes** |" in text
    assert json.loads(json.dumps(result.as_dict()))["thresholds"]["noise"] == "ignore"


def test_monitor_noise_is_a_checked_setting() -> None:
    assert MonitorConfig().noise == "significant"
    assert params_from_dict({"monitor": {"noise": "ignore"}}).monitor.noise == "ignore"
    with pytest.raises(ConfigError, match=r"'monitor\.noise' is 'sometimes'; allowed values"):
        params_from_dict({"monitor": {"noise": "sometimes"}})
