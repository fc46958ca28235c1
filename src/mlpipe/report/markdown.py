"""The pull-request comment as markdown, from two loaded revisions and the gate result.

Pure and deterministic: the same revisions give byte-identical text (no clock, no paths of the
machine), so a local preview equals the CI comment.

Every string that comes from data or from the user (column names, category values, class labels,
param keys and values, branch names, messages) is written through ``mlpipe.markdown_escape``, so
no value can mention someone, inject HTML or break a table. A value longer than
``markdown_escape.CELL_LIMIT`` characters is shortened where it is shown and written in full in
a collapsed block near the end. The comment is kept under a size budget (``COMMENT_BUDGET``,
GitHub's limit is ``COMMENT_LIMIT``): when it is over, ``fit`` shortens the tables of, then
leaves out, sections in the order ``FIT_ORDER`` (least important first) and says so at the top.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlpipe.audit.markdown import label_issues_markdown, leakage_markdown, too_good_markdown
from mlpipe.config import PathsConfig
from mlpipe.data.drift import drift_markdown, report_from_dict
from mlpipe.markdown_escape import fence, md, md_code, md_text, record_shortened
from mlpipe.report import charts
from mlpipe.report.diff import (
    MISSING,
    MetricChange,
    metric_changes,
    param_changes,
    text_diff,
)
from mlpipe.report.gate import GateResult
from mlpipe.report.noise import Noise, worse_direction
from mlpipe.report.noise import verdict as noise_verdict
from mlpipe.report.revision import PLOT_NAMES, Revision, incomparable
from mlpipe.tune.result import Staleness, baseline_won, staleness, trial_label

TITLE = "mlpipe report"
_MARKS = {"better": "✅ better", "worse": "🔻 worse", "same": "= same", "info": "", "new": "new"}
# Slice tables show these metrics (the first three a task has).
_SLICE_METRICS = ("roc_auc", "average_precision", "f1", "accuracy", "f1_macro", "rmse", "mae")
_SLICE_METRICS += ("r2",)

# GitHub refuses a comment body longer than this (characters).
COMMENT_LIMIT = 65_536
# What the comment is kept under, in UTF-8 bytes (never fewer than its characters), leaving
# room for CML's watermark.
COMMENT_BUDGET = 60_000
# GitHub's limit on one step's job summary (bytes), and what the summary is kept under.
SUMMARY_LIMIT = 1_048_576
SUMMARY_BUDGET = 1_000_000
# Sections shortened (their tables cut to TABLE_ROWS rows, a diff to DIFF_LINES lines), then
# left out, in this order, while the text is over its budget (least important first). The
# header, the gate, the metrics and the reproduce advice are always kept. A new section that
# can grow with the data gets a key here (and in _FIT_NAMES), or only the last resort cuts it.
FIT_ORDER = ("values", "figures", "plots", "drift", "slices", "tuning", "audit", "params", "data")
_FIT_NAMES = {
    "values": "the shortened values in full",
    "figures": "figures",
    "plots": "plots",
    "drift": "drift",
    "slices": "slice metrics",
    "tuning": "tuning",
    "audit": "data audit",
    "params": "params",
    "data": "data",
}
TABLE_ROWS = 20
DIFF_LINES = 40
# Values shortened in tables, written in full at the end: at most this many, of at most this
# many characters each (the comment keeps fewer and shorter ones when it must).
FULL_VALUES = 50
FULL_VALUE_CHARS = 20_000
_FULL_VALUES_SHORT = (10, 1_000)


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
    budget: int | None = COMMENT_BUDGET,
    full_report: str = "",
    noise: Noise | None = None,
) -> str:
    """The whole comment. ``gate.dataset`` chooses the metrics table's dataset; ``source``
    (from CI) makes the reproduce advice work for a PR from a fork.

    ``budget``: the most UTF-8 bytes the text may have (None: no limit); see ``fit``.
    ``full_report`` (markdown) says where the whole report is, for the note ``fit`` writes when
    it shortens or leaves out a section (e.g. a link to the job summary). ``noise`` (the
    bootstrap comparison of the test set, ``report.noise``) adds intervals and noise-aware
    verdicts."""
    dataset = gate.dataset
    with record_shortened() as long_values:
        sections = [
            ("header", f"## {TITLE}"),
            (
                "revisions",
                f"Base {md_code(base.label)} ({md_code(base.commit)}) → PR {md_code(head.label)} "
                f"({md_code(head.commit)}"
                + (", with uncommitted changes)" if head.dirty else ")"),
            ),
            ("stale", _stale_warning(head)),
            ("gate", _gate_section(gate, head.stale, _allowed_worse(base, head, gate, noise))),
            (
                "metrics",
                _noted(
                    _metrics_section(base, head, dataset)
                    if noise is None
                    else _noisy_metrics_section(base, head, dataset, noise),
                    head,
                    "metrics",
                    "intervals",
                ),
            ),
            ("too_good", _noted(_too_good_section(head), head, "importance")),
            ("slices", _noted(_slices_section(base, head, dataset), head, "slices")),
            ("params", _params_section(base, head, all_params)),
            ("tuning", _noted(_tuning_section(base, head), head, "tune")),
            (
                "data",
                _noted(_data_section(base, head), head, "validation", "ingest_report", "schema"),
            ),
            ("audit", _noted(_audit_section(base, head), head, "audit")),
            ("drift", _noted(_drift_section(head), head, "drift")),
            ("plots", _noted(_plots_section(base, head), head, *PLOT_NAMES)),
        ]
        if figures:
            sections.append(("figures", _figures_section(figures)))
    values = list(long_values)
    sections.append(("values", _values_section(values, FULL_VALUES, FULL_VALUE_CHARS)))
    sections.append(("reproduce", _reproduce_section(base, head, source)))
    compact = {"values": _values_section(values, *_FULL_VALUES_SHORT)}
    return fit(sections, budget, full_report, compact)


def _join(sections: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(text for _, text in sections if text) + "\n"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def fit(
    sections: Sequence[tuple[str, str]],
    budget: int | None,
    full_report: str = "",
    compact: dict[str, str] | None = None,
) -> str:
    """The sections joined, in at most ``budget`` UTF-8 bytes (None: no limit).

    Over budget, the sections named in ``FIT_ORDER`` are first shortened in that order (their
    tables cut to ``TABLE_ROWS`` rows and diffs to ``DIFF_LINES`` lines, or the text given in
    ``compact``), then left out in that order, until the text fits; then each is given back
    as much as still fits, most important first. A note after the first section says what was
    shortened or left out and where the full report is (``full_report``). Should the sections
    that are always kept be over budget on their own, the text is cut at a line.
    """
    text = _join(sections)
    if budget is None or _size(text) <= budget:
        return text
    texts = dict(sections)
    forms = {
        key: [texts[key], (compact or {}).get(key) or _cap(texts[key]), ""]
        for key in FIT_ORDER
        if texts.get(key)
    }
    level = dict.fromkeys(forms, 0)

    def render() -> str:
        shortened = [k for k in forms if level[k] == 1 and forms[k][1] != forms[k][0]]
        dropped = [k for k in forms if level[k] == 2]
        kept = [(k, forms[k][level[k]] if k in forms else t) for k, t in sections]
        note = _fit_note(shortened, dropped, full_report)
        return _join([kept[0], ("note", note), *kept[1:]])

    steps = [(k, 1) for k in FIT_ORDER if k in forms] + [(k, 2) for k in FIT_ORDER if k in forms]
    for key, to in steps:
        level[key] = to
        if _size(render()) <= budget:
            break
    for key in reversed([k for k in FIT_ORDER if k in forms]):  # give back what fits
        while level[key] > 0:
            level[key] -= 1
            if _size(render()) > budget:
                level[key] += 1
                break
    text = render()
    return text if _size(text) <= budget else _cut(text, budget, full_report)


def _fit_note(shortened: Sequence[str], dropped: Sequence[str], full_report: str) -> str:
    parts = []
    if shortened:
        names = ", ".join(_FIT_NAMES[k] for k in shortened)
        parts.append(
            f"shortened {names} (tables to their first {TABLE_ROWS} rows, diffs to "
            f"{DIFF_LINES} lines)"
        )
    if dropped:
        parts.append("left out " + ", ".join(_FIT_NAMES[k] for k in dropped))
    where = full_report or "`mlpipe report --summary FILE` writes it"
    return (
        "> ℹ️ **Shortened to fit GitHub's size limit** (a comment holds at most "
        f"{COMMENT_LIMIT:,} characters, a job summary 1 MiB): {'; '.join(parts)}. "
        f"The full report: {where}."
    )


_SEPARATOR = re.compile(r"^\|(?: *:?-+:? *\|)+$")
_FENCE_LINE = re.compile(r"^(`{3,}|~{3,})(.*)$")


def _cap(text: str) -> str:
    """``text`` with every table cut to its first ``TABLE_ROWS`` rows and every diff block to
    its first ``DIFF_LINES`` lines, each cut said where it is."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE_LINE.match(line)
        if opening:  # a fenced block: copied, a diff cut
            ticks = opening.group(1)
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].startswith(ticks)), len(lines)
            )
            body = lines[i + 1 : end]
            if opening.group(2) == "diff" and len(body) > DIFF_LINES:
                out += [line, *body[:DIFF_LINES], ticks, ""]
                out.append(f"({len(body) - DIFF_LINES} more lines of the diff in the full report)")
            else:
                out += lines[i : end + 1]
            i = end + 1
            continue
        if line.startswith("|") and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            rows = lines[i + 2 : end]
            out += lines[i : i + 2] + rows[:TABLE_ROWS]
            if len(rows) > TABLE_ROWS:
                out += ["", f"({len(rows) - TABLE_ROWS} more rows in the full report)"]
                if end < len(lines) and lines[end]:
                    out.append("")
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _cut(text: str, budget: int, full_report: str) -> str:
    """The last resort: ``text`` cut at a line so that it fits, open blocks closed."""
    where = full_report or "`mlpipe report --summary FILE` writes it"
    tail = f"\n\n(cut here: over GitHub's size limit; the full report: {where})\n"
    room = budget - _size(tail) - 200
    kept = text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
    kept = kept[: kept.rfind("\n")] if "\n" in kept else ""
    ticks = None
    for line in kept.split("\n"):
        opening = _FENCE_LINE.match(line)
        if opening and ticks is None:
            ticks = opening.group(1)
        elif ticks is not None and line.startswith(ticks):
            ticks = None
    if ticks is not None:
        kept += "\n" + ticks
    kept += "\n</details>" * max(kept.count("<details>") - kept.count("</details>"), 0)
    return kept + tail


