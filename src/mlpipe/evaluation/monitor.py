"""Monitoring a new batch: drift and live metrics against the model card, and the verdict.

Pure logic for `mlpipe monitor`: ``compare_metrics`` sets live metrics beside the card's test
metrics, ``monitor_verdict`` applies the thresholds of ``MonitorConfig``, ``monitor_markdown``
renders the result for an issue body and ``monitor_figure`` draws the PNG summary.

The verdict is ``ok`` or ``alert``; every alert has a reason (one line each). Drift counts the
columns ``DriftReport.drifted`` lists (the target too, when both tables have it: a label shift
is worth an alert); a column with too few rows for the drift test is never drifted, and
``untested_warning`` says so. A metric alerts when it is worse than the card's value by more than
``max_metric_drop_relative`` of that value; "worse" follows ``DIRECTIONS``.
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


@dataclass(frozen=True)
class MetricChange:
    """One metric: the card's test value, the live value, and how much worse it got.

    ``worsening`` is the change in the bad direction relative to ``base`` (0.1 = 10 % worse;
    negative when it improved); with ``base`` 0 it is the absolute change.
    """

    metric: str
    direction: str
    base: float
    current: float
    worsening: float
    worse: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "base": self.base,
            "current": self.current,
            "worsening_relative": self.worsening,
            "worse": self.worse,
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
    unavailable_metrics: tuple[str, ...] = field(default=())

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
            },
            "drifted": list(self.drift.drifted),
            "drift": self.drift.as_dict(),
            "metrics": None
            if self.metrics is None
            else {m.metric: m.as_dict() for m in self.metrics},
            "unavailable_metrics": list(self.unavailable_metrics),
            "warnings": list(self.warnings),
        }


def compare_metrics(
    base: Mapping[str, float],
    current: Mapping[str, float],
    watched: Sequence[str],
    max_drop_relative: float,
) -> tuple[tuple[MetricChange, ...], tuple[str, ...]]:
    """Compare each watched metric; returns (changes, metrics missing on either side).

    Raises ConfigError for a name that is not a known metric (a typo in params.yaml).
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
                worse=worsening > max_drop_relative,
            )
        )
    return tuple(changes), tuple(missing)


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
        lines += [
            "**Live metrics** against the model card's test metrics:",
            "",
            "| metric | better | model card | this batch | worse by | alert |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        for m in result.metrics:
            lines.append(
                f"| {m.metric} | {m.direction} | {m.base:.4f} | {m.current:.4f} "
                f"| {m.worsening:+.1%} | {'**yes**' if m.worse else ''} |"
            )
        if result.unavailable_metrics:
            lines += ["", "Not available: " + ", ".join(result.unavailable_metrics)]
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
            color=["tab:red" if m.worse else "tab:green" for m in result.metrics],
        )
        ax.set_yticks(list(ys), names)
        ax.set(title=f"Metrics: {result.verdict}")
        ax.legend(loc="lower right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
