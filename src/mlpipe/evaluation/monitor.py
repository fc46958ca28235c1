"""Monitoring a new batch: drift and live metrics against the model card, and the verdict.

Pure logic for `mlpipe monitor`: ``compare_metrics`` sets live metrics beside the card's test
metrics, ``monitor_verdict`` applies the thresholds of ``MonitorConfig``, ``monitor_markdown``
renders the result for an issue body and ``monitor_figure`` draws the PNG summary.

The verdict is ``ok`` or ``alert``; every alert has a reason (one line each). Drift counts the
columns ``DriftReport.drifted`` lists but the target; a column with too few rows for the drift
test is never drifted, and ``untested_warning`` says so. The target, when both tables have it,
has its own rule (``label_shift``: a label shift is worth an alert even when PSI is small): for
classification, the share of a class moved by more than ``max_class_share_change`` (absolute),
confirmed by a chi-square test on the class counts; otherwise (and for regression) the drift
rule on the target. A batch with fewer than ``min_labelled_rows`` labelled rows does not compare
its label shift. Rows whose label is missing (not known yet) are left out of everything about
the target: they are no class, no drift and no metric; ``MonitorResult.unlabelled_rows`` counts
them. A metric alerts when it is worse than the card's value by more than
``max_metric_drop_relative`` of that value; "worse" follows ``DIRECTIONS``. A batch with fewer
than ``min_labelled_rows`` labelled rows has its metrics reported but not compared
(``MetricChange.not_compared``): they cannot alert. A watched metric that cannot be compared is
listed in ``unavailable_metrics`` with the reason (``unavailable_reasons``).

**Noise** (``monitor.noise: significant``, the default). The card's test value and the batch's
live value are two independent estimates, each with its own sampling noise, so a batch from an
unchanged population may well come out a few percent worse. A metric therefore alerts only
when it is worse by more than the tolerance AND its drop is beyond noise: larger than the
half-width of the interval of the difference (live minus card). That half-width is
``sqrt(h_card**2 + h_live**2)``: ``h_card`` is the half-width of the card's test interval
(evaluate's intervals file, ``paths.intervals``), ``h_live`` that of the batch's own interval,
a Poisson bootstrap of its labelled rows (``live_intervals``: ``mlpipe.evaluation.bootstrap``
with evaluate's resamples, seed and row cap, at the intervals file's confidence). For two
independent, roughly normal estimates the half-widths of their intervals at the same
confidence add in quadrature exactly as their standard errors do, so this is the usual
two-sample test of "no change" at that confidence (95 %: a drop this large happens by chance
in about 1 batch in 40). Percentile intervals need not be symmetric; their half-width stands
for both sides. Without a card interval for a metric (no intervals file, another test set, or a
metric without an interval) or a batch interval (the metric undefined in too many resamples),
the metric falls back to the tolerance alone and ``MetricChange.noise_not_tested`` says why
(``noise_warnings`` turns that into the report's warnings). ``ignore`` is the plain tolerance.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlpipe.config import ConfigError, DriftConfig, MonitorConfig
from mlpipe.data.budgets import MISSING, BudgetTest
from mlpipe.data.drift import DriftReport, FeatureDrift, drift_markdown
from mlpipe.data.schema import category_value_text
from mlpipe.evaluation import rows as row_predictions
from mlpipe.evaluation.bootstrap import Interval, metric_intervals
from mlpipe.evaluation.metrics import DIRECTIONS, HIGHER
from mlpipe.markdown_escape import md, md_code, md_text
from mlpipe.predictions import Predictions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OK = "ok"
ALERT = "alert"
DECIMALS = 6
# Suggested `monitor.metrics` per task, for the hint when a watched metric is not the task's.
SUGGESTED_METRICS = {
    "binary": ("roc_auc", "average_precision", "log_loss"),
    "multiclass": ("balanced_accuracy", "f1_macro", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


@dataclass(frozen=True)
class MetricChange:
    """One metric: the card's test value, the live value, and how much worse it got.

    ``worsening`` is the change in the bad direction relative to ``base`` (0.1 = 10 % worse;
    negative when it improved); with ``base`` 0 it is the absolute change. ``not_compared``
    says why the change cannot alert (e.g. "10 labelled rows < monitor.min_labelled_rows 30");
    ``worse`` is then False.

    Noise (see the module's docstring): ``base_interval`` / ``interval`` are the card's test
    interval and the batch's, at ``confidence``; ``noise`` is the half-width of the interval of
    the difference (metric units) and ``beyond_noise`` whether the drop (``drop``, metric units,
    positive: worse) exceeds it. ``beyond_noise`` is None when the drop was not tested against
    noise: ``noise_not_tested`` says why (empty with ``monitor.noise: ignore``).
    """

    metric: str
    direction: str
    base: float
    current: float
    worsening: float
    worse: bool
    not_compared: str = ""
    base_interval: Interval | None = None
    interval: Interval | None = None
    confidence: float | None = None
    noise: float | None = None
    beyond_noise: bool | None = None
    noise_not_tested: str = ""

    @property
    def drop(self) -> float:
        """How much worse the batch is, in the metric's units (negative: better)."""
        delta = self.base - self.current if self.direction == HIGHER else self.current - self.base
        return round(delta, DECIMALS)

    def within_noise(self, max_drop_relative: float) -> bool:
        """Worse than the tolerance allows but within noise, so no alert (compared only)."""
        return (
            self.worsening > max_drop_relative
            and self.beyond_noise is False
            and not self.not_compared
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "base": self.base,
            "current": self.current,
            "worsening_relative": self.worsening,
            "worse": self.worse,
            "not_compared": self.not_compared or None,
            "base_interval": None if self.base_interval is None else self.base_interval.as_dict(),
            "interval": None if self.interval is None else self.interval.as_dict(),
            "confidence": self.confidence,
            "noise_half_width": self.noise,
            "beyond_noise": self.beyond_noise,
            "noise_not_tested": self.noise_not_tested or None,
        }


@dataclass(frozen=True)
class NoiseEvidence:
    """What the noise rule compares a drop with (``monitor.noise: significant``).

    ``card``: the model card's test intervals (evaluate's intervals file, ``source``), ``live``:
    the batch's (``live_intervals``), both at ``confidence``. ``unavailable``: why the card has
    no usable intervals at all (e.g. the file is missing); every metric then falls back to the
    tolerance alone.
    """

    confidence: float
    card: Mapping[str, Interval]
    live: Mapping[str, Interval]
    source: str = "the intervals file"
    unavailable: str = ""


def live_intervals(
    predictions: Predictions,
    task: str,
    positive: str | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    max_rows: int,
) -> dict[str, Interval]:
    """The batch's metric intervals, computed as evaluate computes the test set's
    (``bootstrap.metric_intervals`` on the per-row predictions, same settings): a seeded
    Poisson bootstrap of the labelled rows. A metric undefined in too many resamples (e.g.
    too few positives) has none."""
    rows = len(predictions.y_true)
    table = row_predictions.prediction_rows(
        predictions, pd.DataFrame(index=range(rows)), np.zeros(rows, dtype=np.uint64), task
    )
    return metric_intervals(
        row_predictions.scored(table, positive),
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        max_rows=max_rows,
    )


CLASS_SHARE = "class_share"
DRIFT_RULE = "drift"


@dataclass(frozen=True)
class ClassShare:
    """One class of a classification target: its share of the labelled rows (0..1) in the
    reference (training) table and in the batch; ``change`` is batch minus reference."""

    label: str
    reference: float
    batch: float

    @property
    def change(self) -> float:
        return round(self.batch - self.reference, DECIMALS)


@dataclass(frozen=True)
class LabelShift:
    """The target's shift between the reference's labels and the batch's (see ``label_shift``).

    ``classes``: each class's shares, in sort order (classification; empty for regression).
    ``test``/``statistic``/``p_value``: the chi-square test of homogeneity on the class counts
    of the labelled rows (classification), or the drift report's KS test (regression).
    ``psi``, ``drift_test`` and ``drift_p_value`` are the drift report's row for the target
    (None / "none" when it has none). ``fired`` lists the rules that fired:
    ``"class_share"`` and/or ``"drift"``; empty when not shifted or ``not_compared`` (why the
    shift cannot alert, e.g. "10 labelled rows < monitor.min_labelled_rows 30").
    """

    column: str
    task: str
    labelled_rows: int
    reference_rows: int
    classes: tuple[ClassShare, ...]
    test: str
    statistic: float | None
    p_value: float | None
    psi: float | None
    drift_test: str
    drift_p_value: float | None
    max_class_share_change: float
    p_value_threshold: float
    psi_threshold: float
    fired: tuple[str, ...] = ()
    not_compared: str = ""

    @property
    def shifted(self) -> bool:
        return bool(self.fired)

    @property
    def rule(self) -> str:
        """The task's own rule: class shares for classification, drift for regression."""
        return CLASS_SHARE if self.classes else DRIFT_RULE

    def beyond(self) -> tuple[ClassShare, ...]:
        """The classes whose share moved by more than ``max_class_share_change``, largest
        change first (increases before decreases of the same size)."""
        moved = [c for c in self.classes if abs(c.change) > self.max_class_share_change]
        return tuple(sorted(moved, key=lambda c: (-abs(c.change), -c.change, c.label)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "task": self.task,
            "rule": self.rule,
            "labelled_rows": self.labelled_rows,
            "reference_rows": self.reference_rows,
            "classes": {
                c.label: {
                    "reference_share": c.reference,
                    "batch_share": c.batch,
                    "change": c.change,
                }
                for c in self.classes
            }
            or None,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "drift": {"psi": self.psi, "test": self.drift_test, "p_value": self.drift_p_value},
            "thresholds": {
                "max_class_share_change": self.max_class_share_change,
                "p_value": self.p_value_threshold,
                "psi": self.psi_threshold,
            },
            "fired": list(self.fired),
            "shifted": self.shifted,
            "not_compared": self.not_compared or None,
        }


def label_shift(
    reference: pd.Series,
    batch: pd.Series,
    task: str,
    target_drift: FeatureDrift | None,
    config: MonitorConfig,
    drift: DriftConfig,
) -> LabelShift:
    """How the target's labels moved from ``reference`` (training) to ``batch``.

    Only labelled (non-missing) values count. Classification fires ``"class_share"`` when
    some class's share changed by more than ``config.max_class_share_change`` (absolute) and
    the chi-square test on the class counts has p < ``drift.p_value_threshold`` (a small batch
    cannot alert on noise); both tasks fire ``"drift"`` when ``target_drift`` (the drift
    report's row for the target) drifted. Nothing fires with fewer than
    ``config.min_labelled_rows`` labelled rows in the batch.
    """
    ref, cur = reference.dropna(), batch.dropna()
    not_compared = too_few_labelled(len(cur), config.min_labelled_rows)
    classes: tuple[ClassShare, ...] = ()
    test, statistic, p_value = "none", None, None
    if task != "regression":
        r = ref.astype(object).map(category_value_text).value_counts()
        c = cur.astype(object).map(category_value_text).value_counts()
        keys = sorted(set(r.index) | set(c.index))
        r_counts = np.array([r.get(k, 0) for k in keys], dtype=float)
        c_counts = np.array([c.get(k, 0) for k in keys], dtype=float)
        r_share = r_counts / max(r_counts.sum(), 1.0)
        c_share = c_counts / max(c_counts.sum(), 1.0)
        classes = tuple(
            ClassShare(str(k), round(float(a), DECIMALS), round(float(b), DECIMALS))
            for k, a, b in zip(keys, r_share, c_share, strict=True)
        )
        if len(keys) > 1 and r_counts.sum() and c_counts.sum():
            from scipy import stats  # imported when used: ~1 s of start-up

            result = stats.chi2_contingency(np.vstack([r_counts, c_counts]), correction=False)
            test, statistic, p_value = "chi2", float(result.statistic), float(result.pvalue)
    elif target_drift is not None:
        test, statistic, p_value = target_drift.test, target_drift.statistic, target_drift.p_value
    shift = LabelShift(
        column=str(batch.name),
        task=task,
        labelled_rows=len(cur),
        reference_rows=len(ref),
        classes=classes,
        test=test,
        statistic=None if statistic is None else round(statistic, DECIMALS),
        p_value=None if p_value is None else round(p_value, DECIMALS),
        psi=None if target_drift is None else target_drift.psi,
        drift_test="none" if target_drift is None else target_drift.test,
        drift_p_value=None if target_drift is None else target_drift.p_value,
        max_class_share_change=config.max_class_share_change,
        p_value_threshold=drift.p_value_threshold,
        psi_threshold=drift.psi_threshold,
        not_compared=not_compared,
    )
    if not_compared:
        return shift
    fired = []
    significant = p_value is not None and p_value < drift.p_value_threshold
    if classes and significant and shift.beyond():
        fired.append(CLASS_SHARE)
    if target_drift is not None and target_drift.drifted:
        fired.append(DRIFT_RULE)
    return replace(shift, fired=tuple(fired))


def label_shift_reason(shift: LabelShift) -> str:
    """One line naming the rule(s) that fired, with the numbers."""
    parts = []
    if CLASS_SHARE in shift.fired:
        # two classes mirror each other: naming the one that grew says it all
        moved = shift.beyond()[:1] if len(shift.classes) == 2 else shift.beyond()
        parts.append(
            ", ".join(
                f"class {c.label} {c.reference:.1%} in training -> {c.batch:.1%} in this batch "
                f"({100 * c.change:+.1f} points)"
                for c in moved
            )
            + f" (allowed: ±{100 * shift.max_class_share_change:.1f} points, "
            f"monitor.max_class_share_change; chi-square p-value {shift.p_value:.2e} < "
            f"{shift.p_value_threshold:g})"
        )
    if DRIFT_RULE in shift.fired:
        parts.append(
            f"PSI {shift.psi:.4f} >= drift.psi_threshold {shift.psi_threshold:g} and "
            f"{shift.drift_test} p-value {shift.drift_p_value:.2e} < {shift.p_value_threshold:g}"
        )
    rules = " and ".join(
        {CLASS_SHARE: "class share rule", DRIFT_RULE: "drift rule"}[r] for r in shift.fired
    )
    return (
        f"label shift in '{shift.column}' ({rules}, {shift.labelled_rows} labelled rows): "
        + "; ".join(parts)
    )


@dataclass(frozen=True)
class MonitorResult:
    """Everything the monitor writes: verdict, reasons, drift, metrics and warnings."""

    verdict: str
    reasons: tuple[str, ...]
    drift: DriftReport
    metrics: tuple[MetricChange, ...] | None
    rows: int
    thresholds: MonitorConfig
    warnings: tuple[str, ...] = field(default=())
    unavailable_metrics: tuple[tuple[str, str], ...] = field(default=())
    labelled_rows: int | None = None
    label_shift: LabelShift | None = None
    unlabelled_rows: int | None = None
    contract: tuple[BudgetTest, ...] = ()
    contract_alpha: float | None = None
    """``labelled_rows`` / ``unlabelled_rows``: the batch's rows with / without a target value
    (None when the batch has no target column). ``contract``: the data contract's budget tests
    on the batch (none crossed, or the batch would have been refused), at level
    ``contract_alpha`` over all of them."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys)."""
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "rows": self.rows,
            "thresholds": {
                "max_drifted_features": self.thresholds.max_drifted_features,
                "max_metric_drop_relative": self.thresholds.max_metric_drop_relative,
                "metrics": list(self.thresholds.metrics),
                "min_labelled_rows": self.thresholds.min_labelled_rows,
                "max_class_share_change": self.thresholds.max_class_share_change,
                "noise": self.thresholds.noise,
            },
            "labelled_rows": self.labelled_rows,
            "unlabelled_rows": self.unlabelled_rows,
            "drifted": list(self.drift.drifted),
            "drift": self.drift.as_dict(),
            "metrics": None
            if self.metrics is None
            else {m.metric: m.as_dict() for m in self.metrics},
            "unavailable_metrics": dict(self.unavailable_metrics),
            "label_shift": None if self.label_shift is None else self.label_shift.as_dict(),
            "contract": {
                "alpha": self.contract_alpha,
                "tests": [t.as_dict() for t in self.contract],
            },
            "warnings": list(self.warnings),
        }


def compare_metrics(
    base: Mapping[str, float],
    current: Mapping[str, float],
    watched: Sequence[str],
    max_drop_relative: float,
    not_compared: str = "",
    noise: NoiseEvidence | None = None,
) -> tuple[tuple[MetricChange, ...], tuple[str, ...]]:
    """Compare each watched metric; returns (changes, metrics missing on either side).

    With ``not_compared`` (why, e.g. too few labelled rows) the changes are computed and carry
    that reason, but none is ``worse``. With ``noise`` a metric worse than the tolerance is
    ``worse`` only when its drop is also beyond noise (the module's docstring); a metric
    without both intervals is judged on the tolerance alone and says why
    (``noise_not_tested``). Without ``noise`` (``monitor.noise: ignore``) the tolerance alone
    decides. Raises ConfigError for a name that is not a known metric (a typo in params.yaml).
    """
    unknown = [m for m in watched if m not in DIRECTIONS]
    if unknown:
        raise ConfigError(
            f"monitor.metrics: unknown metric(s) {unknown}; known: {', '.join(sorted(DIRECTIONS))}"
        )
    changes, missing = [], []
    for metric in watched:
        if metric not in base or metric not in current:
            missing.append(metric)
            continue
        direction = DIRECTIONS[metric]
        b, c = float(base[metric]), float(current[metric])
        delta = (b - c) if direction == HIGHER else (c - b)
        worsening = delta / abs(b) if b else delta
        tested = _noise_test(metric, round(delta, DECIMALS), noise)
        changes.append(
            replace(
                tested,
                metric=metric,
                direction=direction,
                base=round(b, DECIMALS),
                current=round(c, DECIMALS),
                worsening=round(worsening, DECIMALS),
                worse=worsening > max_drop_relative
                and not not_compared
                and tested.beyond_noise is not False,
                not_compared=not_compared,
            )
        )
    return tuple(changes), tuple(missing)


def _noise_test(metric: str, drop: float, noise: NoiseEvidence | None) -> MetricChange:
    """The noise fields of one metric's change (the others are filled in by the caller)."""
    blank = MetricChange(metric, "", 0.0, 0.0, 0.0, False)
    if noise is None:
        return blank
    card, live = noise.card.get(metric), noise.live.get(metric)
    found = replace(blank, base_interval=card, interval=live, confidence=noise.confidence)
    if noise.unavailable:
        return replace(found, noise_not_tested=noise.unavailable)
    if card is None:
        return replace(found, noise_not_tested=f"{noise.source} has no test interval for it")
    if live is None:
        return replace(
            found, noise_not_tested="undefined in too many bootstrap resamples of this batch"
        )
    half = round(math.hypot(card.half_width, live.half_width), DECIMALS)
    return replace(found, noise=half, beyond_noise=drop > half)


def noise_warnings(changes: Sequence[MetricChange]) -> tuple[str, ...]:
    """One warning per reason the compared metrics were judged on the tolerance alone, e.g.
    "monitor.noise: roc_auc, log_loss judged on monitor.max_metric_drop_relative alone, not
    tested against noise: data/results/intervals.json not found ..."."""
    by_reason: dict[str, list[str]] = {}
    for m in changes:
        if m.noise_not_tested and not m.not_compared:
            by_reason.setdefault(m.noise_not_tested, []).append(m.metric)
    return tuple(
        f"monitor.noise: {', '.join(metrics)} judged on monitor.max_metric_drop_relative alone, "
        f"not tested against noise: {why}"
        for why, metrics in by_reason.items()
    )


def _interval_text(interval: Interval | None) -> str:
    return "" if interval is None else f" [{interval.low:.4f}, {interval.high:.4f}]"


def _worse_word(m: MetricChange) -> str:
    """``drop`` for a higher-is-better metric, ``rise`` for a lower-is-better one."""
    return "drop" if m.direction == HIGHER else "rise"


def _noise_clause(m: MetricChange) -> str:
    """The numbers of the noise test, e.g. "the drop 0.0355 is within ±0.0435, the half-width
    of the 95% interval of the difference (model card [...], this batch [...])" ("rise" for a
    lower-is-better metric)."""
    level = f"{m.confidence:.0%}" if m.confidence is not None else ""
    relation = "more than" if m.beyond_noise else "within"
    return (
        f"the {_worse_word(m)} {m.drop:.4f} is {relation} ±{m.noise:.4f}, the half-width of "
        f"the {level} interval of the difference (model card{_interval_text(m.base_interval)}, "
        f"this batch{_interval_text(m.interval)})"
    )


def too_few_labelled(labelled_rows: int, min_rows: int) -> str:
    """Why live metrics are not compared ("10 labelled rows < monitor.min_labelled_rows 30"),
    or "" when the batch has enough labelled rows."""
    if labelled_rows >= min_rows:
        return ""
    return f"{labelled_rows} labelled rows < monitor.min_labelled_rows {min_rows}"


def unavailable_reasons(
    missing: Sequence[str],
    card: Mapping[str, float],
    task: str,
    batch_classes: Sequence[str] = (),
    model_classes: Sequence[str] = (),
) -> tuple[tuple[str, str], ...]:
    """(metric, why) for each watched metric that could not be compared.

    A metric the model card lacks is not a metric of this task (the hint names the task's
    usual ones); one the card has but the batch lacks is undefined for the batch, e.g. ROC AUC
    when its labels hold a single class (``batch_classes``: the classes among its labels).
    """
    suggested = ", ".join(SUGGESTED_METRICS.get(task, ()))
    out = []
    for metric in missing:
        if metric not in card:
            why = (
                f"not a metric of this {task} model (not in the model card): set "
                f"monitor.metrics in params.yaml to metrics of this task, e.g. [{suggested}]"
            )
        elif model_classes and len(batch_classes) < len(model_classes):
            shown = ", ".join(map(str, batch_classes))
            why = (
                f"undefined for this batch: its labels hold {len(batch_classes)} of the "
                f"model's {len(model_classes)} classes ({shown})"
            )
        else:
            why = "undefined for this batch (e.g. too few rows, or mape with a true value 0)"
        out.append((metric, why))
    return tuple(out)


def grouped_reasons(unavailable: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """One line per reason: "roc_auc, average_precision: not a metric of ..."."""
    by_reason: dict[str, list[str]] = {}
    for metric, why in unavailable:
        by_reason.setdefault(why, []).append(metric)
    return tuple(f"{', '.join(metrics)}: {why}" for why, metrics in by_reason.items())


def monitor_verdict(
    drifted: Sequence[str],
    metrics: Sequence[MetricChange] | None,
    config: MonitorConfig,
    label_shift: LabelShift | None = None,
) -> tuple[str, tuple[str, ...]]:
    """``(verdict, reasons)`` from the drifted columns, the metric changes (None: no labels)
    and the target's label shift (None: the batch has no target). The target is judged by
    its label shift only, so it is left out of the drifted columns counted against
    ``max_drifted_features``."""
    if label_shift is not None:
        drifted = [c for c in drifted if c != label_shift.column]
    reasons = []
    if len(drifted) > config.max_drifted_features:
        reasons.append(
            f"{len(drifted)} column(s) drifted (allowed: {config.max_drifted_features}): "
            + ", ".join(drifted)
        )
    for m in metrics or ():
        if m.worse:
            word = "dropped" if m.direction == HIGHER else "rose"
            reasons.append(
                f"{m.metric} {word} from {m.base:.4f} to {m.current:.4f} "
                f"({m.worsening:+.1%} worse; allowed {config.max_metric_drop_relative:.1%})"
                + (f", beyond noise: {_noise_clause(m)}" if m.beyond_noise else "")
            )
    if label_shift is not None and label_shift.shifted:
        reasons.append(label_shift_reason(label_shift))
    return (ALERT if reasons else OK), tuple(reasons)


def untested_warning(drift: DriftReport, min_rows: int) -> str | None:
    """A warning when drift could not be tested on some columns (too few rows), else None."""
    untested = drift.not_tested
    if not untested:
        return None
    if drift.current_rows < min_rows:
        return (
            f"the batch has {drift.current_rows} rows, fewer than drift.min_rows {min_rows}: "
            f"drift was not tested for any of the {len(untested)} columns, so this batch cannot "
            f"raise a drift alert; monitor batches of at least {min_rows} rows"
        )
    return (
        f"drift not tested for {len(untested)} of {len(drift.features)} columns with fewer "
        f"than drift.min_rows {min_rows} values: {', '.join(untested)}; they cannot raise a "
        "drift alert"
    )


def monitor_markdown(result: MonitorResult, batch: str) -> str:
    """A markdown report (an issue body): verdict, reasons, metric table, drift table. Names,
    labels and messages are escaped (``mlpipe.markdown_escape``): an issue body renders as the
    PR comment does."""
    icon = "🚨 alert" if result.verdict == ALERT else "✅ ok"
    batch = md_code(batch)
    lines = [f"## Model monitoring: {icon}", "", f"Batch {batch}: {result.rows} rows.", ""]
    if result.unlabelled_rows:
        uses = (
            "the label shift, the target's drift and the live metrics"
            if result.metrics is not None
            else "the label shift and the target's drift"
        )
        lines[-2] = (
            f"Batch {batch}: {result.rows} rows, {result.labelled_rows} labelled, "
            f"{result.unlabelled_rows} without a label yet (left out of {uses})."
        )
    if result.reasons:
        lines += ["Thresholds crossed (params.yaml `monitor:`):", ""]
        lines += [f"- {md_text(r)}" for r in result.reasons] + [""]
    else:
        lines += ["No threshold crossed.", ""]
    for warning in result.warnings:
        lines += [f"> **Warning**: {md_text(warning)}", ""]
    if result.metrics is None:
        lines += ["**Live metrics**: not computed (run with `--labels` on a labelled batch).", ""]
    else:
        held_back = next((m.not_compared for m in result.metrics if m.not_compared), "")
        rows = "" if result.labelled_rows is None else f" ({result.labelled_rows} labelled rows)"
        lines += [
            f"**Live metrics**{rows} against the model card's test metrics"
            + (f", not compared: {md_text(held_back)}:" if held_back else ":"),
            "",
            "| metric | better | model card | this batch | worse by | noise | alert |",
            "| --- | --- | ---: | ---: | ---: | --- | --- |",
        ]
        for m in result.metrics:
            alert = "not compared" if m.not_compared else "**yes**" if m.worse else ""
            if m.within_noise(result.thresholds.max_metric_drop_relative):
                alert = "no: within noise"
            card = f"{m.base:.4f}{_interval_text(m.base_interval)}"
            batch_value = f"{m.current:.4f}{_interval_text(m.interval)}"
            lines.append(
                f"| {md(m.metric)} | {m.direction} | {card} | {batch_value} "
                f"| {m.worsening:+.1%} | {_noise_cell(m)} | {alert} |"
            )
        lines += _noise_notes(result.metrics, result.thresholds)
        if result.unavailable_metrics:
            lines += ["", "Not available:", ""]
            lines += [f"- {md_text(line)}" for line in grouped_reasons(result.unavailable_metrics)]
        lines.append("")
    if result.label_shift is not None:
        lines += _label_shift_markdown(result.label_shift)
    lines += contract_markdown(result.contract, result.contract_alpha)
    lines.append(drift_markdown(result.drift))
    return "\n".join(lines)


def _noise_cell(m: MetricChange) -> str:
    """The metric's drop against noise: "within ±0.0435", "**beyond** ±0.0231", "-"."""
    if m.noise is None:
        return "-"
    if m.drop <= 0:
        return f"no {_worse_word(m)} (±{m.noise:.4f})"
    return f"**beyond** ±{m.noise:.4f}" if m.beyond_noise else f"within ±{m.noise:.4f}"


def _noise_notes(metrics: Sequence[MetricChange], config: MonitorConfig) -> list[str]:
    """Under the metric table: the noise rule (when any metric was tested against noise) and
    each metric that is worse than the tolerance but within noise, with its numbers."""
    tested = [m for m in metrics if m.noise is not None]
    if not tested:
        return []
    level = f"{tested[0].confidence:.0%}"
    lines = [
        "",
        f"Values with their {level} interval. A metric alerts when it is worse by more than "
        f"{config.max_metric_drop_relative:.1%} (`monitor.max_metric_drop_relative`) and its "
        f"drop is beyond noise: more than the half-width of the {level} interval of the "
        "difference, sqrt(card half-width² + batch half-width²) (`monitor.noise: significant`).",
    ]
    for m in metrics:
        if m.within_noise(config.max_metric_drop_relative):
            lines += [
                "",
                f"- {md(m.metric)} is {m.worsening:.1%} worse, more than the allowed "
                f"{config.max_metric_drop_relative:.1%}, but within noise: {_noise_clause(m)}.",
            ]
    return lines


def contract_markdown(tests: Sequence[BudgetTest], alpha: float | None) -> list[str]:
    """The data contract section: how many budget tests, and a row with the binomial p-value
    for each budget the batch has bad values for (the others have p-value 1)."""
    if not tests:
        return []
    found = [t for t in tests if t.count.count]
    lines = [
        f"**Data contract**: {len(tests)} budget tests (missing and invalid values per "
        f"column), none crossed: a budget is crossed when the one-sided binomial p-value is "
        f"below predict.contract_alpha {alpha:g} / {len(tests)} = {tests[0].level:.2g}."
        + ("" if found else " No missing or invalid value in this batch."),
        "",
    ]
    if found:
        lines += [
            "| column | budget | count | share | allowed | tested against | p-value |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for t in found:
            c = t.count
            kind = "missing" if c.kind == MISSING else "invalid"
            lines.append(
                f"| {md(c.column)} | {kind} | {c.count} | {c.count / t.rows:.2%} | {c.budget:.2%} "
                f"| {t.tested:.2%} | {t.p_value:.2g} |"
            )
        lines.append("")
    return lines


def _label_shift_markdown(shift: LabelShift) -> list[str]:
    """The label-shift section: the rule, the outcome, and per class the two shares."""
    if shift.not_compared:
        outcome = f"not compared: {md_text(shift.not_compared)}"
    elif shift.shifted:
        fired = " and ".join(
            {CLASS_SHARE: "class share rule", DRIFT_RULE: "drift rule"}[r] for r in shift.fired
        )
        outcome = f"**shifted** ({fired})"
    else:
        outcome = "not shifted"
    drift_rule = (
        f"PSI >= {shift.psi_threshold:g} and p-value < {shift.p_value_threshold:g}, as for "
        "features"
    )
    if shift.classes:
        rule = (
            f"a class's share moves by more than {100 * shift.max_class_share_change:.1f} "
            f"points (`monitor.max_class_share_change`) and the chi-square p-value is below "
            f"{shift.p_value_threshold:g}; or the drift rule ({drift_rule})"
        )
    else:
        rule = f"the drift rule ({drift_rule})"
    lines = [
        f"**Label shift** of {md_code(shift.column)}: {outcome}. {shift.labelled_rows} labelled "
        f"rows, {shift.reference_rows} in training; alert when {rule}.",
        "",
    ]
    if shift.classes:
        lines += [
            "| class | training share | batch share | change (points) | beyond limit |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        beyond = {c.label for c in shift.beyond()}
        for c in shift.classes:
            # bold only when it alerted: a small or too noisy batch may move past the limit
            mark = "" if c.label not in beyond else "**yes**" if shift.shifted else "yes"
            lines.append(
                f"| {md(c.label)} | {c.reference:.1%} | {c.batch:.1%} | {100 * c.change:+.1f} "
                f"| {mark} |"
            )
        lines.append("")
    test = "-" if shift.p_value is None else f"{shift.test} p-value {shift.p_value:.2e}"
    psi = "-" if shift.psi is None else f"{shift.psi:.4f}"
    lines += [f"Test: {test}; PSI {psi}.", ""]
    return lines


def metrics_panel_title(metrics: Sequence[MetricChange]) -> str:
    """The metrics panel's own state, not the report's verdict (which drift or the label shift
    may have decided): the metrics worse than allowed, "not compared" (too few labelled rows)
    or "ok"."""
    worse = [m.metric for m in metrics if m.worse]
    if worse:
        return f"Live metrics: alert\n({', '.join(worse)} worse than allowed)"
    if metrics and all(m.not_compared for m in metrics):
        return "Live metrics: not compared\n(too few labelled rows)"
    return "Live metrics: ok\n(none worse than allowed)"


def monitor_figure(result: MonitorResult) -> bytes:
    """The PNG summary (see ``monitor_plot``), deterministic bytes."""
    import matplotlib.pyplot as plt

    fig = monitor_plot(result)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def monitor_plot(result: MonitorResult) -> Figure:
    """The summary figure: the verdict as its title, PSI per column with
    the threshold line, and (with live metrics) card vs batch metrics, the panel titled by the
    metrics' own state (``metrics_panel_title``). The caller closes it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if result.metrics else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), squeeze=False)
    ax = axes[0][0]
    features = sorted(result.drift.features, key=lambda f: f.psi)
    colors = [
        "tab:red" if f.drifted else "tab:gray" if f.not_tested else "tab:blue" for f in features
    ]
    ax.barh([f.column for f in features], [f.psi for f in features], color=colors)
    ax.axvline(result.drift.psi_threshold, color="black", linestyle="--", label="PSI threshold")
    legend = "PSI (red: drifted" + (", gray: not tested)" if result.drift.not_tested else ")")
    ax.set(xlabel=legend, title=f"Drift vs reference ({result.rows} rows)")
    ax.legend(loc="lower right")
    if result.metrics:
        ax = axes[0][1]
        names = [m.metric for m in result.metrics]
        ys = range(len(names))
        ax.barh([y + 0.2 for y in ys], [m.base for m in result.metrics], 0.4, label="model card")
        ax.barh(
            [y - 0.2 for y in ys],
            [m.current for m in result.metrics],
            0.4,
            label="this batch",
            color=[
                "tab:red" if m.worse else "tab:gray" if m.not_compared else "tab:green"
                for m in result.metrics
            ],
        )
        ax.set_yticks(list(ys), names)
        ax.set(title=metrics_panel_title(result.metrics))
        ax.legend(loc="lower right")
    fig.suptitle(f"Model monitoring: {result.verdict}", fontweight="bold")
    fig.tight_layout()
    return fig