def _values_section(values: Sequence[str], count: int, chars: int) -> str:
    """The values shortened in the tables above, in full (the first ``count``, each at most
    ``chars`` characters), each in a block that nothing in it can break out of."""
    if not values:
        return ""
    lines = [
        f"<details><summary>{len(values)} value(s) longer than the tables show "
        "(shortened there, ending in …), in full</summary>",
        "",
    ]
    for value in values[:count]:
        shown = value if len(value) <= chars else value[:chars]
        opening, closing = fence(shown, "text")
        if len(value) > chars:
            lines += [f"The first {chars:,} of {len(value):,} characters:", ""]
        lines += [opening, shown, closing, ""]
    if len(values) > count:
        lines += [f"({len(values) - count} more not shown here.)", ""]
    lines.append("</details>")
    return "\n".join(lines)


_UNCOMMITTED = {
    "untracked": "untracked",
    "ignored": "untracked, ignored by .gitignore",
    "changed": "changed since the last commit",
}


def _result_path(head: Revision, key: str) -> str:
    """The PR's path of a result: a ``paths`` key, or a plot file's name in ``paths.plots``."""
    paths = head.params.get("paths") or {}
    if key in PLOT_NAMES or key == "importance":
        return f"{paths.get('plots') or PathsConfig().plots}/{key}.json"
    return str(paths.get(key) or getattr(PathsConfig(), key))


