"""The merge gate: absolute floors/ceilings and maximum drops against the base revision."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mlpipe.audit.findings import FIX_KEY, flagged
from mlpipe.config import GateConfig, MetricGate
from mlpipe.evaluation.metrics import DIRECTIONS, LOWER
from mlpipe.report.noise import Noise, detectable, worse_direction, worsening_interval

Status = Literal["pass", "fail", "skip"]
_EPS = 1e-12  # metrics are rounded to 6 decimals; a change equal to the tolerance passes


@dataclass(frozen=True)
class Check:
    """The outcome of one bound of one rule; ``message`` is the sentence shown to reviewers,
    plain text (``mlpipe gate`` prints it); the PR comment writes it through
    ``markdown_escape.md_text``, since a metric name comes from params.yaml."""

    metric: str
    rule: str
    status: Status
    message: str
    # A drop check's tolerance as its message writes it (e.g. ``0.015``, ``5.0%``).
    allowed: str | None = None
    # A passing check that passed only because the change is within noise: the short sentence
    # the PR comment shows under the gate's verdict (plain text, like ``message``).
    within_noise: str | None = None


@dataclass(frozen=True)
class GateResult:
    """``no_baseline`` says why there is no baseline (None when there is one)."""

    dataset: str
    has_baseline: bool
    checks: tuple[Check, ...]
    no_baseline: str | None = None
    # The noise rule of gate.noise and, when the drop rules had no interval, why (None: they
    # had one, or no noise evidence was given).
    noise_rule: str | None = None
    noise_unavailable: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return [c.message for c in self.checks if c.status == "fail"]


def worsening(metric: str, base: float, pr: float) -> float:
    """How much worse ``pr`` is than ``base`` (negative: better), by the metric's direction."""
    return pr - base if DIRECTIONS.get(metric) == LOWER else base - pr


def evaluate_gate(
    config: GateConfig,
    pr: Mapping[str, float],
    base: Mapping[str, float] | None,
    no_baseline: str | None = None,
    noise: Noise | None = None,
) -> GateResult:
    """Check every rule of ``config`` on the PR's metrics of ``config.dataset``.

    ``base`` is the base revision's metrics of the same dataset, or None when there is no
    baseline (the base has no run, or predicts something else; ``no_baseline`` says which):
    then only the absolute bounds are checked and drop rules are skipped.

    ``noise`` (the bootstrap comparison of the test set, ``report.noise``) lets the drop rules
    follow their noise rule (``gate.noise`` or the rule's own ``noise``); without it they judge
    the point values, as with ``ignore``. A rule whose change has no interval (the evidence says
    why) is judged on the point values and its message says so.
    """
    if noise is not None and config.dataset != "test":
        noise = Noise(
            noise.confidence,
            unavailable=f"intervals are computed for the test set, gate.dataset is "
            f"{config.dataset}",
        )
    checks: list[Check] = []
    for rule in config.rules:
        checks.extend(_check_rule(rule, pr, base, config.dataset, no_baseline, noise, config))
    return GateResult(
        dataset=config.dataset,
        has_baseline=base is not None,
        checks=tuple(checks),
        no_baseline=None if base is not None else no_baseline,
        noise_rule=None if noise is None else config.noise,
        noise_unavailable=None if noise is None or base is None else noise.unavailable,
    )


def _check_rule(
    rule: MetricGate,
    pr: Mapping[str, float],
    base: Mapping[str, float] | None,
    dataset: str,
    no_baseline: str | None,
    noise: Noise | None = None,
    config: GateConfig | None = None,
) -> list[Check]:
    name = rule.metric
    if name not in pr:
        available = ", ".join(sorted(pr)) or "none"
        return [
            Check(
                name,
                "present",
                "fail",
                f"{name}: not among the PR's {dataset} metrics (available: {available}); "
                "fix or remove this rule in params.yaml gate.rules (each task has its own "
                "metrics: see the README's gate section)",
            )
        ]
    value = pr[name]
    out: list[Check] = []
    if rule.min is not None:
        ok = value >= rule.min - _EPS
        verb = "is at or above" if ok else "is below"
        out.append(
            Check(name, "min", _status(ok), f"{name} {value:.4f} {verb} the floor {rule.min:g}")
        )
    if rule.max is not None:
        ok = value <= rule.max + _EPS
        verb = "is at or below" if ok else "is above"
        out.append(
            Check(name, "max", _status(ok), f"{name} {value:.4f} {verb} the ceiling {rule.max:g}")
        )
    if rule.max_drop is None and rule.max_drop_relative is None:
        return out
    if base is None or name not in base:
        why = (no_baseline or "no baseline") if base is None else f"the base has no {name}"
        out.append(Check(name, "drop", "skip", f"{name}: {why}, drop check skipped"))
        return out
    old = base[name]
    rule_noise = rule.noise or (config.noise if config is not None else "ignore")
    difference = None if noise is None else noise.difference(name)
    if noise is not None and rule_noise != "ignore" and difference is not None:
        return out + _noisy_drops(rule, rule_noise, old, value, noise)
    suffix = ""  # without evidence (no noise given) the messages stay as they always were
    if noise is not None:
        suffix = (
            " (rule: ignore, the point values decide)"
            if rule_noise == "ignore"
            else f" (point estimate, not tested against noise: {noise.why_not(name)})"
        )
    worse = worsening(name, old, value)
    change = f"({old:.4f} → {value:.4f})"
    if rule.max_drop is not None:
        ok = worse <= rule.max_drop + _EPS
        if ok:
            msg = f"{name} change {value - old:+.4f} is within the allowed drop {rule.max_drop:g}"
        else:
            msg = (
                f"{name} worsened by {worse:.4f} {change}, more than the allowed {rule.max_drop:g}"
            )
        out.append(Check(name, "max_drop", _status(ok), msg + suffix, f"{rule.max_drop:g}"))
    if rule.max_drop_relative is not None:
        if old == 0:
            out.append(
                Check(
                    name,
                    "max_drop_relative",
                    "skip",
                    f"{name}: base is 0, relative drop undefined",
                )
            )
        else:
            rel = worse / abs(old)
            ok = rel <= rule.max_drop_relative + _EPS
            allowed = f"{rule.max_drop_relative:.1%}"
            if ok:
                msg = (
                    f"{name} relative change {(value - old) / abs(old):+.1%} {change} is within "
                    f"the allowed drop {allowed}"
                )
            else:
                msg = f"{name} worsened by {rel:.1%} {change}, more than the allowed {allowed}"
            out.append(Check(name, "max_drop_relative", _status(ok), msg + suffix, allowed))
    return out


