"""Monitoring a new batch: drift and live metrics against the model card, and the verdict.

Pure logic for `mlpipe monitor`: ``compare_metrics`` sets live metrics beside the card's test
metrics, ``monitor_verdict`` applies the thresholds of ``MonitorConfig``, ``monitor_markdown``
renders the result for an issue body and ``monitor_figure`` draws the PNG summary.

The verdict is ``ok`` or ``alert``; every alert has a reason (one line each). Drift counts the
columns ``DriftReport.drifted`` lists (the target too, when both tables have it: a label shift
is worth an alert); a column with too few rows for the drift test is never drifted, and
``untested_warning`` says so. A metric alerts when it is worse than the card's value by more than
``max_metric_drop_relative`` of that value; "worse" follows ``DIRECTIONS``. A batch with fewer
than ``min_labelled_rows`` labelled rows has its metrics reported but not compared
(``MetricChange.not_compared``): they cannot alert. A watched metric that cannot be compared is
listed in ``unavailable_metrics`` with the reason (``unavailable_reasons``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlpipe.config import ConfigError, MonitorConfig
from mlpipe.data.drift import DriftReport, drift_markdown
from mlpipe.evaluation.metrics import DIRECTIONS, HIGHER

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
    """

    metric: str
    direction: str
    base: float
    current: float
    worsening: float
    worse: bool
    not_compared: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "base": self.base,
            "current": self.current,
            "worsening_relative": self.worsening,
            "worse": self.worse,
            "not_compared": self.not_compared or None,
        }


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
            },
            "labelled_rows": self.labelled_rows,
            "drifted": list(self.drift.drifted),
            "drift": self.drift.as_dict(),
            "metrics": None
            if self.metrics is None
            else {m.metric: m.as_dict() for m in self.metrics},
            "unavailable_metrics": dict(self.unavailable_metrics),
            "warnings": list(self.warnings),
        }


def compare_metrics(
    base: Mapping[str, float],
    current: Mapping[str, float],
    watched: Sequence[str],
    max_drop_relative: float,
    not_compared: str = "",
) -> tuple[tuple[MetricChange, ...], tuple[str, ...]]:
    """Compare each watched metric; returns (changes, metrics missing on either side).

    With ``not_compared`` (why, e.g. too few labelled rows) the changes are computed and carry
    that reason, but none is ``worse``. Raises ConfigError for a name that is not a known
    metric (a typo in params.yaml).
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
        changes.append(
            MetricChange(
                metric=metric,
                direction=direction,
                base=round(b, DECIMALS),
                current=round(c, DECIMALS),
                worsening=round(worsening, DECIMALS),
                worse=worsening > max_drop_relative and not not_compared,
                not_compared=not_compared,
            )
        )
    return tuple(changes), tuple(missing)


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
) -> tuple[str, tuple[str, ...]]:
    """``(verdict, reasons)`` from the drifted columns and the metric changes (None: no labels)."""
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
            )
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
    """A markdown report (an issue body): verdict, reasons, metric table, drift table."""
    icon = "🚨 alert" if result.verdict == ALERT else "✅ ok"
    lines = [f"## Model monitoring: {icon}", "", f"Batch `{batch}`: {result.rows} rows.", ""]
    if result.reasons:
        lines += ["Thresholds crossed (params.yaml `monitor:`):", ""]
        lines += [f"- {r}" for r in result.reasons] + [""]
    else:
        lines += ["No threshold crossed.", ""]
    for warning in result.warnings:
        lines += [f"> **Warning**: {warning}", ""]
    if result.metrics is None:
        lines += ["**Live metrics**: not computed (run with `--labels` on a labelled batch).", ""]
    else:
        held_back = next((m.not_compared for m in result.metrics if m.not_compared), "")
        rows = "" if result.labelled_rows is None else f" ({result.labelled_rows} labelled rows)"
        lines += [
            f"**Live metrics**{rows} against the model card's test metrics"
            + (f", not compared: {held_back}:" if held_back else ":"),
            "",
            "| metric | better | model card | this batch | worse by | alert |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        for m in result.metrics:
            alert = "not compared" if m.not_compared else "**yes**" if m.worse else ""
            lines.append(
                f"| {m.metric} | {m.direction} | {m.base:.4f} | {m.current:.4f} "
                f"| {m.worsening:+.1%} | {alert} |"
            )
        if result.unavailable_metrics:
            lines += ["", "Not available:", ""]
            lines += [f"- {line}" for line in grouped_reasons(result.unavailable_metrics)]
        lines.append("")
    lines.append(drift_markdown(result.drift))
    return "\n".join(lines)


def monitor_figure(result: MonitorResult) -> bytes:
    """The PNG summary: PSI per column with the threshold line, and metrics card vs batch."""
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
        ax.set(title=f"Metrics: {result.verdict}")
        ax.legend(loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