def _noted(text: str, head: Revision, *keys: str) -> str:
    """``text`` (a section) with a note under its title naming the result files it shows that
    are not committed as they are (``Revision.uncommitted``), and the command that adds them.
    A section without a title (``###``) gets the note first; an empty one stays empty."""
    if not text or not head.uncommitted:
        return text
    paths = [_result_path(head, key) for key in keys]
    found = [(p, head.uncommitted[p]) for p in paths if head.uncommitted.get(p)]
    if not found:
        return text
    names = ", ".join(f"{md_code(p)} ({_UNCOMMITTED.get(state, state)})" for p, state in found)
    force = "-f " if any(state == "ignored" for _, state in found) else ""
    command = f"git add {force}" + " ".join(shlex.quote(p) for p, _ in found)
    note = (
        f"> ⚠️ **Not committed**: {names}. The PR's commits do not hold what this section shows: "
        f"{md_code(command)}, then commit."
    )
    if "tune" in keys:
        note += (
            " CI does not run `mlpipe tune`: its comment shows the committed result, or no "
            "Tuning section without one."
        )
    first, _, rest = text.partition("\n")
    if not first.startswith("#"):
        return f"{note}\n\n{text}"
    return f"{first}\n\n{note}" + (f"\n{rest}" if rest else "")


def _stale_warning(head: Revision) -> str:
    if not head.stale:
        return ""
    return (
        f"> ⚠️ **Not reproduced**: `dvc status` lists {', '.join(md_code(s) for s in head.stale)} "
        "as changed since the last `dvc repro`, so the PR's results below are from older code, "
        "params or data. Run `dvc repro` and report again."
    )


def _num(value: float | None, name: str = "") -> str:
    if value is None:
        return "—"
    if name == "rows":
        return f"{int(value)}"
    return f"{value:.4f}"


def _gate_section(
    gate: GateResult, stale: Sequence[str] = (), allowed_worse: Sequence[str] = ()
) -> str:
    """The verdict, the failures, and under a passed verdict what a reviewer should not miss:
    checks that passed only because their change is within noise, and significant worsenings
    the rules allow (``allowed_worse``, from ``_allowed_worse``). With ``stale`` stages (the
    workspace is not reproduced) there is no verdict, as `mlpipe gate` gives none."""
    if stale:
        return _stale_gate_section(gate, stale)
    lines = [f"### Gate: {'✅ passed' if gate.passed else '❌ failed'}"]
    failures = gate.failures
    if failures:
        lines.append("")
        lines += [f"- ❌ {md_text(m)}" for m in failures]
    if gate.passed:
        lines += _passed_notes(gate, allowed_worse)
    if not gate.has_baseline:
        why = f" ({md_text(gate.no_baseline)})" if gate.no_baseline else ""
        lines += ["", f"No baseline{why}: only the absolute bounds were checked."]
    elif gate.noise_rule is not None:
        lines += ["", _NOISE_RULES[gate.noise_rule]]
        if gate.noise_unavailable:
            lines += [
                "",
                "⚠️ The drop rules had no interval of the change "
                f"({gate.noise_unavailable}): they were judged on the point values.",
            ]
    if gate.checks:
        lines += ["", "<details><summary>All gate checks</summary>", ""]
        lines += _check_lines(gate)
        lines += ["", "</details>"]
    else:
        lines += ["", "No gate rules are configured (params.yaml `gate.rules`)."]
    return "\n".join(lines)


