"""The PR comment on data made to break it: mentions, HTML, pipes, backticks in every place a
value reaches (slices, drift columns, params, class labels, validation messages, branch names,
gate rules), checked on what a GFM renderer makes of it; and the comment's size limit."""

from __future__ import annotations

import dataclasses

from mlpipe.config import GateConfig, MetricGate
from mlpipe.report.diff import text_diff
from mlpipe.report.gate import evaluate_gate
from mlpipe.report.markdown import (
    COMMENT_BUDGET,
    COMMENT_LIMIT,
    FULL_VALUES,
    SUMMARY_BUDGET,
    TABLE_ROWS,
    build_report,
    fit,
)
from mlpipe.report.revision import Revision
from support.markdown import (
    HOSTILE_VALUES,
    cell_counts_match,
    foreign_html,
    mentions,
    parser,
    tables,
)

COLUMN = "income | net"  # shifts every column after it when written as it is
IMG = "<img src=x onerror=alert(1)>"
LABELS = ("@octocat", "a|b")
GATE = GateConfig(rules=(MetricGate("roc_auc", min=0.9), MetricGate("@org/team", min=0.1)))


def _drift(columns: dict[str, float]) -> dict:
    def feature(psi: float) -> dict:
        flags = ["psi", "test"] if psi >= 0.2 else []
        return {
            "kind": "categorical",
            "psi": psi,
            "test": "chi2",
            "statistic": 3.5,
            "p_value": 0.001 if flags else 0.5,
            "reference_rows": 80,
            "current_rows": 20,
            "flags": flags,
        }

    return {
        "reference_rows": 80,
        "current_rows": 20,
        "thresholds": {"psi": 0.2, "p_value": 0.01},
        "features": {name: feature(psi) for name, psi in columns.items()},
        "missing_columns": ["#12"],
        "not_compared": {IMG: "id column: changes by design"},
    }


def _revision(label: str, commit: str, max_iter: int, value: str, shift: float) -> Revision:
    return Revision(
        label=label,
        commit=commit,
        params={
            "data": {"target": "churned"},
            "train": {"max_iter": max_iter, "@octocat": value},
            "evaluate": {"slices": [COLUMN]},
        },
        metrics={"test": {"roc_auc": 0.8 + shift, "rows": 100.0}},
        slices={
            "test": {
                COLUMN: {
                    v: {"roc_auc": 0.5 + i / 10 + shift, "rows": 40.0 + i}
                    for i, v in enumerate(HOSTILE_VALUES)
                }
            }
        },
        validation={
            "ok": True,
            "rows": 100,
            "columns": 4,
            "checks_passed": 9,
            "checks_run": 9,
            "warnings": [
                {"column": "@octocat", "rule": "known column", "observed": f"{IMG} #12", "rows": 3}
            ],
            "errors": ["a|b: **loud** <details> `x` @octocat"],
            "target_counts": {LABELS[0]: 10, LABELS[1]: 90 + max_iter},
        },
        plots={
            "confusion": [
                {"actual": a, "predicted": p, "count": 5 if a == p else 1}
                for a in LABELS
                for p in LABELS
            ]
        },
        schema_text=f"columns:\n  '{COLUMN}': {{categories: ['a|b', '```', '@octocat']}}\n"
        + "x" * max_iter,
        data_hash=f"hash-{max_iter}",
        drift=_drift({COLUMN: 0.4512 + shift, "@octocat": 0.01, IMG: 0.3}),
    )


BASE = _revision("@octocat/main", "abc12345", 150, IMG, 0.0)
HEAD = dataclasses.replace(
    _revision("feature-`x`", "def67890", 20, "a|b", 0.05), stale=("@octocat", "train")
)


def _report(base: Revision = BASE, head: Revision = HEAD, **kw) -> str:
    gate = evaluate_gate(GATE, head.metrics["test"], base.metrics["test"], None)
    return build_report(base, head, gate, all_params=True, **kw)


def _table(text: str, first_header: str) -> list:
    return [t for t in tables(text) if t.header[0] == first_header]


def test_no_value_breaks_a_table_mentions_anyone_or_injects_html() -> None:
    text = _report()
    cell_counts_match(text)  # every row as many cells as its header
    assert foreign_html(text) == []  # no raw tag but the report's own
    assert mentions(text) == []  # no @name or #123 outside code
    assert "<img" not in parser().render(text)


