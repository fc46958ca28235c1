"""Bootstrap intervals of test metrics: how precise one model's number is, and whether the
difference between two models on the same rows is more than noise.

Pure, vectorised functions over per-row predictions (``Scored``). The method:

- **Poisson bootstrap** (Hanley & MacGibbon 2006; Chamandy et al. 2012): a resample gives every
  test row an independent Poisson(1) count instead of drawing n rows with replacement. The two
  agree asymptotically, and the Poisson form lets a block of resamples be one (resamples x rows)
  matrix of small integers, drawn from 16 random bits per cell through an inverse-CDF table
  (each count's probability within 1/65536 of Poisson(1)'s).
- Each metric is the weighted form of the one ``compute_metrics`` reports; with unit counts
  the two are equal (tests check it). Sums are matrix products; ROC AUC and average precision
  come from cumulative sums over the rows sorted once by score (ties grouped), so a resample
  sorts nothing.
- **Percentile intervals**: the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the
  resampled values (resamples where a metric is undefined, e.g. no positive row drawn, are left
  out).
- **Paired** (the same test rows on both sides): both models are scored under the same counts,
  so what the rows share (an easy or a hard draw) cancels out of the difference. **Unpaired**
  (the rows differ): each side has its own counts, and the interval is wider.
- **Large test sets**: above ``max_rows`` rows the resamples are drawn on a seeded sample of
  ``max_rows`` rows (the same rows on both sides when paired) and their spread around that
  sample's value is scaled by sqrt(max_rows / rows) and centred on the whole set's value (the
  m-out-of-n bootstrap of a root-n-consistent statistic), so the cost does not grow with the
  test set.

Counts come from seeded generators and are drawn resample after resample, so the intervals
depend on the seed and the data only, not on how the work is cut into blocks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

HIGHER_IS_BETTER = "higher"
LOWER_IS_BETTER = "lower"
# Cells (resamples x rows) of one block of counts: bounds the memory of a block (the float
# copies are 8 bytes a cell) whatever the test set's size.
BLOCK_CELLS = 1 << 22
_BITS = 16
_LOG_EPS = 1e-15  # compute_metrics clips binary probabilities so before log_loss
_DECIMALS = 6
# A change this small (in the metric's units) in every resample is no change: identical
# predictions give exactly 0; the margin only absorbs floating-point rounding.
_SAME = 1e-12
# Streams of the seed: the counts of a one-sample or paired bootstrap, the unpaired base side's
# counts, and the choice of the rows kept above max_rows.
_STREAM_COUNTS, _STREAM_BASE, _STREAM_ROWS = 0, 1, 2


def _poisson_table() -> np.ndarray:
    """Poisson(1) count for each 16-bit value: the inverse CDF at the value's centre."""
    pmf = [math.exp(-1) / math.factorial(k) for k in range(20)]
    cdf = np.cumsum(pmf)
    u = (np.arange(1 << _BITS) + 0.5) / (1 << _BITS)
    return np.searchsorted(cdf, u, side="right").astype(np.uint8)


_POISSON = _poisson_table()


@dataclass(frozen=True)
class Scored:
    """One model's outputs on one test set, row by row.

    ``task`` is binary, multiclass or regression. Binary: ``y`` and ``pred`` are booleans (the
    positive class), ``score`` the positive class's probability (None without probabilities).
    Multiclass: ``y`` and ``pred`` are class indices into ``classes`` (-1: a class the model
    does not know), ``score`` the (rows x classes) probabilities. Regression: ``y`` and
    ``pred`` are floats, ``score`` None.
    """

    task: str
    y: np.ndarray
    pred: np.ndarray
    score: np.ndarray | None = None
    classes: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.y)

    def take(self, index: np.ndarray) -> Scored:
        """The rows at ``index`` (positions), in that order."""
        return Scored(
            self.task,
            self.y[index],
            self.pred[index],
            None if self.score is None else self.score[index],
            self.classes,
        )


@dataclass(frozen=True)
class Interval:
    """A two-sided interval; ``low`` <= ``high``."""

    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float]:
        return {"low": round(self.low, _DECIMALS), "high": round(self.high, _DECIMALS)}