def _check_lines(gate: GateResult) -> list[str]:
    icon = {"pass": "✅", "fail": "❌", "skip": "➖"}
    return [f"- {icon[c.status]} {md_text(c.message)}" for c in gate.checks]


def _stale_gate_section(gate: GateResult, stale: Sequence[str]) -> str:
    """No verdict on results that are not the workspace's code and params' (`mlpipe gate`
    refuses them with exit 2): why, what to run, and the checks collapsed, marked as such."""
    stages = ", ".join(md_code(s) for s in stale)
    lines = [
        "### Gate: ❌ not passed: the workspace is not reproduced",
        "",
        f"`dvc status` lists {stages} as changed since the last `dvc repro`, so the results "
        "below belong to older code, params or data and the gate cannot judge this PR: "
        "`mlpipe gate` refuses (exit 2). Run `dvc repro`, commit `dvc.lock` and the results, "
        "then report again.",
    ]
    if gate.checks:
        lines += [
            "",
            "<details><summary>The gate's checks on those older results (not a verdict)</summary>",
            "",
            *_check_lines(gate),
            "",
            "</details>",
        ]
    return "\n".join(lines)


def _passed_notes(gate: GateResult, allowed_worse: Sequence[str]) -> list[str]:
    lines = []
    hidden = [c.within_noise for c in gate.checks if c.status == "pass" and c.within_noise]
    if hidden:
        lines += [
            "",
            "⚠️ **Passed only because the change is within noise**: beyond its tolerance, but "
            "the test set cannot tell the change from noise (more test rows would; "
            "`gate.noise: non_inferiority` would fail it):",
            "",
            *[f"- {md_text(h)}" for h in hidden],
        ]
    if allowed_worse:
        lines += [
            "",
            "🔻 **Worse beyond noise, and allowed by the gate**: the table below marks these "
            "🔻 worse (their interval excludes 0); the rules let them pass:",
            "",
            *[f"- {w}" for w in allowed_worse],
        ]
    return lines


def _allowed_worse(
    base: Revision, head: Revision, gate: GateResult, noise: Noise | None
) -> list[str]:
    """The metrics the test table marks 🔻 worse (the change's interval excludes 0) that no
    drop check failed on: each with its change and interval and the tolerance it is within,
    or that no drop rule limits it (markdown lines)."""
    if noise is None or noise.comparison is None or gate.dataset != "test":
        return []
    pr = (head.metrics or {}).get("test")
    old = None if base.metrics is None else base.metrics.get("test")
    if pr is None or old is None or incomparable(base, head) is not None:
        return []
    out = []
    for c in metric_changes(old, pr):
        difference = noise.difference(c.name)
        if c.verdict not in ("better", "worse", "same") or difference is None:
            continue
        if noise_verdict(c.name, difference) != "worse" or difference.interval is None:
            continue
        drops = [
            ch
            for ch in gate.checks
            if ch.metric == c.name and ch.rule in ("max_drop", "max_drop_relative")
        ]
        if any(ch.status == "fail" for ch in drops):
            continue
        i = difference.interval
        shown = round(c.pr or 0.0, 4) - round(c.base or 0.0, 4)  # as the table shows it
        change = f"{shown:+.4f} [{i.low:+.4f}, {i.high:+.4f}]"
        allowed = [ch.allowed for ch in drops if ch.status == "pass" and ch.allowed]
        limit = (
            f"within the allowed {worse_direction(c.name)} {' and '.join(allowed)}"
            if allowed
            else "no drop rule on it in `gate.rules`"
        )
        out.append(f"{md_code(c.name)} {change}: {limit}")
    return out


_NOISE_RULES = {
    "significant": "Noise rule `significant` (params `gate.noise`): a drop rule fails only when "
    "the drop is beyond its tolerance **and** its interval excludes 0 (a change, not noise). "
    "Floors and ceilings are checked on the point value.",
    "non_inferiority": "Noise rule `non_inferiority` (params `gate.noise`): a drop rule fails "
    "when the worse bound of the change's interval is beyond its tolerance (the PR must show "
    "it is not worse by more). Floors and ceilings are checked on the point value.",
    "ignore": "Noise rule `ignore` (params `gate.noise`): the drop rules judge the point "
    "values alone, noise or not.",
}
_NOISE_MARKS = {
    "better": "✅ better",
    "worse": "🔻 worse",
    "noise": "within noise",
    "same": _MARKS["same"],
    "info": "",
    "new": "new",
    "gone": "gone",
}