def test_the_numbers_sit_under_the_right_headers() -> None:
    text = _report()
    (drift,) = _table(text, "column")
    row = drift.row(COLUMN)
    assert row[drift.column("PSI")] == "0.5012" and row[drift.column("drifted")] == "yes"
    assert drift.row(IMG)[drift.column("PSI")] == "0.3000"
    (slices,) = _table(text, "value")
    for i, value in enumerate(HOSTILE_VALUES):  # each value exactly as it is, and its numbers
        cells = slices.row(value)
        assert cells[slices.column("rows")] == str(40 + i)
        assert cells[2] == f"{0.5 + i / 10:.4f} → {0.55 + i / 10:.4f} (+0.0500)"
    (params, all_params) = _table(text, "param")
    assert params.row("train.@octocat") == ["train.@octocat", f'"{IMG}"', '"a|b"']
    assert params.row("train.max_iter") == ["train.max_iter", "150", "20"]
    assert all_params.row("evaluate.slices")[1] == f'["{COLUMN}"]'
    (confusion,) = _table(text, "actual ↓ / predicted →")
    assert confusion.header[1:] == [
        f"{side}: {label}" for side in ("base", "PR") for label in LABELS
    ]
    assert confusion.row("a|b") == ["a|b", "1", "5", "1", "5"]
    (data,) = _table(text, "")
    assert data.row("target = a|b") == ["target = a|b", "240", "110", "-130"]
    assert data.row("target = @octocat") == ["target = @octocat", "10", "10", "+0"]


def test_messages_branch_names_and_blocks_show_their_text() -> None:
    text = _report()
    tokens = parser().parse(text)
    # the branch names and stage names, each in code, each exactly (a code span is never
    # scanned for mentions; one with a backtick in it is written as <code>)
    assert text.split("\n\n")[1] == (
        "Base `@octocat/main` (`abc12345`) → PR <code>feature&#45;&#96;x&#96;</code> (`def67890`)"
    )
    assert "> ⚠️ **Not reproduced**: `dvc status` lists `@octocat`, `train` as changed" in text
    # gate messages: the metric name in code, the sentence as written
    assert "- ❌ <code>&#64;org&#47;team</code>: not among the PR's test metrics" in text
    assert "(available: roc_auc, rows); fix or remove this rule in params.yaml gate.rules" in text
    assert "- ❌ roc_auc 0.8500 is below the floor 0.9" in text
    # validation: column name in code, the message escaped but readable
    assert (
        "- ⚠️ <code>&#64;octocat</code>: known column — \\<img src=x onerror=alert(1)> "
        "<code>&#35;12</code> (3 rows)"
    ) in text
    assert "- ❌ a\\|b: \\*\\*loud\\*\\* \\<details> `x` <code>&#64;octocat</code>" in text
    # fenced blocks: the schema diff and the shell commands, each whole and exact
    fences = {t.info: t.content for t in tokens if t.type == "fence"}
    diff = text_diff(BASE.schema_text, HEAD.schema_text, "schema.yaml")
    assert "'income | net': {categories: ['a|b', '```', '@octocat']}" in diff
    assert fences["diff"] == diff.rstrip("\n") + "\n"
    assert fences["bash"] == (
        "git fetch origin && git checkout 'feature-`x`' && dvc repro --pull\n"
        "mlpipe report --base @octocat/main\n"
    )


def test_a_base_with_other_targets_says_why_without_breaking() -> None:
    base = dataclasses.replace(BASE, params={**BASE.params, "data": {"target": "@octocat"}})
    head = dataclasses.replace(HEAD, params={**HEAD.params, "data": {"target": "a|b `x`"}})
    gate = evaluate_gate(GATE, head.metrics["test"], None, "not comparable")
    text = build_report(base, head, gate)
    cell_counts_match(text)
    assert foreign_html(text) == [] and mentions(text) == []
    assert (
        "the base predicts <code>&#64;octocat</code>, the PR <code>a&#124;b &#96;x&#96;</code>"
        in text
    )


