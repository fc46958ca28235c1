"""The audit's findings as markdown, for the model card and the PR comment (pure).

Every value that comes from the data (a column name, an id, a label, a reason) is written
through ``mlpipe.markdown_escape``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlpipe.audit.findings import FIX_KEY, flagged, power_words, too_good
from mlpipe.markdown_escape import md, md_code


def too_good_markdown(
    test_metrics: Mapping[str, float] | None, importance: Sequence[Mapping[str, Any]] | None
) -> list[str]:
    """The "too good to be true" note as a markdown quote (and a blank line), or nothing."""
    note = too_good(test_metrics, importance)
    if note is None:
        return []
    metric, value, features = note
    named = ", ".join(md_code(f) for f in features) or "(no importance recorded)"
    return [
        f"> ⚠️ **Too good to be true?** Test {metric} is {value:.4f}; few real problems allow "
        f"that. Check the most important features ({named}) for target leakage, and leave a "
        f"leak out of the features with `{FIX_KEY}`.",
        "",
    ]


def leakage_markdown(audit: Mapping[str, Any]) -> list[str]:
    """The leakage finding: a table of the flagged columns, or the strongest feature."""
    leakage = audit.get("leakage") or {}
    metric = str(leakage.get("metric", ""))
    threshold = float(leakage.get("max_feature_power", 1.0))
    found = flagged(audit)
    if not found:
        features = leakage.get("features") or []
        strongest = (
            f"; the strongest is {md_code(features[0]['column'])} "
            f"({float(features[0]['power']):.4f})"
            if features
            else ""
        )
        return [
            f"✅ No target leakage found: no feature alone reaches {power_words(metric)} "
            f"{threshold:g} (`audit.max_feature_power`){strongest}."
        ]
    return [
        f"⚠️ **Possible target leakage**: {len(found)} column(s) alone predict "
        f"{md_code(audit.get('target', ''))} with {power_words(metric)} at or above "
        f"{threshold:g} (`audit.max_feature_power`). Such a column is usually computed from "
        "the target or recorded after it, and the metrics then say nothing about new data. If "
        f"it is one, add it to `{FIX_KEY}` in params.yaml.",
        "",
        f"| column | {metric} alone |",
        "| --- | ---: |",
        *(f"| {md_code(f['column'])} | {float(f['power']):.4f} |" for f in found),
    ]


def label_issues_markdown(audit: Mapping[str, Any], base_count: int | None = None) -> list[str]:
    """The label-issue count (with the base's when given) and the worst rows as a table."""
    labels = audit.get("label_issues") or {}
    if not labels.get("computed"):
        return [f"Label issues: not checked ({md(labels.get('reason', 'no report'), 200)})."]
    count, checked = int(labels.get("count", 0)), int(labels.get("checked_rows", 0))
    share = float(labels.get("share", 0.0))
    base = f" (base: {base_count})" if base_count is not None else ""
    lines = [
        f"**Label issues**: {count}{base} of {checked} audited rows ({share:.1%}) have a label "
        "the rest of the data contradicts (cleanlab on out-of-fold probabilities). Review the "
        "worst first: a wrong label misleads training and the test metrics (where the outcome "
        "is partly chance, many listed rows are surprising, not wrong)."
    ]
    top = labels.get("top") or []
    if not top:
        return lines
    ids = list(top[0].get("ids") or {})
    lines += [
        "",
        f"The worst {len(top)} (all of them: the CSV at `paths.label_issues`; `row` 0 is the "
        "first data row of the source):",
        "",
        "| row | " + "".join(f"{md_code(c)} | " for c in ids) + "given | suggested | quality |",
        "| ---: |" + " --- |" * len(ids) + " --- | --- | ---: |",
    ]
    for item in top:
        cells = "".join(f"{md((item.get('ids') or {}).get(c))} | " for c in ids)
        lines.append(
            f"| {int(item['row'])} | {cells}{md(item['given'])} | {md(item['suggested'])} | "
            f"{float(item['quality']):.4f} |"
        )
    return lines


def audit_markdown(audit: Mapping[str, Any] | None) -> list[str]:
    """The audit's findings as markdown lines: leakage, then label issues."""
    if not audit:
        return ["No audit report (`paths.audit`): run `dvc repro`."]
    return [*leakage_markdown(audit), "", *label_issues_markdown(audit)]