def _noisy_metrics_section(base: Revision, head: Revision, dataset: str, noise: Noise) -> str:
    """The metrics table with each test value's interval and the change's interval; a change
    is better / worse only when its interval excludes 0, otherwise within noise."""
    title = f"### Metrics ({dataset} set)"
    pr = (head.metrics or {}).get(dataset)
    if pr is None:
        return f"{title}\n\nThe PR has no {dataset} metrics: run `dvc repro` first."
    base_values = None if base.metrics is None else base.metrics.get(dataset)
    reason = incomparable(base, head)
    test = dataset == "test"
    own_pr = noise.pr_intervals if test else {}
    own_base = noise.base_intervals if test else {}
    level = noise.level
    if base_values is None or reason is not None:
        why = (
            f"{md_code(base.label)} has no {dataset} metrics (no committed run)"
            if base_values is None
            else f"not compared with {md_code(base.label)}, {reason}"
        )
        lines = [title, "", f"No baseline: {why}. Showing the PR's values only."]
        if own_pr:
            lines += ["", f"Each value with its {level} bootstrap interval."]
        lines += ["", f"| metric | PR{_with(own_pr, level)} |", "| --- | ---: |"]
        lines += [
            f"| {name} | {_valued(v, own_pr.get(name), name)} |" for name, v in sorted(pr.items())
        ]
        return "\n".join(lines)
    lines = [title, "", *_noise_intro(noise, test)]
    paired = test and noise.comparison is not None
    lines += [
        "",
        f"| metric | base{_with(own_base, level)} | PR{_with(own_pr, level)} | "
        f"change{_with(paired, level)} | relative | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in metric_changes(base_values, pr):
        lines.append(_noisy_row(c, noise if test else None, own_base, own_pr))
    return "\n".join(lines)


def _with(present: object, level: str) -> str:
    return f" [{level} interval]" if present else ""


def _noise_intro(noise: Noise, test: bool) -> list[str]:
    if not test:
        return [
            "Intervals are computed for the test set only: ✅ better / 🔻 worse below come from "
            "the point values (*point estimate*)."
        ]
    comparison = noise.comparison
    if comparison is None:
        return [
            f"> ⚠️ **No interval for the changes**: {noise.unavailable}. Each side's values show "
            "their own interval where the revision has one; ✅ better / 🔻 worse below come from "
            "the point values alone (*point estimate*), not tested against noise."
        ]
    base_rows, pr_rows = comparison.rows
    sample = ""
    if comparison.resampled_rows[1] < pr_rows:
        sample = (
            f" (drawn from a seeded sample of {comparison.resampled_rows[1]} rows, the spread "
            "rescaled to all of them: `evaluate.bootstrap.max_rows`)"
        )
    if comparison.paired:
        how = (
            f"The change's interval is a **paired** bootstrap: {comparison.resamples} resamples "
            f"of the same {pr_rows} test rows for base and PR{sample}, seed {comparison.seed}."
        )
        lines = []
    else:
        how = (
            f"The change's interval is **unpaired**: each side's {comparison.resamples} "
            f"resamples are drawn from its own rows ({base_rows} base, {pr_rows} PR){sample}, "
            f"seed {comparison.seed}; wider than a paired comparison."
        )
        lines = [f"> ⚠️ **The test sets differ**: {comparison.unpaired_reason}.", ""]
    same = (
        f" Base and PR predict the same on every one of the {pr_rows} test rows: nothing "
        "changed (= same)."
        if comparison.identical
        else ""
    )
    return [
        *lines,
        f"Values with their {noise.level} interval. {how} A change is ✅ better or 🔻 worse only "
        "when its interval excludes 0; otherwise it is within noise, or = same when the metric "
        f"is equal on both sides in every resample.{same}",
    ]


def _noisy_row(
    c: MetricChange,
    noise: Noise | None,
    own_base: dict[str, Any],
    own_pr: dict[str, Any],
) -> str:
    if c.delta is None or c.base is None or c.pr is None:
        delta = "—"
    elif c.name == "rows":
        delta = f"{c.delta:+.0f}"
    else:  # the difference of the values as shown, so the row adds up for a reader
        delta = f"{round(c.pr, 4) - round(c.base, 4):+.4f}"
    difference = None if noise is None else noise.difference(c.name)
    if difference is not None and difference.interval is not None and c.name != "rows":
        i = difference.interval
        delta += f" [{i.low:+.4f}, {i.high:+.4f}]"
    rel = "—" if c.relative is None else f"{c.relative:+.2%}"
    if c.verdict in ("better", "worse", "same") and difference is not None:
        mark = _NOISE_MARKS[noise_verdict(c.name, difference)]
    elif c.verdict in ("better", "worse"):
        mark = _MARKS[c.verdict] + " (*point estimate*)"
    elif c.verdict == "same":
        mark = _MARKS["same"]
    else:
        mark = _NOISE_MARKS.get(c.verdict, c.verdict)
    base = _valued(c.base, own_base.get(c.name), c.name)
    pr = _valued(c.pr, own_pr.get(c.name), c.name)
    return f"| {c.name} | {base} | {pr} | {delta} | {rel} | {mark} |"


def _valued(value: float | None, interval: Any, name: str) -> str:
    """A value with its interval, e.g. ``0.8214 [0.8080, 0.8350]``."""
    text = _num(value, name)
    if value is None or interval is None or name == "rows":
        return text
    return f"{text} [{interval.low:.4f}, {interval.high:.4f}]"


def _metrics_section(base: Revision, head: Revision, dataset: str) -> str:
    title = f"### Metrics ({md(dataset)} set)"
    pr = (head.metrics or {}).get(dataset)
    if pr is None:
        return f"{title}\n\nThe PR has no {md(dataset)} metrics: run `dvc repro` first."
    base_values = None if base.metrics is None else base.metrics.get(dataset)
    reason = incomparable(base, head)
    if base_values is None or reason is not None:
        why = (
            f"{md_code(base.label)} has no {md(dataset)} metrics (no committed run)"
            if base_values is None
            else f"not compared with {md_code(base.label)}, {md_text(reason)}"
        )
        lines = [
            title,
            "",
            f"No baseline: {why}. Showing the PR's values only.",
            "",
            "| metric | PR |",
            "| --- | ---: |",
        ]
        lines += [f"| {md(name)} | {_num(v, name)} |" for name, v in sorted(pr.items())]
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
    mark = _MARKS.get(c.verdict, c.verdict)
    return f"| {md(c.name)} | {base} | {pr} | {delta} | {rel} | {mark} |"


def _slices_section(base: Revision, head: Revision, dataset: str) -> str:
    pr = (head.slices or {}).get(dataset) or {}
    if not pr:
        return ""
    old = (base.slices or {}).get(dataset) or {}
    lines = [f"<details><summary>Slice metrics ({md(dataset)} set)</summary>", ""]
    min_rows = ((head.params or {}).get("evaluate") or {}).get("min_slice_rows")
    # How many values each table leaves out (evaluate records it; an older slices.json not).
    small = (head.slices or {}).get("below_min_rows") or {}
    left_out = small.get(dataset) if isinstance(small.get(dataset), dict) else None
    if small.get("min_rows") is not None:
        min_rows = small["min_rows"]
    if left_out is None and min_rows is not None:
        lines += [
            f"Values with fewer than {md(min_rows)} {md(dataset)} rows "
            "(`evaluate.min_slice_rows`) are not shown.",
            "",
        ]
    for column in sorted(pr):
        values = pr[column]
        hidden = (left_out or {}).get(column)
        if not values:  # every value of the column has fewer test rows than the minimum
            at_least = f"{md(min_rows)} " if min_rows is not None else ""
            count = f" (of {md(hidden)} value(s))" if isinstance(hidden, int) else ""
            lines += [
                f"**{md(column)}**: no value has {at_least}rows in the {md(dataset)} set"
                f"{count} (`evaluate.min_slice_rows`), so no slice is reported.",
                "",
            ]
            continue
        present = {m for v in values.values() for m in v}
        shown = [m for m in _SLICE_METRICS if m in present][:3]
        lines += [
            f"**{md(column)}**",
            "",
            "| value | rows |" + "".join(f" {md(m)} base → PR (change) |" for m in shown),
            "| --- | ---: |" + " ---: |" * len(shown),
        ]
        for value in sorted(values):
            new = values[value]
            prev = (old.get(column) or {}).get(value) or {}
            cells = "".join(f" {_slice_cell(prev.get(m), new.get(m))} |" for m in shown)
            lines.append(f"| {md(value)} | {_num(new.get('rows'), 'rows')} |{cells}")
        if isinstance(hidden, int) and hidden > 0:
            lines += [
                "",
                f"{hidden} value(s) with fewer than {md(min_rows)} {md(dataset)} rows not shown "
                "(`evaluate.min_slice_rows`).",
            ]
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
    return md_code(json.dumps(v, ensure_ascii=False))


def _params_section(base: Revision, head: Revision, all_params: bool) -> str:
    changes = param_changes(base.params, head.params)
    lines = ["### Params"]
    if not changes:
        lines += ["", "No params changed."]
    else:
        lines += ["", "| param | base | PR |", "| --- | --- | --- |"]
        lines += [f"| {md(c.key)} | {_value(c.old)} | {_value(c.new)} |" for c in changes]
    if all_params:
        from mlpipe.report.diff import flatten

        lines += ["", "<details><summary>All PR params</summary>", "", "| param | value |"]
        lines += ["| --- | --- |"]
        lines += [f"| {md(k)} | {_value(v)} |" for k, v in sorted(flatten(head.params).items())]
        lines += ["", "</details>"]
    return "\n".join(lines)


def _tuning_section(base: Revision, head: Revision) -> str:
    """`mlpipe tune`'s result when the PR changed it: the study, baseline vs best per fold, the
    changed keys with their ranges, and a warning when it no longer fits the PR."""
    result = head.tune
    if result is None or result == base.tune:
        return ""
    metric = md_code(result.get("metric", "?"))
    folds = result.get("folds") or {}
    sampler = result.get("sampler") or {}
    better = "higher" if result.get("direction") == "maximize" else "lower"
    lines = [
        "### Tuning",
        "",
        f"`mlpipe tune`: {result.get('trials_finished')} trials ({md(sampler.get('name', '?'))}"
        f", seed {md(sampler.get('seed', '?'))}), {md(folds.get('count', '?'))}-fold "
        f"{md(folds.get('method', '?'))} cross-validation on the "
        f"{md((result.get('train_data') or {}).get('rows', '?'))} training rows, {metric} "
        f"({better} is better).",
    ]
    if not result.get("reproducible", True):
        why = "; ".join(md(r, limit=200) for r in result.get("not_reproducible") or [])
        lines += ["", f"Not reproducible: {why}."]
    failed = result.get("failed") or []
    if failed:
        lines += ["", f"{len(failed)} trial(s) failed to fit (listed in the result JSON)."]
    found = staleness(result, head.train_hash, head.params)
    if found.stale:
        lines += ["", *_stale_tuning(found)]
    lines += ["", *_tuning_scores(result, metric)]
    if baseline_won(result):
        only = [c.get("key") for c in result.get("changes") or []] == ["train.threshold"]
        lines += [
            "",
            "**No hyperparameters beat the current ones** in cross-validation: the best trial is "
            "the baseline (params.yaml as it was)"
            + (
                "; only the decision threshold changed (`train.threshold`, chosen on the "
                "out-of-fold predictions)."
                if only
                else "."
            ),
        ]
    lines += ["", *_tuning_changes(result)]
    return "\n".join(lines)


def _stale_tuning(found: Staleness) -> list[str]:
    lines = ["> ⚠️ **The tuning result does not match this PR**:"]
    if found.data:
        old, new = found.data
        lines.append(
            f"> - the training data changed since tuning (tuned on {md_code(old[:8])}, "
            f"`dvc.lock` has {md_code(new[:8])}): run `mlpipe tune` again"
        )
    if found.unreadable:
        lines.append(f"> - params.yaml cannot be read: {md(found.unreadable, limit=200)}")
    if found.not_applied:
        keys = ", ".join(md_code(k) for k in found.not_applied)
        lines.append(
            f"> - not applied: params.yaml still has the values tuning started from ({keys}); "
            "run `mlpipe tune --apply`, then `dvc repro`"
        )
    for key, tuned, now in found.differ:
        lines.append(
            f"> - {md_code(key)} is {_json_code(now)}, tuning chose {_json_code(tuned)}: params "
            "changed after tuning"
        )
    if found.settings:
        keys = ", ".join(md_code(k) for k in found.settings)
        lines.append(f"> - the tune settings changed since ({keys}): run `mlpipe tune` again")
    return lines


def _tuning_scores(result: dict[str, Any], metric: str) -> list[str]:
    base, best = result.get("baseline") or {}, result.get("best") or {}
    count = max(len(base.get("folds") or []), len(best.get("folds") or []))
    header = f"| | CV {metric} (mean) |" + "".join(f" fold {i + 1} |" for i in range(count))
    lines = [header + " threshold |", "| --- | ---: |" + " ---: |" * count + " ---: |"]
    for label, entry in (
        ("baseline (params before tuning)", base),
        (f"best ({md(trial_label(best.get('trial', '?')))})", best),
    ):
        cells = [f"{v:.4f}" for v in entry.get("folds") or []]
        cells += ["—"] * (count - len(cells))
        threshold = entry.get("threshold")
        value = entry.get("value")
        lines.append(
            f"| {label} | {'—' if value is None else f'{value:.4f}'} | "
            + " | ".join(cells)
            + f" | {'—' if threshold is None else md(f'{threshold:g}')} |"
        )
    return lines


def _tuning_changes(result: dict[str, Any]) -> list[str]:
    changes = result.get("changes") or []
    if not changes:
        return ["No key changed: params.yaml already holds the best values found."]
    lines = ["| changed key | before | after | searched |", "| --- | --- | --- | --- |"]
    edges = []
    for change in changes:
        key, limits = change.get("key", "?"), change.get("range")
        if limits is None and key == "train.threshold":
            objective = md(result.get("threshold_objective"))
            searched = f"chosen on out-of-fold predictions for {objective}"
        elif limits is None:
            searched = "—"
        elif "choices" in limits:
            searched = "one of " + ", ".join(_json_code(c) for c in limits["choices"])
        else:
            scale = " (log)" if limits.get("log") else ""
            searched = f"{md(limits.get('low'))} to {md(limits.get('high'))}{scale}"
        if change.get("edge"):
            searched += f" ⚠️ at the {md(change['edge'])} end"
            edges.append(key)
        before, after = _json_code(change.get("from")), _json_code(change.get("to"))
        lines.append(f"| {md_code(key)} | {before} | {after} | {searched} |")
    if edges:
        keys = ", ".join(md_code("tune.space." + k.removeprefix("train.")) for k in edges)
        lines += [
            "",
            f"⚠️ A value at the end of its range: the best may lie beyond it. Widen {keys} "
            "and tune again.",
        ]
    return lines


def _json_code(value: Any) -> str:
    return md_code(json.dumps(value))


def _violation(entry: Any) -> str:
    """One entry of validation.json's warnings/errors as the validate stage words it."""
    if isinstance(entry, dict) and {"column", "rule", "observed", "rows"} <= set(entry):
        return (
            f"{md(entry['column'])}: {md_text(entry['rule'])} — {md_text(entry['observed'])} "
            f"({md_text(entry['rows'])} rows)"
        )
    return md_text(entry)


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
        f"Validation {'passed' if new.get('ok') else 'FAILED'}: {md(new.get('rows'))} rows, "
        f"{md(new.get('columns'))} columns, {md(new.get('checks_passed'))}/"
        f"{md(new.get('checks_run'))} checks passed, {len(warnings)} warning(s), "
        f"{len(errors)} error(s).",
    ]
    lines += [f"- ⚠️ {_violation(w)}" for w in warnings[:20]]
    lines += [f"- ❌ {_violation(e)}" for e in errors[:20]]
    lines += _unlabelled_lines(head)
    schema_diff = text_diff(base.schema_text, head.schema_text, "schema.yaml")
    changed = bool(schema_diff) or base.data_hash != head.data_hash
    if base.validation is None and base.data_hash is None:
        lines += ["", f"{md_code(base.label)} has no data run to compare with."]
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
        lines.append(f"| {key} | {md(a) if a is not None else '—'} | {md(b)} | {delta} |")
    counts_new = new.get("target_counts") or {}
    reason = incomparable(base, head)
    if reason is None:
        counts_old = old.get("target_counts") or {}
        for label in sorted(set(counts_old) | set(counts_new)):
            a, b = counts_old.get(label), counts_new.get(label)
            delta = f"{b - a:+d}" if a is not None and b is not None else "—"
            lines.append(
                f"| target = {md(label)} | {md(a) if a is not None else '—'} | {md(b or 0)} "
                f"| {delta} |"
            )
    else:  # another target or other classes: the base's counts are not a baseline
        target = (head.params.get("data") or {}).get("target") or "target"
        lines += [
            "",
            f"Target counts not compared with {md_code(base.label)}: {md_text(reason)}.",
        ]
        if counts_new:
            lines += ["", f"| {md(target)} | PR rows |", "| --- | ---: |"]
            lines += [f"| {md(label)} | {md(n)} |" for label, n in sorted(counts_new.items())]
    if schema_diff:
        opening, closing = fence(schema_diff, "diff")
        lines += ["", "schema.yaml changed:", "", opening, schema_diff.rstrip("\n"), closing]
    else:
        lines += ["", "schema.yaml is unchanged."]
    return "\n".join(lines)