@dataclass(frozen=True)
class Difference:
    """PR minus base for one metric: the point difference and its interval (None when the
    metric is undefined in too many resamples).

    ``relative``: the interval of the relative change, (PR - base) / |base| computed in each
    resample from that resample's own values (so for a metric that cannot be negative it never
    reaches below -100 %); None when the base is 0 in too many resamples.
    """

    estimate: float
    interval: Interval | None
    relative: Interval | None = None

    @property
    def unchanged(self) -> bool:
        """The metric is the same on both sides in every resample (and as a point value): a
        zero-width interval at 0, as identical predictions give."""
        interval = self.interval
        return (
            interval is not None
            and abs(self.estimate) <= _SAME
            and abs(interval.low) <= _SAME
            and abs(interval.high) <= _SAME
        )


@dataclass(frozen=True)
class Comparison:
    """Two models' metrics compared on their test sets.

    ``paired``: the same rows on both sides (``unpaired_reason`` says why not otherwise);
    ``rows``: (base rows, PR rows); ``resampled_rows``: the rows each resample draws from
    (fewer than the test set's above ``max_rows``); ``differences`` by metric name;
    ``identical``: paired, and both sides predict the same (class or value, and scores) on
    every row.
    """

    paired: bool
    rows: tuple[int, int]
    resampled_rows: tuple[int, int]
    resamples: int
    confidence: float
    seed: int
    differences: dict[str, Difference]
    unpaired_reason: str | None = None
    identical: bool = False


