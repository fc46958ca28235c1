"""The audit's findings in words and markdown: the same sentences for the card and the PR
comment, every value from the data escaped, the "too good to be true" note."""

from __future__ import annotations

from mlpipe.audit.findings import too_good
from mlpipe.audit.markdown import (
    audit_markdown,
    label_issues_markdown,
    leakage_markdown,
    too_good_markdown,
)
from mlpipe.markdown_escape import md, md_code
from support.audit import HOSTILE_COLUMN, HOSTILE_ID, LEAKY_THRESHOLD, leaky_audit

IMPORTANCE = [
    {"feature": HOSTILE_COLUMN, "importance": 0.4},
    {"feature": "signal", "importance": 0.1},
    {"feature": "noise", "importance": 0.0},
    {"feature": "other", "importance": 0.0},
]


def test_leakage_names_the_column_its_score_the_threshold_and_the_fix() -> None:
    audit = leaky_audit()
    (leak,) = audit["leakage"]["flagged"]
    lines = leakage_markdown(audit)
    assert lines[0].startswith(
        "⚠️ **Possible target leakage**: 1 column(s) alone predict `y` with gini (2 AUC - 1) "
        f"at or above {LEAKY_THRESHOLD:g} (`audit.max_feature_power`)."
    )
    assert lines[0].endswith("add it to `data.exclude_columns` in params.yaml.")
    assert lines[2:] == [
        "| column | gini alone |",
        "| --- | ---: |",
        f"| {md_code(HOSTILE_COLUMN)} | {leak['power']:.4f} |",
    ]
    assert md_code(HOSTILE_COLUMN) == "<code>refund&#124;&#64;octocat</code>"


def test_no_leakage_names_the_strongest_feature() -> None:
    audit = leaky_audit()
    clean = {**audit, "leakage": {**audit["leakage"], "flagged": [], "max_feature_power": 0.95}}
    assert leakage_markdown(clean) == [
        "✅ No target leakage found: no feature alone reaches gini (2 AUC - 1) 0.95 "
        f"(`audit.max_feature_power`); the strongest is {md_code(HOSTILE_COLUMN)} "
        f"({audit['leakage']['features'][0]['power']:.4f})."
    ]


def test_label_issues_give_the_count_the_share_and_the_worst_rows_escaped() -> None:
    audit = leaky_audit()
    labels = audit["label_issues"]
    lines = label_issues_markdown(audit, base_count=3)
    assert lines[0].startswith(
        f"**Label issues**: {labels['count']} (base: 3) of 600 audited rows "
        f"({labels['share']:.1%}) have a label the rest of the data contradicts"
    )
    assert lines[4:6] == [
        "| row | `ticket` | given | suggested | quality |",
        "| ---: | --- | --- | --- | ---: |",
    ]
    rows = lines[6:]
    assert len(rows) == len(labels["top"]) == 10
    first = labels["top"][0]
    assert rows[0] == (
        f"| {first['row']} | {md(first['ids']['ticket'])} | {first['given']} | "
        f"{first['suggested']} | {first['quality']:.4f} |"
    )
    text = "\n".join(lines)
    assert HOSTILE_ID not in text and "<img" not in text and "@octocat" not in text
    assert "(base" not in label_issues_markdown(audit)[0]


def test_not_checked_labels_say_why() -> None:
    audit = {"label_issues": {"computed": False, "reason": "a regression target (why)"}}
    assert label_issues_markdown(audit) == [
        "Label issues: not checked (a regression target (why))."
    ]
    hostile = {"label_issues": {"computed": False, "reason": "class '@team' has 1 row"}}
    assert label_issues_markdown(hostile) == [
        "Label issues: not checked (<code>class &#39;&#64;team&#39; has 1 row</code>)."
    ]
    assert audit_markdown(None) == ["No audit report (`paths.audit`): run `dvc repro`."]


def test_too_good_to_be_true_from_an_auc_or_r2_of_0_99() -> None:
    assert too_good({"roc_auc": 0.989}, IMPORTANCE) is None
    assert too_good({"roc_auc": 0.99}, IMPORTANCE) == (
        "roc_auc",
        0.99,
        [HOSTILE_COLUMN, "signal", "noise"],
    )
    assert too_good({"r2": 0.997, "rmse": 0.1}, [])[0:2] == ("r2", 0.997)
    assert too_good({"roc_auc_ovr_macro": 0.999}, None) == ("roc_auc_ovr_macro", 0.999, [])
    assert too_good({"accuracy": 1.0}, IMPORTANCE) is None
    (note, blank) = too_good_markdown({"r2": 0.9963}, IMPORTANCE)
    assert blank == ""
    assert note == (
        "> ⚠️ **Too good to be true?** Test r2 is 0.9963; few real problems allow that. Check "
        f"the most important features ({md_code(HOSTILE_COLUMN)}, `signal`, `noise`) for "
        "target leakage, and leave a leak out of the features with `data.exclude_columns`."
    )
