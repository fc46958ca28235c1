"""Bootstrap intervals: the weighted metrics equal scikit-learn's, identical models are the
same, a clearly worse model is worse, relative changes are computed per resample, and the 95 %
intervals cover the true difference about 95 % of the time (a seeded simulation)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mlpipe.evaluation import bootstrap
from mlpipe.evaluation.bootstrap import (
    Difference,
    Interval,
    Scored,
    compare,
    metric_intervals,
    point_metrics,
    poisson_counts,
    verdict,
)
from mlpipe.evaluation.metrics import DIRECTIONS, LOWER, Predictions, compute_metrics
from mlpipe.evaluation.rows import prediction_rows, scored

SETTINGS = {"resamples": 400, "confidence": 0.95, "seed": 3, "max_rows": 50_000}


def _binary(n: int, seed: int, noise: float = 1.0, ties: bool = False) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    score = 1 / (1 + np.exp(-(1.5 * y - 0.8 + noise * rng.normal(size=n))))
    if ties:
        score = np.round(score, 1)
    classes = ("no", "yes")
    return Predictions(
        np.where(y, "yes", "no").astype(object),
        np.where(score >= 0.5, "yes", "no").astype(object),
        np.column_stack([1 - score, score]),
        classes,
    )


def _multiclass(n: int, seed: int) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet(np.ones(3), n)
    proba[np.arange(n), y] += 0.6
    proba /= proba.sum(axis=1, keepdims=True)
    classes = ("a", "b", "c")
    labels = np.asarray(classes, dtype=object)
    return Predictions(labels[y], labels[proba.argmax(axis=1)], proba, classes)


def _regression(n: int, seed: int) -> Predictions:
    rng = np.random.default_rng(seed)
    y = rng.normal(1000, 10, n)  # a large mean: sums of squares must not cancel
    return Predictions(y, y + rng.normal(0, 4, n))


def _scored(p: Predictions, task: str) -> Scored:
    n = len(p.y_true)
    frame = prediction_rows(p, pd.DataFrame(index=range(n)), np.zeros(n), task)
    return scored(frame)


@pytest.mark.parametrize(
    ("task", "predictions"),
    [
        ("binary", _binary(300, 1)),
        ("binary", _binary(300, 2, ties=True)),  # tied scores: half credit, groups in AP
        ("multiclass", _multiclass(300, 3)),
        ("regression", _regression(300, 4)),
    ],
)
def test_every_metric_with_unit_counts_is_scikit_learns(task: str, predictions) -> None:
    expected = compute_metrics(task, predictions)
    mine = point_metrics(_scored(predictions, task))
    assert set(mine) == set(expected) - {"rows"}
    for name, value in mine.items():
        assert round(value, 6) == pytest.approx(expected[name], abs=1e-6), name


def test_poisson_counts_are_seeded_and_do_not_depend_on_the_block_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = np.concatenate(list(poisson_counts(50, 1001, (7, 0))))
    monkeypatch.setattr(bootstrap, "BLOCK_CELLS", 3000)  # blocks of 2 resamples
    blocks = list(poisson_counts(50, 1001, (7, 0)))
    assert len(blocks) == 25
    assert np.array_equal(np.concatenate(blocks), whole)
    assert not np.array_equal(np.concatenate(list(poisson_counts(50, 1001, (8, 0)))), whole)
    # Poisson(1): mean and variance 1, P(0) = e^-1
    assert whole.mean() == pytest.approx(1, abs=0.01)
    assert whole.var() == pytest.approx(1, abs=0.02)
    assert (whole == 0).mean() == pytest.approx(math.exp(-1), abs=0.01)


def test_identical_models_are_the_same_on_every_metric() -> None:
    for task, p in (("binary", _binary(500, 5)), ("multiclass", _multiclass(500, 6))):
        s = _scored(p, task)
        result = compare(s, s, paired=True, **SETTINGS)
        assert result.paired and result.differences and result.identical
        for name, difference in result.differences.items():
            assert difference.estimate == 0
            assert difference.interval == Interval(0.0, 0.0), name
            assert difference.relative == Interval(0.0, 0.0), name
            assert difference.unchanged, name
            assert verdict(DIRECTIONS.get(name), difference) == "same", name
    # Other scores on the same rows, or the same rows unpaired: not identical, and a metric
    # that did change is not "same".
    a = _scored(_binary(500, 5), "binary")
    b = Scored("binary", a.y, a.pred, np.clip(a.score * 0.9, 0, 1), a.classes)
    moved = compare(a, b, paired=True, **SETTINGS)
    assert not moved.identical
    assert moved.differences["accuracy"].unchanged  # the same predicted classes on every row
    assert verdict("higher", moved.differences["accuracy"]) == "same"
    assert not moved.differences["log_loss"].unchanged
    assert verdict("lower", moved.differences["log_loss"]) != "same"
    assert not compare(a, a, paired=False, **SETTINGS).identical


def test_the_relative_change_is_computed_per_resample_and_stays_above_minus_100_percent() -> None:
    """69 test rows, a base with a few confidently wrong predictions (a heavy log_loss tail)
    and a PR that fixes them: the absolute interval divided by the base value reaches below
    -100 %, which no log_loss can; the relative change of each resample cannot."""
    rng = np.random.default_rng(21)
    n = 69
    y = rng.random(n) < 0.4
    good = np.clip(np.where(y, 0.7, 0.3) + rng.normal(0, 0.1, n), 0.02, 0.98)
    bad = good.copy()
    wrong = np.flatnonzero(y)[:3]
    bad[wrong] = 1e-9  # three positives scored as certain negatives
    base = Scored("binary", y, bad >= 0.5, bad, ("no", "yes"))
    pr = Scored("binary", y, good >= 0.5, good, ("no", "yes"))
    for paired in (True, False):
        difference = compare(base, pr, paired=paired, **SETTINGS).differences["log_loss"]
        old = point_metrics(base)["log_loss"]
        assert difference.interval.low / old < -1  # the old way: past -100 %
        relative = difference.relative
        assert -1 < relative.low < difference.estimate / old < relative.high <= 0, paired
    # A base of 0 in every resample has no relative interval.
    zero = Scored("regression", np.ones(50), np.ones(50))
    off = Scored("regression", np.ones(50), np.full(50, 1.5))
    mae = compare(zero, off, paired=True, **SETTINGS).differences["mae"]
    assert mae.interval == Interval(0.5, 0.5) and mae.relative is None


def test_a_clearly_worse_model_on_a_large_test_set_is_worse() -> None:
    good = _scored(_binary(20_000, 7, noise=0.6), "binary")
    rng = np.random.default_rng(8)  # the same rows, scores blurred by extra noise
    blurred = 1 / (
        1 + np.exp(-(np.log(good.score / (1 - good.score)) + rng.normal(0, 1.5, 20_000)))
    )
    bad = Scored("binary", good.y, blurred >= 0.5, blurred, good.classes)
    result = compare(good, bad, paired=True, **SETTINGS)
    for name in ("roc_auc", "average_precision", "log_loss", "brier", "accuracy"):
        difference = result.differences[name]
        assert verdict(DIRECTIONS.get(name), difference) == "worse", name
    auc = result.differences["roc_auc"]
    assert auc.interval.high < 0 < auc.interval.half_width < 0.01


def test_paired_intervals_are_narrower_than_unpaired_ones_on_the_same_rows() -> None:
    a = _scored(_binary(2000, 9), "binary")
    rng = np.random.default_rng(10)
    score = np.clip(a.score + rng.normal(0, 0.05, 2000), 0, 1)
    b = Scored("binary", a.y, score >= 0.5, score, a.classes)
    paired = compare(a, b, paired=True, **SETTINGS).differences["roc_auc"]
    unpaired = compare(a, b, paired=False, **SETTINGS).differences["roc_auc"]
    assert paired.estimate == unpaired.estimate
    assert paired.interval.half_width * 3 < unpaired.interval.half_width


def test_unpaired_sides_may_have_different_rows_and_a_paired_call_may_not() -> None:
    a, b = _scored(_binary(300, 11), "binary"), _scored(_binary(400, 12), "binary")
    result = compare(a, b, paired=False, unpaired_reason="the split changed", **SETTINGS)
    assert result.rows == (300, 400) and not result.paired
    assert result.unpaired_reason == "the split changed"
    assert result.differences["roc_auc"].interval.low < result.differences["roc_auc"].estimate
    with pytest.raises(ValueError, match="paired sides differ in rows: 300 and 400"):
        compare(a, b, paired=True, **SETTINGS)


def test_paired_95_percent_intervals_cover_the_true_auc_difference_about_95_percent() -> None:
    """Binormal scores: a model's AUC is Phi(mu / sqrt(2)), so the true difference is known.
    300 seeded test sets of 300 rows; the paired interval must cover it in 95 % of them, within
    three binomial standard deviations (0.912 to 0.988). Intervals that ignore the pairing are
    too wide (they cover every time) and fail the upper bound, too narrow ones the lower."""
    mu_a, mu_b, n, draws = 1.2, 1.0, 300, 300
    truth = norm.cdf(mu_a / math.sqrt(2)) - norm.cdf(mu_b / math.sqrt(2))
    covered = {True: 0, False: 0}
    for draw in range(draws):
        rng = np.random.default_rng(5000 + draw)
        y = rng.random(n) < 0.4
        shared = rng.normal(size=n)  # the two models' errors are correlated (rho 0.5)
        errors = [np.sqrt(0.5) * shared + np.sqrt(0.5) * rng.normal(size=n) for _ in range(2)]
        sides = []
        for mu, error in zip((mu_b, mu_a), errors, strict=True):
            score = 1 / (1 + np.exp(-(mu * y + error)))  # monotone: same AUC as mu * y + error
            sides.append(Scored("binary", y, score >= 0.5, score, ("no", "yes")))
        for paired in (True, False) if draw < 100 else (True,):
            result = compare(
                *sides, paired=paired, resamples=400, confidence=0.95, seed=draw, max_rows=n
            )
            interval = result.differences["roc_auc"].interval
            covered[paired] += interval.low <= truth <= interval.high
    sd = math.sqrt(0.95 * 0.05 / draws)
    assert 0.95 - 3 * sd <= covered[True] / draws <= 0.95 + 3 * sd
    assert covered[False] >= 99  # of 100: the unpaired interval is far wider than needed


def test_a_test_set_above_max_rows_is_resampled_on_a_sample_and_rescaled() -> None:
    s = _scored(_binary(40_000, 13), "binary")
    full = metric_intervals(s, resamples=300, confidence=0.95, seed=1, max_rows=40_000)
    capped = metric_intervals(s, resamples=300, confidence=0.95, seed=1, max_rows=5_000)
    point = point_metrics(s)
    for name in ("roc_auc", "average_precision", "log_loss", "accuracy"):
        assert capped[name].low < point[name] < capped[name].high, name
        # the same width within sampling error, not the 2.8 x of 5 000 rows unscaled
        assert capped[name].half_width == pytest.approx(full[name].half_width, rel=0.25), name


def test_regression_and_multiclass_intervals_surround_the_values() -> None:
    for task, p in (("regression", _regression(400, 14)), ("multiclass", _multiclass(400, 15))):
        s = _scored(p, task)
        intervals = metric_intervals(s, **SETTINGS)
        point = point_metrics(s)
        assert set(intervals) == set(point)
        for name, interval in intervals.items():
            assert interval.low <= point[name] <= interval.high, (task, name)


@pytest.mark.parametrize(
    ("direction", "low", "high", "expected"),
    [
        ("higher", 0.01, 0.03, "better"),
        ("higher", -0.03, -0.01, "worse"),
        ("lower", -0.03, -0.01, "better"),  # log_loss went down
        ("lower", 0.01, 0.03, "worse"),
        ("higher", -0.01, 0.02, "noise"),
        ("lower", 0.0, 0.0, "same"),  # no change in any resample (identical predictions)
        ("higher", 0.0, 0.01, "noise"),
    ],
)
def test_verdict_needs_an_interval_that_excludes_zero(
    direction: str, low: float, high: float, expected: str
) -> None:
    assert verdict(direction, Difference((low + high) / 2, Interval(low, high))) == expected
    assert verdict(direction, Difference(0.1, None)) == "unknown"
    assert DIRECTIONS["log_loss"] == LOWER
