"""The pull-request comment as markdown, from two loaded revisions and the gate result.

Pure and deterministic: the same revisions give byte-identical text (no clock, no paths of the
machine), so a local preview equals the CI comment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlpipe.audit.markdown import label_issues_markdown, leakage_markdown, too_good_markdown
from mlpipe.data.drift import drift_markdown, report_from_dict
from mlpipe.report import charts
from mlpipe.report.diff import (
    MISSING,
    MetricChange,
    metric_changes,
    param_changes,
    text_diff,
)
from mlpipe.report.gate import GateResult
from mlpipe.report.revision import Revision, incomparable

TITLE = "mlpipe report"
_MARKS = {"better": "✅ better", "worse": "🔻 worse", "same": "= same", "info": "", "new": "new"}
# Slice tables show these metrics (the first three a task has).
_SLICE_METRICS = ("roc_auc", "average_precision", "f1", "accuracy", "f1_macro", "rmse", "mae")
_SLICE_METRICS += ("r2",)


@dataclass(frozen=True)
class Figure:
    """An image linked in the comment (only with the explicit image opt-in)."""

    title: str
    base_path: str | None
    pr_path: str


@dataclass(frozen=True)
class PullRequest:
    """Where the PR comes from, for the reproduce advice: its number (0: unknown) and whether
    its branch lives in a fork (not in origin; CI pushes nothing of a fork's)."""

    number: int = 0
    fork: bool = False


def build_report(
    base: Revision,
    head: Revision,
    gate: GateResult,
    *,
    all_params: bool = False,
    figures: Sequence[Figure] = (),
    source: PullRequest | None = None,
) -> str:
    """The whole comment. ``gate.dataset`` chooses the metrics table's dataset; ``source``
    (from CI) makes the reproduce advice work for a PR from a fork."""
    dataset = gate.dataset
    parts = [
        f"## {TITLE}",
        f"Base `{base.label}` (`{base.commit}`) → PR `{head.label}` (`{head.commit}`"
        + (", with uncommitted changes)" if head.dirty else ")"),
        _stale_warning(head),
        _gate_section(gate),
        _metrics_section(base, head, dataset),
        _too_good_section(head),
        _slices_section(base, head, dataset),
        _params_section(base, head, all_params),
        _data_section(base, head),
        _audit_section(base, head),
        _drift_section(head),
        _plots_section(base, head),
    ]
    if figures:
        parts.append(_figures_section(figures))
    parts.append(_reproduce_section(base, head, source))
    return "\n\n".join(p for p in parts if p) + "\n"


def _stale_warning(head: Revision) -> str:
    if not head.stale:
        return ""
    return (
        f"> ⚠️ **Not reproduced**: `dvc status` lists {', '.join(f'`{s}`' for s in head.stale)} "
        "as changed since the last `dvc repro`, so the PR's results below are from older code, "
        "params or data. Run `dvc repro` and report again."
    )


def _num(value: float | None, name: str = "") -> str:
    if value is None:
        return "—"
    if name == "rows":
        return f"{int(value)}"
    return f"{value:.4f}"


def _gate_section(gate: GateResult) -> str:
    lines = [f"### Gate: {'✅ passed' if gate.passed else '❌ failed'}"]
    failures = gate.failures
    if failures:
        lines.append("")
        lines += [f"- ❌ {m}" for m in failures]
    if not gate.has_baseline:
        why = f" ({gate.no_baseline})" if gate.no_baseline else ""
        lines += ["", f"No baseline{why}: only the absolute bounds were checked."]
    if gate.checks:
        lines += ["", "<details><summary>All gate checks</summary>", ""]
        icon = {"pass": "✅", "fail": "❌", "skip": "➖"}
        lines += [f"- {icon[c.status]} {c.message}" for c in gate.checks]
        lines += ["", "</details>"]
    else:
        lines += ["", "No gate rules are configured (params.yaml `gate.rules`)."]
    return "\n".join(lines)


def _metrics_section(base: Revision, head: Revision, dataset: str) -> str:
    title = f"### Metrics ({dataset} set)"
    pr = (head.metrics or {}).get(dataset)
    if pr is None:
        return f"{title}\n\nThe PR has no {dataset} metrics: run `dvc repro` first."
    base_values = None if base.metrics is None else base.metrics.get(dataset)
    reason = incomparable(base, head)
    if base_values is None or reason is not None:
        why = (
            f"`{base.label}` has no {dataset} metrics (no committed run)"
            if base_values is None
            else f"not compared with `{base.label}`, {reason}"
        )
        lines = [
            title,
            "",
            f"No baseline: {why}. Showing the PR's values only.",
            "",
            "| metric | PR |",
            "| --- | ---: |",
        ]
        lines += [f"| {name} | {_num(v, name)} |" for name, v in sorted(pr.items())]
        return "\n".join(lines)
    lines = [
        title,
        "",
        "| metric | base | PR | change | relative | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [_metric_row(c) for c in metric_changes(base_values, pr)]
    return "\n".join(lines)


def _metric_row(c: MetricChange) -> str:
    if c.delta is None or c.base is None or c.pr is None:
        delta = "—"
    elif c.name == "rows":
        delta = f"{c.delta:+.0f}"
    else:  # the difference of the values as shown, so the row adds up for a reader
        delta = f"{round(c.pr, 4) - round(c.base, 4):+.4f}"
    rel = "—" if c.relative is None else f"{c.relative:+.2%}"
    base, pr = _num(c.base, c.name), _num(c.pr, c.name)
    return f"| {c.name} | {base} | {pr} | {delta} | {rel} | {_MARKS.get(c.verdict, c.verdict)} |"


def _slices_section(base: Revision, head: Revision, dataset: str) -> str:
    pr = (head.slices or {}).get(dataset) or {}
    if not pr:
        return ""
    old = (base.slices or {}).get(dataset) or {}
    lines = [f"<details><summary>Slice metrics ({dataset} set)</summary>", ""]
    min_rows = ((head.params or {}).get("evaluate") or {}).get("min_slice_rows")
    for column in sorted(pr):
        values = pr[column]
        if not values:  # every value of the column has fewer test rows than the minimum
            at_least = f"{min_rows} " if min_rows is not None else ""
            lines += [
                f"**{column}**: no value has {at_least}rows in the {dataset} set "
                "(`evaluate.min_slice_rows`), so no slice is reported.",
                "",
            ]
            continue
        present = {m for v in values.values() for m in v}
        shown = [m for m in _SLICE_METRICS if m in present][:3]
        lines += [
            f"**{column}**",
            "",
            "| value | rows |" + "".join(f" {m} base → PR (change) |" for m in shown),
            "| --- | ---: |" + " ---: |" * len(shown),
        ]
        for value in sorted(values):
            new = values[value]
            prev = (old.get(column) or {}).get(value) or {}
            cells = "".join(f" {_slice_cell(prev.get(m), new.get(m))} |" for m in shown)
            lines.append(f"| {value} | {_num(new.get('rows'), 'rows')} |{cells}")
        lines.append("")
    lines.append("</details>")
    return "\n".join(lines)


def _slice_cell(old: float | None, new: float | None) -> str:
    if new is None:
        return "—"
    if old is None:
        return f"— → {new:.4f}"
    return f"{old:.4f} → {new:.4f} ({new - old:+.4f})"


def _value(v: Any) -> str:
    if v is MISSING:
        return "(absent)"
    return f"`{json.dumps(v)}`"


def _params_section(base: Revision, head: Revision, all_params: bool) -> str:
    changes = param_changes(base.params, head.params)
    lines = ["### Params"]
    if not changes:
        lines += ["", "No params changed."]
    else:
        lines += ["", "| param | base | PR |", "| --- | --- | --- |"]
        lines += [f"| {c.key} | {_value(c.old)} | {_value(c.new)} |" for c in changes]
    if all_params:
        from mlpipe.report.diff import flatten

        lines += ["", "<details><summary>All PR params</summary>", "", "| param | value |"]
        lines += ["| --- | --- |"]
        lines += [f"| {k} | {_value(v)} |" for k, v in sorted(flatten(head.params).items())]
        lines += ["", "</details>"]
    return "\n".join(lines)


def _violation(entry: Any) -> str:
    """One entry of validation.json's warnings/errors as the validate stage words it."""
    if isinstance(entry, dict) and {"column", "rule", "observed", "rows"} <= set(entry):
        return f"{entry['column']}: {entry['rule']} — {entry['observed']} ({entry['rows']} rows)"
    return str(entry)


def _data_section(base: Revision, head: Revision) -> str:
    new = head.validation
    lines = ["### Data"]
    if new is None:
        return "\n".join([*lines, "", "The PR has no validation report: run `dvc repro`."])
    old = base.validation or {}
    warnings = new.get("warnings") or []
    errors = new.get("errors") or []
    lines += [
        "",
        f"Validation {'passed' if new.get('ok') else 'FAILED'}: {new.get('rows')} rows, "
        f"{new.get('columns')} columns, {new.get('checks_passed')}/{new.get('checks_run')} "
        f"checks passed, {len(warnings)} warning(s), {len(errors)} error(s).",
    ]
    lines += [f"- ⚠️ {_violation(w)}" for w in warnings[:20]]
    lines += [f"- ❌ {_violation(e)}" for e in errors[:20]]
    schema_diff = text_diff(base.schema_text, head.schema_text, "schema.yaml")
    changed = bool(schema_diff) or base.data_hash != head.data_hash
    if base.validation is None and base.data_hash is None:
        lines += ["", f"`{base.label}` has no data run to compare with."]
        return "\n".join(lines)
    if not changed:
        lines += ["", "The data did not change (same ingested table and schema.yaml as the base)."]
        return "\n".join(lines)
    lines += [
        "",
        "**The data changed.**",
        "",
        "| | base | PR | change |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key in ("rows", "columns"):
        a, b = old.get(key), new.get(key)
        delta = f"{b - a:+d}" if isinstance(a, int) and isinstance(b, int) else "—"
        lines.append(f"| {key} | {a if a is not None else '—'} | {b} | {delta} |")
    counts_new = new.get("target_counts") or {}
    reason = incomparable(base, head)
    if reason is None:
        counts_old = old.get("target_counts") or {}
        for label in sorted(set(counts_old) | set(counts_new)):
            a, b = counts_old.get(label), counts_new.get(label)
            delta = f"{b - a:+d}" if a is not None and b is not None else "—"
            lines.append(
                f"| target = {label} | {a if a is not None else '—'} | {b or 0} | {delta} |"
            )
    else:  # another target or other classes: the base's counts are not a baseline
        target = (head.params.get("data") or {}).get("target") or "target"
        lines += ["", f"Target counts not compared with `{base.label}`: {reason}."]
        if counts_new:
            lines += ["", f"| {target} | PR rows |", "| --- | ---: |"]
            lines += [f"| {label} | {n} |" for label, n in sorted(counts_new.items())]
    if schema_diff:
        lines += ["", "schema.yaml changed:", "", "```diff", schema_diff.rstrip("\n"), "```"]
    else:
        lines += ["", "schema.yaml is unchanged."]
    return "\n".join(lines)


def _too_good_section(head: Revision) -> str:
    """A note under the metrics when a test AUC or r2 reaches 0.99 (leakage is the usual
    cause), naming the PR's most important features."""
    lines = too_good_markdown((head.metrics or {}).get("test"), head.importance)
    return "\n".join(lines).rstrip("\n")


def _audit_section(base: Revision, head: Revision) -> str:
    """The data section's audit: possible target leakage, and the label-issue count (the
    base's beside it) with the worst rows, collapsed."""
    if head.audit is None:
        return ""
    base_labels = (base.audit or {}).get("label_issues") or {}
    base_count = base_labels.get("count") if base_labels.get("computed") else None
    labels = label_issues_markdown(head.audit, base_count)
    lines = ["#### Data audit", "", *leakage_markdown(head.audit), "", labels[0]]
    if len(labels) > 1:
        lines += ["", "<details><summary>Rows whose label looks wrong</summary>", *labels[1:]]
        lines += ["", "</details>"]
    return "\n".join(lines)


def _drift_section(head: Revision) -> str:
    """The PR's train-vs-test drift (the drift stage's report), collapsed under a summary."""
    if head.drift is None:
        return ""
    report = report_from_dict(head.drift)
    drifted = report.drifted
    verdict = (
        f"{len(drifted)} of {len(report.features)} columns drifted: "
        + ", ".join(f"`{c}`" for c in drifted)
        if drifted
        else f"no drift in {len(report.features)} columns"
    )
    if report.not_tested:
        verdict += f" ({len(report.not_tested)} not tested: too few rows)"
    return "\n".join(
        [
            "### Drift (train vs test)",
            "",
            f"{'⚠️' if drifted else '✅'} {verdict}.",
            "",
            "<details><summary>Per-column drift</summary>",
            "",
            drift_markdown(report).rstrip("\n"),
            "",
            "</details>",
        ]
    )


def _plots_section(base: Revision, head: Revision) -> str:
    """Curves overlaid and confusion matrices side by side; the PR's alone when the base has
    none or predicts something else (another target or other classes)."""
    reason = incomparable(base, head)
    base_plots = {} if reason else base.plots
    blocks = []
    xs = charts.grid()
    curves = (
        ("roc", "ROC curve", "false positive rate", "true positive rate", charts.roc_on_grid),
        ("precision_recall", "Precision-recall curve", "recall", "precision", charts.pr_on_grid),
    )
    for name, title, x_label, y_label, on_grid in curves:
        if name not in head.plots:
            continue
        old = base_plots.get(name)
        blocks.append(
            charts.overlay_chart(
                title,
                x_label,
                y_label,
                xs,
                on_grid(old, xs) if old else None,
                on_grid(head.plots[name], xs),
            )
        )
    caption = ""
    if blocks:  # a colour caption only above charts that are drawn
        if reason:
            caption = f"Orange: PR (`{head.commit}`); not compared with `{base.label}`: {reason}."
        elif not base_plots.get("roc") and not base_plots.get("precision_recall"):
            caption = f"Orange: PR (`{head.commit}`); `{base.label}` has no curves to compare."
        else:
            caption = f"Blue: base `{base.label}` (`{base.commit}`), orange: PR (`{head.commit}`)."
        caption += " Curves resampled on a 0.05 grid."
    if "confusion" in head.plots:
        if reason:
            blocks.append(
                _confusion_table(
                    None,
                    head.plots["confusion"],
                    f"Confusion matrix (test set) of the PR only; `{base.label}`'s is not shown: "
                    f"{reason}.",
                )
            )
        else:
            blocks.append(_confusion_table(base_plots.get("confusion"), head.plots["confusion"]))
    if not blocks:
        return ""
    title = "### Plots (PR)" if reason else "### Plots (base vs PR)"
    return "\n\n".join(part for part in [title, caption, *blocks] if part)


def _matrix(records: list[dict[str, Any]] | None) -> dict[tuple[str, str], int]:
    return {(str(r["actual"]), str(r["predicted"])): int(r["count"]) for r in records or []}


def _confusion_table(
    base: list[dict[str, Any]] | None, pr: list[dict[str, Any]], intro: str = ""
) -> str:
    """Base and PR confusion matrices side by side in one table (rows: actual class); the PR's
    alone when ``base`` is None (``intro`` then says why, if given)."""
    old, new = _matrix(base), _matrix(pr)
    labels = sorted({a for a, _ in old | new} | {p for _, p in old | new})
    sides = [("base", old), ("PR", new)] if base else [("PR", new)]
    header = ["actual ↓ / predicted →"]
    for side, _ in sides:
        header += [f"{side}: {p}" for p in labels]
    if not intro:
        intro = (
            "Confusion matrix (test set), base and PR side by side:"
            if base
            else "Confusion matrix (test set) of the PR; the base has none:"
        )
    lines = [
        intro,
        "",
        "| " + " | ".join(header) + " |",
        "| --- |" + " ---: |" * (len(header) - 1),
    ]
    for actual in labels:
        cells = [f"**{actual}**"]
        for _, matrix in sides:
            cells += [str(matrix.get((actual, p), 0)) for p in labels]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _figures_section(figures: Sequence[Figure]) -> str:
    lines = ["### Figures (uploaded by CML)", "", "| | base | PR |", "| --- | --- | --- |"]
    for f in figures:
        old = f"![base {f.title}]({f.base_path})" if f.base_path else "—"
        lines.append(f"| {f.title} | {old} | ![PR {f.title}]({f.pr_path}) |")
    return "\n".join(lines)


def _reproduce_section(base: Revision, head: Revision, source: PullRequest | None) -> str:
    lines = ["### Reproduce locally", ""]
    if source is not None and source.fork:
        # A fork's branch is not in origin, and CI pushed none of its outputs to the remote.
        branch = f"pr-{source.number}" if source.number else head.label
        fetch = (
            f"git fetch origin pull/{source.number}/head:{branch}"
            if source.number
            else "git fetch <the fork's URL> " + head.label + f":{branch}"
        )
        lines += [
            "The PR comes from a fork: CI pushed none of its outputs, so the stages it changes "
            "run on your machine.",
            "",
            "```bash",
            f"{fetch} && git checkout {branch} && dvc pull && dvc repro",
        ]
    else:
        lines += [
            "```bash",
            # --pull fetches the run-cache too: stages CI already ran are checked out, not rerun.
            f"git fetch origin && git checkout {head.label} && dvc repro --pull",
        ]
    lines += [f"mlpipe report --base {base.label}", "```"]
    return "\n".join(lines)
