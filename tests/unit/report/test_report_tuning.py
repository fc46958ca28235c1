"""The Tuning section of the PR comment: shown when the PR changed the tune result, with baseline
vs best per fold, the changed keys and their ranges, edges and staleness flagged, every value
escaped."""

from __future__ import annotations

import copy
import html
import re

import yaml
from markdown_it import MarkdownIt

from mlpipe.config import GateConfig
from mlpipe.markdown_escape import md_code
from mlpipe.report.gate import evaluate_gate
from mlpipe.report.markdown import build_report
from mlpipe.report.revision import Revision
from support.repo import PROJECT

PARAMS = yaml.safe_load((PROJECT / "params.yaml").read_text())
MD5 = "0123456789abcdef0123456789abcdef"
RESULT = {
    "format": 1,
    "task": "binary",
    "metric": "roc_auc",
    "direction": "maximize",
    "threshold_objective": "f1",
    "trials_requested": 4,
    "trials_finished": 4,
    "reproducible": True,
    "not_reproducible": [],
    "sampler": {"name": "TPESampler", "seed": 42},
    "folds": {"method": "stratified", "count": 2, "seed": 42, "validation_rows": [50, 50]},
    "train_data": {"path": "data/processed/train.parquet", "md5": MD5, "rows": 100},
    "settings": {},
    "baseline": {"value": 0.79, "folds": [0.78, 0.8], "threshold": 0.5, "params": {}},
    "best": {"trial": 3, "value": 0.83, "folds": [0.82, 0.84], "threshold": 0.42, "params": {}},
    "changes": [
        {"key": "train.threshold", "from": 0.5, "to": 0.42, "range": None, "edge": None},
        {
            "key": "train.hist_gradient_boosting.learning_rate",
            "from": 0.05,
            "to": 0.298,
            "range": {"low": 0.01, "high": 0.3, "log": True},
            "edge": "high",
        },
        {
            "key": "train.hist_gradient_boosting.class_weight",
            "from": None,
            "to": "balanced",
            "range": {"choices": [None, "balanced"]},
            "edge": None,
        },
    ],
    "tuned_params": {"train.threshold": 0.5, "train.hist_gradient_boosting.learning_rate": 0.05},
    "trials": [],
    "failed": [],
}


def _report(
    base_tune: dict | None,
    head_tune: dict | None,
    train_hash: str = MD5,
    uncommitted: dict | None = None,
    params: dict = PARAMS,
) -> str:
    metrics = {"test": {"roc_auc": 0.8}}
    base = Revision("main", "aaa11111", params=PARAMS, metrics=metrics, tune=base_tune)
    head = Revision(
        "feature",
        "bbb22222",
        params=params,
        metrics=metrics,
        tune=head_tune,
        train_hash=train_hash,
        uncommitted=uncommitted or {},
    )
    gate = evaluate_gate(GateConfig(rules=()), metrics["test"], metrics["test"])
    return build_report(base, head, gate)


def _section(text: str) -> str:
    start = text.index("### Tuning")
    return text[start : text.index("\n### ", start + 1)]


def test_no_section_when_the_pr_did_not_change_the_result() -> None:
    assert "### Tuning" not in _report(None, None)
    assert "### Tuning" not in _report(RESULT, copy.deepcopy(RESULT))


def test_the_section_shows_the_study_scores_per_fold_and_the_changed_keys() -> None:
    section = _section(_report(None, RESULT))
    assert (
        "`mlpipe tune`: 4 trials (TPESampler, seed 42), 2-fold stratified cross-validation on "
        "the 100 training rows, `roc_auc` (higher is better)."
    ) in section
    assert "| | CV `roc_auc` (mean) | fold 1 | fold 2 | threshold |" in section
    assert "| baseline (params before tuning) | 0.7900 | 0.7800 | 0.8000 | 0.5 |" in section
    # trials counted from 1, as `mlpipe tune` logs them (the JSON's trial 3 is the fourth)
    assert "| best (trial 4) | 0.8300 | 0.8200 | 0.8400 | 0.42 |" in section
    assert "No hyperparameters beat" not in section
    assert (
        "| `train.threshold` | `0.5` | `0.42` | chosen on out-of-fold predictions for f1 |"
    ) in section
    assert (
        "| `train.hist_gradient_boosting.learning_rate` | `0.05` | `0.298` | 0.01 to 0.3 (log) "
        "⚠️ at the high end |"
    ) in section
    assert (
        '| `train.hist_gradient_boosting.class_weight` | `null` | `"balanced"` | one of `null`, '
        '`"balanced"` |'
    ) in section
    assert (
        "⚠️ A value at the end of its range: the best may lie beyond it. Widen "
        "`tune.space.hist_gradient_boosting.learning_rate` and tune again."
    ) in section


