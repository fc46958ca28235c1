"""The PR comment's data audit and the gate's leakage rule (audit.leakage: warn | fail)."""

from __future__ import annotations

import dataclasses

from mlpipe.config import GateConfig, MetricGate
from mlpipe.markdown_escape import md_code
from mlpipe.report.gate import evaluate_gate, leakage_checks
from mlpipe.report.markdown import build_report
from mlpipe.report.revision import Revision
from support.audit import HOSTILE_COLUMN, HOSTILE_ID, LEAKY_THRESHOLD, leaky_audit

GATE = GateConfig(rules=(MetricGate("roc_auc", min=0.5),))


def _revision(label: str, audit: dict | None, auc: float = 0.8) -> Revision:
    return Revision(
        label=label,
        commit=label[:3] + "12345",
        metrics={"test": {"roc_auc": auc, "rows": 120.0}},
        validation={"ok": True, "rows": 600, "columns": 5, "checks_passed": 9, "checks_run": 9},
        audit=audit,
        importance=[{"feature": HOSTILE_COLUMN, "importance": 0.4}],
        data_hash="same",
    )


def _report(base: Revision, head: Revision, policy: str = "warn") -> str:
    gate = evaluate_gate(GATE, head.metrics["test"], base.metrics["test"])
    gate = dataclasses.replace(gate, checks=gate.checks + leakage_checks(head.audit, policy))
    return build_report(base, head, gate)


def test_the_data_section_shows_the_leak_and_the_label_issues_with_the_base_count() -> None:
    audit = leaky_audit()
    base_audit = {"label_issues": {"computed": True, "count": 3}}
    text = _report(_revision("main", base_audit), _revision("feature", audit))
    section = text.split("#### Data audit\n\n", 1)[1].split("\n### ", 1)[0]
    assert text.index("### Data") < text.index("#### Data audit") < text.index("### Reproduce")
    leak = audit["leakage"]["flagged"][0]
    assert section.startswith("⚠️ **Possible target leakage**: 1 column(s) alone predict `y`")
    assert f"at or above {LEAKY_THRESHOLD:g} (`audit.max_feature_power`)" in section
    assert f"| {md_code(HOSTILE_COLUMN)} | {leak['power']:.4f} |" in section
    count = audit["label_issues"]["count"]
    assert f"**Label issues**: {count} (base: 3) of 600 audited rows" in section
    assert "<details><summary>Rows whose label looks wrong</summary>" in section
    top = audit["label_issues"]["top"]
    assert sum(
        line.startswith(f"| {t['row']} | <code>") for t in top for line in section.splitlines()
    ) == len(top)
    assert HOSTILE_ID not in text and "|@octocat" not in text
    assert "Too good" not in text  # roc_auc 0.8


def test_a_near_perfect_test_metric_gets_the_note_under_the_metrics() -> None:
    text = _report(_revision("main", None), _revision("feature", leaky_audit(), auc=0.995))
    note = "> ⚠️ **Too good to be true?** Test roc_auc is 0.9950"
    assert note in text
    assert text.index("### Metrics") < text.index(note) < text.index("### Params")
    assert f"({md_code(HOSTILE_COLUMN)})" in text.split(note)[1].splitlines()[0]


def test_no_audit_report_no_section() -> None:
    text = _report(_revision("main", None), _revision("feature", None))
    assert "Data audit" not in text


def test_the_gate_fails_on_leakage_only_when_told_to() -> None:
    audit = leaky_audit()
    leak = audit["leakage"]["flagged"][0]
    assert leakage_checks(audit, "warn") == ()
    (check,) = leakage_checks(audit, "fail")
    assert check.status == "fail" and check.metric == "leakage"
    assert check.message == (
        f"target leakage: column '{HOSTILE_COLUMN}' alone predicts the target with gini "
        f"{leak['power']:.4f}, at or above audit.max_feature_power {LEAKY_THRESHOLD:g} "
        "(audit.leakage: fail). Leave it out with data.exclude_columns in params.yaml, or set "
        "audit.leakage: warn if it is an honest feature"
    )
    text = _report(_revision("main", None), _revision("feature", audit), policy="fail")
    assert "### Gate: ❌ failed" in text
    assert "- ❌ target leakage: column 'refund" in text
    clean = {**audit, "leakage": {**audit["leakage"], "flagged": []}}
    (passed,) = leakage_checks(clean, "fail")
    assert passed.status == "pass"
    assert passed.message == (
        f"target leakage: no feature alone reaches gini {LEAKY_THRESHOLD:g}; strongest gini "
        f"{audit['leakage']['features'][0]['power']:.4f}"
    )
    (missing,) = leakage_checks(None, "fail")
    assert missing.status == "fail"
    assert missing.message.startswith("target leakage: no audit report in the PR (paths.audit)")