def _many_slices(n: int, long: str) -> dict:
    values = {f"v{i:05d}": {"roc_auc": 0.7, "rows": 30.0} for i in range(n)}
    values[long] = {"roc_auc": 0.61, "rows": 31.0}
    return {"test": {"region": values}}


def test_a_huge_category_set_keeps_the_comment_under_githubs_limit() -> None:
    long = "@octocat " + "x" * 9_991  # one 10,000-character category
    head = dataclasses.replace(HEAD, slices=_many_slices(5_000, long))
    text = _report(head=head)
    assert len(text) < COMMENT_LIMIT and len(text.encode()) <= COMMENT_BUDGET
    note = text.split("\n\n")[1]
    assert note.startswith("> ℹ️ **Shortened to fit GitHub's size limit**")
    assert "shortened slice metrics (tables to their first 20 rows" in note
    assert "left out" not in note  # shortening the slices was enough
    assert "The full report: `mlpipe report --summary FILE` writes it." in note
    slices = text.split("Slice metrics")[1].split("</details>")[0]
    rows = [line for line in slices.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + TABLE_ROWS  # the header, the separator and the first rows
    assert f"({5_001 - TABLE_ROWS} more rows in the full report)" in slices
    # the long value: shortened where shown, in full at the end, said so
    assert "1 value(s) longer than the tables show (shortened there, ending in …)" in text
    assert f"```text\n{long}\n```" in text
    cell_counts_match(text)
    assert mentions(text) == []
    # the job summary's version has room for everything
    summary = _report(head=head, budget=SUMMARY_BUDGET)
    assert "Shortened to fit" not in summary and "more rows in the full report" not in summary
    assert "| v04999 | 30 |" in summary


def test_sections_are_left_out_in_order_and_the_rest_given_back() -> None:
    """400 classes: the confusion matrix alone is over the budget even cut to 20 rows; it is
    left out, the slices and the drift table stay whole."""
    labels = [f"class{i:03d}" for i in range(400)]
    confusion = [{"actual": a, "predicted": p, "count": 1} for a in labels for p in labels]
    head = dataclasses.replace(HEAD, plots={"confusion": confusion})
    text = _report(head=head, full_report="[the job summary](https://example.com/run/1)")
    assert len(text.encode()) <= COMMENT_BUDGET
    note = text.split("\n\n")[1]
    assert "left out plots." in note and "shortened" not in note
    assert note.endswith("The full report: [the job summary](https://example.com/run/1).")
    assert "### Plots" not in text and "### Drift" in text and "Slice metrics" in text
    assert "### Reproduce locally" in text and "### Gate" in text


def test_many_long_values_are_capped_in_count_and_length() -> None:
    """Two 30,000-character values and 58 of 200: the summary shows the first 50, each of at
    most 20,000 characters; the comment, over its budget, 10 of at most 1,000."""
    lengths = [30_000] * 2 + [200] * 58
    values = {
        f"{i:03d}" + "y" * (n - 3): {"roc_auc": 0.7, "rows": 30.0} for i, n in enumerate(lengths)
    }
    head = dataclasses.replace(HEAD, slices={"test": {"region": values}})
    summary = _report(head=head, budget=SUMMARY_BUDGET)
    assert "Shortened to fit" not in summary
    assert "60 value(s) longer than the tables show" in summary
    assert summary.count("The first 20,000 of 30,000 characters:") == 2
    assert summary.count("```text\n") == FULL_VALUES
    assert f"({60 - FULL_VALUES} more not shown here.)" in summary
    comment = _report(head=head)
    assert len(comment.encode()) <= COMMENT_BUDGET
    note = comment.split("\n\n")[1]
    assert "shortened the shortened values in full (tables to" in note and "left out" not in note
    assert comment.count("The first 1,000 of 30,000 characters:") == 2
    assert comment.count("```text\n") == 10 and "(50 more not shown here.)" in comment


def test_the_last_resort_cuts_at_a_line_and_closes_open_blocks() -> None:
    gate = "<details><summary>All gate checks</summary>\n\n" + "- a check\n" * 20_000
    text = fit([("header", "## mlpipe report"), ("gate", gate)], 5_000, "the summary")
    assert len(text.encode()) <= 5_000
    assert text.endswith(
        "- a check\n</details>\n\n(cut here: over GitHub's size limit; the full report: "
        "the summary)\n"
    )