def test_a_result_not_applied_or_on_other_data_is_flagged() -> None:
    section = _section(_report(None, RESULT, train_hash="f" * 32))
    assert "> ⚠️ **The tuning result does not match this PR**:" in section
    assert (
        "> - the training data changed since tuning (tuned on `01234567`, `dvc.lock` has "
        "`ffffffff`): run `mlpipe tune` again"
    ) in section
    applied = copy.deepcopy(RESULT) | {
        "tuned_params": {
            "train.threshold": 0.42,
            "train.hist_gradient_boosting.learning_rate": 0.298,
        },
        "baseline": RESULT["baseline"]
        | {"params": {"train.threshold": 0.5, "train.hist_gradient_boosting.learning_rate": 0.05}},
    }
    section = _section(_report(None, applied))
    assert (
        "> - not applied: params.yaml still has the values tuning started from "
        "(`train.threshold`, `train.hist_gradient_boosting.learning_rate`); run "
        "`mlpipe tune --apply`, then `dvc repro`"
    ) in section
    assert "does not match" not in _section(_report(None, RESULT))


def test_values_from_the_result_cannot_inject_markdown() -> None:
    hostile = copy.deepcopy(RESULT)
    hostile["metric"] = "roc_auc <img src=x onerror=alert(1)>"
    hostile["changes"][2]["to"] = "@octocat | `x` <b>"
    hostile["changes"][1]["key"] = "train.x|y"
    rendered = (
        MarkdownIt("commonmark", {"html": True})
        .enable(["table"])
        .render(_section(_report(None, hostile)))
    )
    assert "<img" not in rendered and "<b>" not in rendered  # shown as text, never as HTML
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    rows = re.findall(r"<tr>(.*?)</tr>", rendered, re.S)
    changed = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows if "train." in r]
    assert [len(cells) for cells in changed] == [4, 4, 4]  # no injected cell

    def visible(cell: str) -> str:
        return html.unescape(re.sub(r"</?code>", "", cell))

    assert [visible(c) for c in changed[1][:3]] == ["train.x|y", "0.05", "0.298"]
    assert visible(changed[2][2]) == '"@octocat | `x` <b>"'  # the JSON value, as text


def test_a_baseline_that_won_with_only_a_new_threshold_says_so() -> None:
    """The default data's case: no trial beat params.yaml in CV; the threshold (0.5 -> 0.263)
    is the only change, and the section must not read as if tuning found better parameters."""
    result = copy.deepcopy(RESULT)
    result["best"] = {"trial": 0, "value": 0.79, "folds": [0.78, 0.8], "threshold": 0.263}
    result["changes"] = [RESULT["changes"][0] | {"to": 0.263}]
    section = _section(_report(None, result))
    assert "| best (trial 1, the baseline) | 0.7900 | 0.7800 | 0.8000 | 0.263 |" in section
    assert (
        "**No hyperparameters beat the current ones** in cross-validation: the best trial is the "
        "baseline (params.yaml as it was); only the decision threshold changed "
        "(`train.threshold`, chosen on the out-of-fold predictions)."
    ) in section


def test_a_tune_result_not_committed_is_flagged_in_its_section() -> None:
    """`mlpipe tune --apply` writes tune.json untracked: CI's comment would have no Tuning
    section, so the local report says so and gives the command."""
    text = _report(None, RESULT, uncommitted={"data/results/tune.json": "untracked"})
    section = _section(text)
    assert section.startswith(
        "### Tuning\n\n> ⚠️ **Not committed**: `data/results/tune.json` (untracked). The PR's "
        "commits do not hold what this section shows: `git add data/results/tune.json`, then "
        "commit. CI does not run `mlpipe tune`: its comment shows the committed result, or no "
        "Tuning section without one.\n\n`mlpipe tune`: 4 trials"
    )
    assert text.count("Not committed") == 1  # other sections' files are committed
    changed = _report(None, RESULT, uncommitted={"data/results/tune.json": "changed"})
    assert "`data/results/tune.json` (changed since the last commit)" in _section(changed)
    assert "Not committed" not in _report(None, RESULT)
    # a path from params.yaml is escaped like every other value (and quoted for the shell)
    hostile = "data/@team <b>|x.json"
    params = PARAMS | {"paths": {**PARAMS["paths"], "tune": hostile}}
    section = _section(_report(None, RESULT, uncommitted={hostile: "untracked"}, params=params))
    assert f"**Not committed**: {md_code(hostile)} (untracked)" in section
    assert md_code("git add 'data/@team <b>|x.json'") in section