def _status(ok: bool) -> Status:
    return "pass" if ok else "fail"


def _noisy_drops(
    rule: MetricGate, rule_noise: str, old: float, value: float, noise: Noise
) -> list[Check]:
    """The drop bounds of ``rule`` judged with the change's interval under ``rule_noise``
    (significant / non_inferiority); ``noise`` has an interval for the rule's metric.

    ``max_drop`` reads the interval of the change, ``max_drop_relative`` that of the relative
    change (each resample's change over that resample's base value, ``Difference.relative``);
    without the latter (the base is 0 in too many resamples) the relative bound is judged on
    the point values and says why."""
    name = rule.metric
    difference = noise.difference(name)
    assert difference is not None and difference.interval is not None
    worse = worsening(name, old, value)
    change = f"({old:.4f} → {value:.4f})"
    bounds: list[tuple[str, float]] = []
    if rule.max_drop is not None:
        bounds.append(("max_drop", rule.max_drop))
    if rule.max_drop_relative is not None:
        bounds.append(("max_drop_relative", rule.max_drop_relative))
    checks = []
    for kind, tolerance in bounds:
        relative = kind == "max_drop_relative"
        allowed = f"{tolerance:.1%}" if relative else f"{tolerance:g}"
        if relative and old == 0:
            checks.append(Check(name, kind, "skip", f"{name}: base is 0, relative drop undefined"))
            continue
        if relative and difference.relative is None:
            rel = worse / abs(old)
            ok = rel <= tolerance + _EPS
            message = (
                f"{name} relative change {(value - old) / abs(old):+.1%} {change} is within the "
                f"allowed {worse_direction(name)} {allowed}"
                if ok
                else f"{name} worsened by {rel:.1%} {change}, more than the allowed {allowed}"
            )
            why = f"the relative change of {name} is undefined in too many resamples (base 0)"
            checks.append(
                Check(
                    name,
                    kind,
                    _status(ok),
                    f"{message} (point estimate, not tested against noise: {why})",
                    allowed,
                )
            )
            continue
        interval = difference.relative if relative else difference.interval
        assert interval is not None
        worse_bounds = worsening_interval(name, difference, relative)
        size = worse / abs(old) if relative else worse  # in the tolerance's unit
        beyond = size > tolerance + _EPS
        ends = (
            f"{interval.low:+.1%}, {interval.high:+.1%}"
            if relative
            else f"{interval.low:+.4f}, {interval.high:+.4f}"
        )
        shown = f"the change's {noise.level} interval [{ends}]"
        notes = [f"rule `{rule_noise}`"]
        hidden = None  # beyond the tolerance, passed as within noise
        if rule_noise == "significant":
            significant = worse_bounds.low > 0
            ok = not (beyond and significant)
            if not beyond:
                message = (
                    f"{name} change {value - old:+.4f} {change} is within the allowed "
                    f"{worse_direction(name)} {allowed}"
                )
                notes.append(shown)
            elif significant:
                message = (
                    f"{name} worsened by {_size(size, relative)} {change}, more than the "
                    f"allowed {allowed}, and beyond noise: {shown} excludes 0"
                )
            else:
                message = (
                    f"{name} worsened by {_size(size, relative)} {change}, more than the "
                    f"allowed {allowed} but within noise: {shown} includes 0"
                )
                hidden = (
                    f"{name} worsened by {_size(size, relative)} {change}, more than the "
                    f"allowed {worse_direction(name)} {allowed}; it passed only because "
                    f"{shown} includes 0"
                )
        else:  # non_inferiority: the interval's worse bound must stay within the tolerance
            worst = worse_bounds.high
            ok = worst <= tolerance + _EPS
            if worst <= 0:
                message = f"{name} is no worse than the base {change}: {shown}"
            else:
                message = (
                    f"{name} may be worse by up to {_size(worst, relative)} {change} "
                    f"({shown}), {'within' if ok else 'more than'} the allowed {allowed}"
                )
        sentence = detectable(name, noise, relative)
        if sentence:
            notes.append(sentence)
        checks.append(
            Check(
                name,
                kind,
                _status(ok),
                f"{message} ({'; '.join(notes)})",
                allowed,
                within_noise=hidden,
            )
        )
    return checks


