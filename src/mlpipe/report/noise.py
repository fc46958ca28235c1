"""What the test set's noise says about the PR's changes: the bootstrap comparison of the two
revisions' per-row test predictions (paired when they scored the same rows), or why there is
none. The markdown comment and the gate read it; nothing here reads files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlpipe.config import BootstrapConfig
from mlpipe.evaluation import bootstrap
from mlpipe.evaluation import rows as row_predictions
from mlpipe.evaluation.bootstrap import Comparison, Difference, Interval
from mlpipe.evaluation.metrics import DIRECTIONS, LOWER


@dataclass(frozen=True)
class Noise:
    """The evidence about noise for one report.

    ``comparison`` is None when the changes have no interval; ``unavailable`` then says why
    (shown in the comment). ``pr_intervals`` / ``base_intervals`` are each side's own test
    intervals (from its intervals file), ``confidence`` their level.
    """

    confidence: float
    comparison: Comparison | None = None
    unavailable: str | None = None
    pr_intervals: dict[str, Interval] = field(default_factory=dict)
    base_intervals: dict[str, Interval] = field(default_factory=dict)

    @property
    def level(self) -> str:
        """The confidence as the comment writes it, e.g. ``95%``."""
        return f"{self.confidence:.0%}"

    def difference(self, metric: str) -> Difference | None:
        if self.comparison is None:
            return None
        found = self.comparison.differences.get(metric)
        return found if found is not None and found.interval is not None else None

    def why_not(self, metric: str) -> str:
        """Why ``metric``'s change has no interval."""
        if self.comparison is None:
            return self.unavailable or "no interval"
        return f"{metric} is undefined in too many resamples"


def intervals_from_report(report: Mapping[str, Any] | None) -> dict[str, Interval]:
    """The test intervals of an intervals file (evaluate's ``paths.intervals``), {} without."""
    found = (report or {}).get("test") or {}
    out = {}
    for name, bound in found.items():
        try:
            out[name] = Interval(float(bound["low"]), float(bound["high"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def compare_rows(
    base: pd.DataFrame,
    pr: pd.DataFrame,
    settings: BootstrapConfig,
    *,
    base_positive: str | None = None,
    pr_positive: str | None = None,
) -> Comparison:
    """Bootstrap the change of every metric from two per-row predictions tables: paired when
    they hold the same rows (``rows.pair``), unpaired (and saying why) otherwise."""
    pairing = row_predictions.pair(base, pr)
    old = row_predictions.scored(base, base_positive).take(pairing.base_rows)
    new = row_predictions.scored(pr, pr_positive).take(pairing.pr_rows)
    return bootstrap.compare(
        old,
        new,
        paired=pairing.paired,
        resamples=settings.resamples,
        confidence=settings.confidence,
        seed=settings.seed,
        max_rows=settings.max_rows,
        unpaired_reason=pairing.reason,
    )


def worse_direction(metric: str) -> str:
    """``rise`` for lower-is-better metrics, ``drop`` otherwise."""
    return "rise" if DIRECTIONS.get(metric) == LOWER else "drop"


def worsening_interval(metric: str, difference: Difference, relative: bool = False) -> Interval:
    """The interval of how much worse the PR is (positive: worse), by the metric's direction;
    ``relative``: of the relative change (``Difference.relative``, which must be there)."""
    interval = difference.relative if relative else difference.interval
    assert interval is not None
    if DIRECTIONS.get(metric) == LOWER:
        return Interval(interval.low, interval.high)
    return Interval(-interval.high, -interval.low)


def verdict(metric: str, difference: Difference) -> str:
    """better / worse (the interval excludes 0) or noise."""
    direction = (
        bootstrap.LOWER_IS_BETTER
        if DIRECTIONS.get(metric) == LOWER
        else bootstrap.HIGHER_IS_BETTER
    )
    return bootstrap.verdict(direction, difference)


def detectable(metric: str, noise: Noise, relative: bool = False) -> str | None:
    """The clause "with N test rows, paired, a drop of roc_auc under ~0.0123 cannot be told
    from noise": the half-width of the change's interval (``relative``: of the relative
    change's interval, as a percentage), or None without that interval.

    An interval of no width says nothing about the noise: when the metric is the same on both
    sides in every resample (``Difference.unchanged``), the clause says so instead (and that the
    two revisions predict the same on every row, when they do), never "under ~0.0000".
    """
    difference = noise.difference(metric)
    if difference is None or difference.interval is None or noise.comparison is None:
        return None
    comparison = noise.comparison
    rows = comparison.rows[1]
    kind = "paired" if comparison.paired else "unpaired"
    if difference.unchanged:
        if comparison.identical:
            return (
                f"base and PR predict the same on every one of the {rows} test rows: no change "
                "to tell from noise"
            )
        return (
            f"{metric} is the same for base and PR in every resample of the {rows} {kind} test "
            "rows: no change to tell from noise"
        )
    interval = difference.relative if relative else difference.interval
    if interval is None:
        return None
    width = interval.half_width
    if width <= 0:
        return (
            f"the change of {metric} is the same in every resample of the {rows} {kind} test "
            "rows: its interval has no width to tell noise by"
        )
    size = f"{width:.1%}" if relative else f"{width:.4f}"
    return (
        f"with {rows} test rows, {kind}, a {worse_direction(metric)} of {metric} under ~{size} "
        "cannot be told from noise"
    )