def _unlabelled_lines(head: Revision) -> list[str]:
    """The PR's rows without a target that ingest set aside (none when there are none)."""
    count = (head.ingest or {}).get("unlabelled_rows")
    if not isinstance(count, int) or count <= 0:
        return []
    paths = head.params.get("paths") or {}
    where = paths.get("unlabelled") or PathsConfig().unlabelled
    return [
        "",
        f"{count} row(s) without a target value set aside by ingest (`data.unlabelled: drop`): "
        f"in neither train nor test; {md_code(where)} holds them, to score with `mlpipe predict`.",
    ]


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
        + ", ".join(md_code(c) for c in drifted)
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
            caption = (
                f"Orange: PR ({md_code(head.commit)}); not compared with {md_code(base.label)}: "
                f"{md_text(reason)}."
            )
        elif not base_plots.get("roc") and not base_plots.get("precision_recall"):
            caption = (
                f"Orange: PR ({md_code(head.commit)}); {md_code(base.label)} has no curves to "
                "compare."
            )
        else:
            caption = (
                f"Blue: base {md_code(base.label)} ({md_code(base.commit)}), orange: PR "
                f"({md_code(head.commit)})."
            )
        caption += " Curves resampled on a 0.05 grid."
    if "confusion" in head.plots:
        if reason:
            blocks.append(
                _confusion_table(
                    None,
                    head.plots["confusion"],
                    f"Confusion matrix (test set) of the PR only; {md_code(base.label)}'s is not "
                    f"shown: {md_text(reason)}.",
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
        header += [f"{side}: {md(p)}" for p in labels]
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
        cells = [f"**{md(actual)}**"]
        for _, matrix in sides:
            cells += [str(matrix.get((actual, p), 0)) for p in labels]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _figures_section(figures: Sequence[Figure]) -> str:
    lines = ["### Figures (uploaded by CML)", "", "| | base | PR |", "| --- | --- | --- |"]
    for f in figures:
        old = _image(f"base {f.title}", f.base_path) if f.base_path else "—"
        lines.append(f"| {md(f.title)} | {old} | {_image(f'PR {f.title}', f.pr_path)} |")
    return "\n".join(lines)


_LINKABLE = re.compile(r"[\w./-]+")


def _image(alt: str, path: str) -> str:
    """An image CML uploads; a path a link cannot hold as it is is shown, not linked."""
    if _LINKABLE.fullmatch(path) and _LINKABLE.fullmatch(alt.replace(" ", "")):
        return f"![{alt}]({path})"
    return md_code(path)


def _reproduce_section(base: Revision, head: Revision, source: PullRequest | None) -> str:
    lines = ["### Reproduce locally", ""]
    if source is not None and source.fork:
        # A fork's branch is not in origin, and CI pushed none of its outputs to the remote.
        branch = f"pr-{source.number}" if source.number else head.label
        fetch = (
            f"git fetch origin pull/{source.number}/head:{branch}"
            if source.number
            else "git fetch <the fork's URL> " + shlex.quote(f"{head.label}:{branch}")
        )
        lines += [
            "The PR comes from a fork: CI pushed none of its outputs, so the stages it changes "
            "run on your machine.",
            "",
        ]
        commands = [f"{fetch} && git checkout {shlex.quote(branch)} && dvc pull && dvc repro"]
    else:
        # --pull fetches the run-cache too: stages CI already ran are checked out, not rerun.
        commands = [
            f"git fetch origin && git checkout {shlex.quote(head.label)} && dvc repro --pull"
        ]
    commands.append(f"mlpipe report --base {shlex.quote(base.label)}")
    # Branch names are quoted for the shell; the fence is longer than any backtick run in them.
    opening, closing = fence("\n".join(commands), "bash")
    return "\n".join([*lines, opening, *commands, closing])