def _size(worse: float, relative: bool) -> str:
    return f"{worse:.1%}" if relative else f"{worse:.4f}"


# Starting rules per task, for `mlpipe init`: floors that only a broken model misses (no
# better than chance) and limits on how much worse a change may make each metric. Binary and
# multiclass log_loss and regression errors have no absolute scale, so only their relative
# change is limited.
SUGGESTED_DROPS: dict[str, tuple[MetricGate, ...]] = {
    "binary": (
        MetricGate("roc_auc", min=0.5, max_drop=0.02),
        MetricGate("average_precision", max_drop_relative=0.05),
        MetricGate("log_loss", max_drop_relative=0.05),
    ),
    "multiclass": (
        MetricGate("balanced_accuracy", max_drop=0.03),
        MetricGate("f1_macro", max_drop=0.03),
        MetricGate("log_loss", max_drop_relative=0.05),
    ),
    "regression": (
        MetricGate("r2", min=0.0, max_drop=0.03),
        MetricGate("rmse", max_drop_relative=0.05),
        MetricGate("mae", max_drop_relative=0.05),
    ),
}


def suggested_rules(task: str, classes: int = 2) -> tuple[MetricGate, ...]:
    """Gate rules on the metrics ``task`` reports (see ``compute_metrics``), loose enough for a
    first honest model: roc_auc >= 0.5 (binary), balanced_accuracy >= 1 / ``classes`` (chance
    for multiclass, rounded down to 2 decimals), r2 >= 0 (no better than the mean), plus the
    largest allowed drop against the base of each metric."""
    rules = SUGGESTED_DROPS[task]
    if task == "multiclass":
        floor = math.floor(100 / max(classes, 2)) / 100
        rules = (dataclasses.replace(rules[0], min=floor), *rules[1:])
    return rules


def rule_mapping(rule: MetricGate) -> dict[str, float | str]:
    """A rule as params.yaml writes it: the metric, then the bounds that are set."""
    out: dict[str, float | str] = {"metric": rule.metric}
    for name in ("min", "max", "max_drop", "max_drop_relative"):
        value = getattr(rule, name)
        if value is not None:
            out[name] = value
    return out


def describe_rule(rule: MetricGate) -> str:
    """One line for a rule, e.g. 'roc_auc >= 0.5, drop <= 0.02'."""
    parts = []
    if rule.min is not None:
        parts.append(f">= {rule.min:g}")
    if rule.max is not None:
        parts.append(f"<= {rule.max:g}")
    worse = "rise" if DIRECTIONS.get(rule.metric) == LOWER else "drop"
    if rule.max_drop is not None:
        parts.append(f"{worse} <= {rule.max_drop:g}")
    if rule.max_drop_relative is not None:
        parts.append(f"{worse} <= {rule.max_drop_relative:.0%}")
    return f"{rule.metric} {', '.join(parts)}"


def leakage_checks(audit: Mapping[str, Any] | None, policy: str) -> tuple[Check, ...]:
    """The gate's checks on the audit report (paths.audit) under ``audit.leakage``.

    ``warn`` adds none: the PR comment shows the findings. ``fail`` adds one failing check per
    column the audit flags as possible target leakage (naming it, its power and the fix), or
    one passing check when it flags none; a missing report fails (the audit did not run).
    """
    if policy != "fail":
        return ()
    if audit is None:
        return (
            Check(
                "leakage",
                "audit",
                "fail",
                "target leakage: no audit report in the PR (paths.audit) while audit.leakage is "
                "fail; run `dvc repro` and commit its results",
            ),
        )
    leakage = audit.get("leakage") or {}
    metric = leakage.get("metric", "power")
    threshold = leakage.get("max_feature_power")
    found = flagged(audit)
    if not found:
        features = leakage.get("features") or []
        top = f"; strongest {metric} {float(features[0]['power']):.4f}" if features else ""
        return (
            Check(
                "leakage",
                "audit",
                "pass",
                f"target leakage: no feature alone reaches {metric} {threshold:g}{top}",
            ),
        )
    return tuple(
        Check(
            "leakage",
            "audit",
            "fail",
            f"target leakage: column '{f['column']}' alone predicts the target with {metric} "
            f"{float(f['power']):.4f}, at or above audit.max_feature_power {threshold:g} "
            f"(audit.leakage: fail). Leave it out with {FIX_KEY} in params.yaml, or set "
            "audit.leakage: warn if it is an honest feature",
        )
        for f in found
    )