def poisson_counts(resamples: int, rows: int, seed: int | Sequence[int]) -> Iterator[np.ndarray]:
    """Blocks of Poisson(1) counts, (resamples in the block x ``rows``) uint8, ``resamples`` in
    all. The n-th resample's counts are the same whatever the block size (drawn in order)."""
    generator = np.random.default_rng(seed).bit_generator
    words = -(-rows // 4)  # 64-bit words per resample: four 16-bit draws each
    block = max(1, min(resamples, BLOCK_CELLS // max(rows, 1)))
    for start in range(0, resamples, block):
        count = min(block, resamples - start)
        raw = generator.random_raw(count * words)
        bits = np.asarray(raw, dtype="<u8").view("<u2").reshape(count, words * 4)[:, :rows]
        yield _POISSON[bits]


class _Ranking:
    """Weighted ROC AUC and average precision of one score against one positive mask, from
    running sums over the rows sorted once by descending score.

    Row by row, a negative counts the positives above it and a positive the precision at its
    place. Rows of equal score form one group: a negative then counts half of the positives
    tied with it, and precision is taken at the group's end (as scikit-learn does); that
    correction is computed on the tied rows alone, so few ties cost little.
    """

    def __init__(self, score: np.ndarray, positive: np.ndarray) -> None:
        self.order = np.argsort(-score, kind="stable")
        ordered = score[self.order]
        self.positive = positive[self.order]
        same_as_next = ordered[1:] == ordered[:-1]
        new_group = np.r_[True, ~same_as_next]
        starts = np.flatnonzero(new_group)  # first row of each group of equal scores
        ends = np.r_[starts[1:] - 1, len(ordered) - 1]
        group = np.cumsum(new_group) - 1
        tied = np.zeros(len(ordered), dtype=bool)
        tied[:-1] |= same_as_next
        tied[1:] |= same_as_next
        self.tied = np.flatnonzero(tied)  # positions (in score order) of rows in a tie
        self.tie_start, self.tie_end = starts[group[self.tied]], ends[group[self.tied]]
        # the positive rows, and where each one's precision is read (its group's end)
        self.positives = np.flatnonzero(self.positive)
        self.reached = ends[group[self.positives]]

    def metrics(self, counts: np.ndarray, average_precision: bool = True) -> dict[str, np.ndarray]:
        """``counts``: (resamples x rows) uint8 in the rows' own order."""
        ordered = np.take(counts, self.order, axis=1)
        pos = ordered * self.positive  # counts of positive rows (uint8)
        neg = ordered - pos
        # Counts stay below 2**31 in int32 sums: at most 9 a row, rows capped (max_rows).
        above = np.cumsum(pos, axis=1, dtype=np.int32)  # positives at or above each row
        flagged = np.cumsum(ordered, axis=1, dtype=np.int32)  # rows at or above each row
        p_total = above[:, -1].astype(float)
        n_total = flagged[:, -1] - p_total
        pairs = (neg * above).sum(axis=1, dtype=np.int64).astype(float)  # <= 9 * 9 * rows
        if len(self.tied):
            t = self.tied
            neg_t = neg[:, t].astype(float)
            end_above = above[:, self.tie_end].astype(float)
            before = np.where(self.tie_start > 0, self.tie_start - 1, 0)
            before_above = np.where(self.tie_start > 0, above[:, before], 0)
            # a tied negative: the positives above its group and half of those in it
            pairs += (neg_t * ((end_above + before_above) / 2 - above[:, t])).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {"roc_auc": pairs / (p_total * n_total)}
            if average_precision:  # each positive weighs the precision where it is reached
                at = self.reached
                precision = above[:, at] / np.maximum(flagged[:, at], 1)
                hits = (ordered[:, self.positives] * precision).sum(axis=1)
                out["average_precision"] = hits / p_total
        both = (p_total > 0) & (n_total > 0)
        return {name: np.where(both, values, np.nan) for name, values in out.items()}


class _Binary:
    def __init__(self, s: Scored) -> None:
        y = s.y.astype(bool)
        pred = s.pred.astype(bool)
        columns = [np.ones(len(y)), y, pred, y & pred]
        self.ranking = None
        if s.score is not None:
            p = np.clip(s.score.astype(float), _LOG_EPS, 1 - _LOG_EPS)
            eps = np.finfo(float).eps
            true_p = np.clip(np.where(y, p, 1 - p), eps, 1 - eps)
            columns += [(s.score.astype(float) - y) ** 2, -np.log(true_p)]
            if y.any() and not y.all():
                self.ranking = _Ranking(s.score.astype(float), y)
        self.matrix = np.column_stack(columns).astype(float)

    def __call__(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        sums = counts.astype(float) @ self.matrix
        total, p, pp, tp = sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {
                "positive_rate": p / total,
                "accuracy": (total - p - pp + 2 * tp) / total,
                "precision": _ratio(tp, pp),
                "recall": _ratio(tp, p),
                "f1": _ratio(2 * tp, p + pp),
            }
            if self.matrix.shape[1] > 4:
                out["brier"] = sums[:, 4] / total
                out["log_loss"] = sums[:, 5] / total
        if self.ranking is not None:
            out.update(self.ranking.metrics(counts))
        return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(num.shape), where=den > 0)


class _Multiclass:
    def __init__(self, s: Scored) -> None:
        k = len(s.classes)
        self.k = k
        y = s.y.astype(np.int64)
        pred = s.pred.astype(np.int64)
        known_y = np.where(y >= 0, y, k)  # unknown classes go to an extra row/column
        cell = known_y * (k + 1) + np.where(pred >= 0, pred, k)
        self.order = np.argsort(cell, kind="stable")
        ordered = cell[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.cells = ordered[self.starts]
        columns = [np.ones(len(y))]
        self.rankings: list[_Ranking] = []
        if s.score is not None and (y >= 0).all():
            proba = s.score.astype(float)
            eps = np.finfo(float).eps
            true_p = np.clip(proba[np.arange(len(y)), y], eps, 1 - eps)
            columns.append(-np.log(true_p))
            if len(np.unique(y)) == k:
                self.rankings = [_Ranking(proba[:, c], y == c) for c in range(k)]
        self.matrix = np.column_stack(columns).astype(float)

    def __call__(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        k, b = self.k, counts.shape[0]
        per_cell = np.add.reduceat(counts[:, self.order].astype(np.int64), self.starts, axis=1)
        confusion = np.zeros((b, (k + 1) * (k + 1)))
        confusion[:, self.cells] = per_cell
        confusion = confusion.reshape(b, k + 1, k + 1)
        support = confusion.sum(axis=2)  # per true class (the last: unknown classes)
        predicted = confusion.sum(axis=1)
        hits = np.diagonal(confusion, axis1=1, axis2=2)[:, :k]
        support_k, predicted_k = support[:, :k], predicted[:, :k]
        total = support.sum(axis=1)
        # The labels scikit-learn averages over: those drawn as truth or as prediction.
        present = (support[:, :k] + predicted[:, :k]) > 0
        precision = _ratio(hits, predicted_k)
        recall = _ratio(hits, support_k)
        f1 = _ratio(2 * hits, support_k + predicted_k)
        with np.errstate(invalid="ignore", divide="ignore"):
            labels = present.sum(axis=1)
            out = {
                "accuracy": hits.sum(axis=1) / total,
                "balanced_accuracy": _masked_mean(recall, support_k > 0),
                "f1_macro": (f1 * present).sum(axis=1) / labels,
                "f1_weighted": (f1 * support_k).sum(axis=1) / support_k.sum(axis=1),
                "precision_macro": (precision * present).sum(axis=1) / labels,
                "recall_macro": (recall * present).sum(axis=1) / labels,
            }
            if self.matrix.shape[1] > 1:
                sums = counts.astype(float) @ self.matrix
                out["log_loss"] = sums[:, 1] / sums[:, 0]
        if self.rankings:
            aucs = np.column_stack(
                [r.metrics(counts, average_precision=False)["roc_auc"] for r in self.rankings]
            )
            every_class = (support_k > 0).all(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                macro = aucs.mean(axis=1)
                weighted = (aucs * support_k).sum(axis=1) / support_k.sum(axis=1)
            out["roc_auc_ovr_macro"] = np.where(every_class, macro, np.nan)
            out["roc_auc_ovr_weighted"] = np.where(every_class, weighted, np.nan)
        return out


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (values * mask).sum(axis=1) / mask.sum(axis=1)


class _Regression:
    def __init__(self, s: Scored) -> None:
        y = s.y.astype(float)
        pred = s.pred.astype(float)
        error = pred - y
        centred = y - y.mean() if len(y) else y  # sums of squares without cancellation
        columns = [np.ones(len(y)), error**2, np.abs(error), centred, centred**2]
        self.mape = bool(len(y)) and not np.any(y == 0)
        if self.mape:
            columns.append(np.abs(error) / np.maximum(np.abs(y), np.finfo(float).eps))
        self.matrix = np.column_stack(columns)

    def __call__(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        sums = counts.astype(float) @ self.matrix
        total = sums[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = sums[:, 4] - sums[:, 3] ** 2 / total
            out = {
                "rmse": np.sqrt(sums[:, 1] / total),
                "mae": sums[:, 2] / total,
                "r2": np.where(spread > 0, 1 - sums[:, 1] / spread, np.nan),
            }
            if self.mape:
                out["mape"] = sums[:, 5] / total
        return out


_CALCULATORS = {"binary": _Binary, "multiclass": _Multiclass, "regression": _Regression}


def _calculator(s: Scored) -> Any:
    if s.task not in _CALCULATORS:
        raise ValueError(f"unknown task {s.task!r}")
    return _CALCULATORS[s.task](s)


def weighted_metrics(s: Scored, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of ``s.task`` (except ``rows``) under each row of ``counts`` (resamples x
    rows, counts per row): one value per resample, NaN where undefined."""
    return _calculator(s)(np.atleast_2d(counts))


def point_metrics(s: Scored) -> dict[str, float]:
    """The metrics with every row counted once (what ``compute_metrics`` reports)."""
    return _points(_calculator(s), s.rows)


def _draws(
    calculators: Sequence[Any], rows: int, resamples: int, seed: Sequence[int]
) -> list[dict[str, np.ndarray]]:
    """Resampled metrics of each side under the same counts (the sides have the same rows)."""
    blocks: list[list[dict[str, np.ndarray]]] = [[] for _ in calculators]
    for counts in poisson_counts(resamples, rows, seed):
        for i, calculate in enumerate(calculators):
            blocks[i].append(calculate(counts))
    return [{name: np.concatenate([b[name] for b in side]) for name in side[0]} for side in blocks]


def _points(calculate: Any, rows: int) -> dict[str, float]:
    values = calculate(np.ones((1, rows), dtype=np.uint8))
    return {name: float(v[0]) for name, v in values.items() if np.isfinite(v[0])}


def _subsample(rows: int, max_rows: int, seed: int) -> np.ndarray | None:
    """Sorted positions of ``max_rows`` of ``rows`` rows (None: keep them all)."""
    if rows <= max_rows:
        return None
    rng = np.random.default_rng([seed, _STREAM_ROWS])
    return np.sort(rng.choice(rows, size=max_rows, replace=False))


def _resampled(
    sides: Sequence[Scored],
    full: Sequence[dict[str, float]],
    resamples: int,
    seed: int,
    max_rows: int,
    stream: int,
) -> list[dict[str, np.ndarray]]:
    """Each side's resampled metric values; above ``max_rows`` rows, drawn on a subsample and
    rescaled around the whole set's values ``full`` (``point_metrics`` of each side)."""
    rows = sides[0].rows
    keep = _subsample(rows, max_rows, seed)
    if keep is None:
        return _draws([_calculator(s) for s in sides], rows, resamples, (seed, stream))
    calculators = [_calculator(s.take(keep)) for s in sides]
    draws = _draws(calculators, len(keep), resamples, (seed, stream))
    scale = math.sqrt(len(keep) / rows)
    out = []
    for whole, calculate, values in zip(full, calculators, draws, strict=True):
        sample = _points(calculate, len(keep))
        out.append(
            {
                name: whole.get(name, np.nan) + scale * (v - sample.get(name, np.nan))
                for name, v in values.items()
            }
        )
    return out


def _interval(values: np.ndarray, confidence: float) -> Interval | None:
    finite = values[np.isfinite(values)]
    if len(finite) < max(10, 0.9 * len(values)):  # undefined in many resamples: no interval
        return None
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(float(low), float(high))


def metric_intervals(
    s: Scored, *, resamples: int, confidence: float, seed: int, max_rows: int
) -> dict[str, Interval]:
    """The ``confidence`` percentile interval of each metric of ``s`` (those defined on it)."""
    point = point_metrics(s)
    (values,) = _resampled([s], [point], resamples, seed, max_rows, _STREAM_COUNTS)
    out = {}
    for name in sorted(point):
        interval = _interval(values[name], confidence)
        if interval is not None:
            out[name] = interval
    return out


def compare(
    base: Scored,
    pr: Scored,
    *,
    paired: bool,
    resamples: int,
    confidence: float,
    seed: int,
    max_rows: int,
    unpaired_reason: str | None = None,
) -> Comparison:
    """PR minus base for every metric both sides have, with its interval.

    ``paired``: ``base`` and ``pr`` hold the same test rows in the same order (see
    ``mlpipe.evaluation.rows.pair``): both are scored under the same counts. Otherwise each side
    is resampled on its own and the difference of independent draws gives the interval.
    """
    if paired and base.rows != pr.rows:
        raise ValueError(f"paired sides differ in rows: {base.rows} and {pr.rows}")
    old, new = point_metrics(base), point_metrics(pr)
    if paired:
        base_values, pr_values = _resampled(
            [base, pr], [old, new], resamples, seed, max_rows, _STREAM_COUNTS
        )
    else:
        (pr_values,) = _resampled([pr], [new], resamples, seed, max_rows, _STREAM_COUNTS)
        (base_values,) = _resampled([base], [old], resamples, seed, max_rows, _STREAM_BASE)
    differences = {}
    for name in sorted(set(old) & set(new)):
        change = pr_values[name] - base_values[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = change / np.abs(base_values[name])  # NaN / inf where the base is 0
        relative[~np.isfinite(relative)] = np.nan
        differences[name] = Difference(
            new[name] - old[name], _interval(change, confidence), _interval(relative, confidence)
        )
    return Comparison(
        paired=paired,
        rows=(base.rows, pr.rows),
        resampled_rows=(min(base.rows, max_rows), min(pr.rows, max_rows)),
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        differences=differences,
        unpaired_reason=None if paired else unpaired_reason,
        identical=paired and _same_predictions(base, pr),
    )


def _same_predictions(base: Scored, pr: Scored) -> bool:
    """Both sides predict the same on every row (labels, predictions and scores)."""
    if (base.score is None) != (pr.score is None) or base.classes != pr.classes:
        return False
    pairs = [(base.y, pr.y), (base.pred, pr.pred)]
    if base.score is not None and pr.score is not None:
        pairs.append((base.score, pr.score))
    return all(
        a.shape == b.shape and bool(np.all((a == b) | ((a != a) & (b != b)))) for a, b in pairs
    )


def verdict(direction: str | None, difference: Difference) -> str:
    """``better`` / ``worse`` when the interval excludes 0 (by the metric's ``direction``),
    ``same`` when the metric did not change in any resample (``Difference.unchanged``: e.g.
    identical predictions), ``noise`` when the interval includes 0 otherwise, ``unknown``
    without one."""
    interval = difference.interval
    if interval is None:
        return "unknown"
    if difference.unchanged:
        return "same"
    if not interval.excludes_zero():
        return "noise"
    up = interval.low > 0
    return "better" if up == (direction != LOWER_IS_BETTER) else "worse"


def intervals_as_dict(intervals: Mapping[str, Interval]) -> dict[str, dict[str, float]]:
    return {name: interval.as_dict() for name, interval in sorted(intervals.items())}


METHOD = "Poisson bootstrap, percentile intervals"


def intervals_report(
    s: Scored, *, resamples: int, confidence: float, seed: int, max_rows: int
) -> dict[str, Any]:
    """The test metrics' intervals as evaluate writes them (``paths.intervals``): the settings,
    the rows, and ``{"test": {metric: {"low": ..., "high": ...}}}``."""
    intervals = metric_intervals(
        s, resamples=resamples, confidence=confidence, seed=seed, max_rows=max_rows
    )
    return {
        "method": METHOD,
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
        "rows": s.rows,
        "resampled_rows": min(s.rows, max_rows),
        "test": intervals_as_dict(intervals),
    }
