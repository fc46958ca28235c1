"""The comment text from two in-memory revisions: sections, values, no-baseline, data diff."""

from __future__ import annotations

import dataclasses

from mlpipe.config import GateConfig, MetricGate
from mlpipe.report.gate import evaluate_gate
from mlpipe.report.markdown import Figure, PullRequest, build_report
from mlpipe.report.revision import Revision


def _confusion(tn: int, fp: int, fn: int, tp: int) -> list[dict]:
    cells = [("no", "no", tn), ("no", "yes", fp), ("yes", "no", fn), ("yes", "yes", tp)]
    return [{"actual": a, "predicted": p, "count": c} for a, p, c in cells]


def _revision(label: str, auc: float, max_iter: int, rows: int, schema: str) -> Revision:
    return Revision(
        label=label,
        commit=label[:3] + "12345",
        params={"train": {"max_iter": max_iter, "seed": 42}},
        metrics={"test": {"roc_auc": auc, "log_loss": 0.5, "rows": float(rows)}},
        slices={"test": {"plan": {"basic": {"roc_auc": auc - 0.1, "rows": 40.0}}}},
        validation={
            "ok": True,
            "rows": rows,
            "columns": 5,
            "checks_passed": 9,
            "checks_run": 9,
            "warnings": [  # as validation.json holds them (Violation as a dict)
                {"column": "x", "rule": "known column", "observed": "not in the schema", "rows": 9}
            ],
            "errors": [],
            "target_counts": {"no": rows - 10, "yes": 10},
        },
        plots={
            "roc": [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.5, "tpr": auc}, {"fpr": 1, "tpr": 1}],
            "confusion": _confusion(50, 5, 7, 8 if auc > 0.78 else 3),
        },
        schema_text=schema,
        data_hash=f"hash-{rows}",
    )


BASE = _revision("origin/main", 0.8, 150, 100, "columns:\n  x: int\n")
HEAD = _revision("feature", 0.75, 20, 120, "columns:\n  x: float\n")
GATE = GateConfig(rules=(MetricGate("roc_auc", min=0.7, max_drop=0.01),))


def _report(base: Revision = BASE, head: Revision = HEAD, **kw) -> str:
    base_metrics = None if base.metrics is None else base.metrics["test"]
    return build_report(base, head, evaluate_gate(GATE, head.metrics["test"], base_metrics), **kw)


def test_header_and_gate_verdict_come_first() -> None:
    text = _report()
    lines = text.splitlines()
    assert lines[0] == "## mlpipe report"
    assert lines[2] == "Base `origin/main` (`ori12345`) → PR `feature` (`fea12345`)"
    assert lines[4] == "### Gate: ❌ failed"
    assert lines[6] == (
        "- ❌ roc_auc worsened by 0.0500 (0.8000 → 0.7500), more than the allowed 0.01"
    )
    assert text.index("### Gate") < text.index("### Metrics")


def test_metrics_table_has_both_values_and_changes() -> None:
    text = _report()
    assert "| roc_auc | 0.8000 | 0.7500 | -0.0500 | -6.25% | 🔻 worse |" in text
    assert "| log_loss | 0.5000 | 0.5000 | +0.0000 | +0.00% | = same |" in text
    assert "| rows | 100 | 120 | +20 | +20.00% |  |" in text


def test_the_change_column_is_the_difference_of_the_values_shown() -> None:
    """The review's case: 0.5932 -> 0.6013 was shown as +0.0080 (from 6-decimal values)."""
    base = dataclasses.replace(BASE, metrics={"test": {"roc_auc": 0.593249, "rows": 100.0}})
    head = dataclasses.replace(HEAD, metrics={"test": {"roc_auc": 0.601251, "rows": 120.0}})
    assert "| roc_auc | 0.5932 | 0.6013 | +0.0081 | +1.35% |" in _report(base, head)


def test_reproduce_advice_for_a_branch_of_origin_and_for_a_fork() -> None:
    same = _report()
    assert "git fetch origin && git checkout feature && dvc repro --pull\n" in same
    fork = _report(source=PullRequest(number=12, fork=True))
    assert "The PR comes from a fork: CI pushed none of its outputs" in fork
    assert (
        "git fetch origin pull/12/head:pr-12 && git checkout pr-12 && dvc pull && dvc repro\n"
        "mlpipe report --base origin/main\n"
    ) in fork
    assert "--pull" not in fork.split("### Reproduce locally")[1]


def test_slices_are_collapsible() -> None:
    text = _report()
    assert "<details><summary>Slice metrics (test set)</summary>" in text
    assert "| basic | 40 | 0.7000 → 0.6500 (-0.0500) |" in text


def test_a_sliced_column_without_a_large_enough_value_gets_a_sentence_not_a_broken_table() -> None:
    """The review's case: a 36-row test set, no value of region reached min_slice_rows; the
    report had a 3-cell header over a 2-cell separator and no rows."""
    head = dataclasses.replace(
        HEAD,
        params={**HEAD.params, "evaluate": {"min_slice_rows": 30}},
        slices={"test": {"plan": HEAD.slices["test"]["plan"], "region": {}}},
    )
    text = _report(head=head)
    assert (
        "**region**: no value has 30 rows in the test set (`evaluate.min_slice_rows`), "
        "so no slice is reported."
    ) in text
    tables = [line for line in text.splitlines() if line.startswith("| value | rows |")]
    assert tables == ["| value | rows | roc_auc base → PR (change) |"]  # plan only


def test_each_slice_table_says_how_many_small_values_it_leaves_out() -> None:
    """Values with fewer than evaluate.min_slice_rows test rows are not scored: each table
    says how many (slices.json records it under below_min_rows); an older slices.json without
    that record gets one sentence for all tables."""
    small = {"min_rows": 30, "test": {"plan": 2, "region": 4}}
    head = dataclasses.replace(
        HEAD,
        params={**HEAD.params, "evaluate": {"min_slice_rows": 30}},
        slices={
            "test": {"plan": HEAD.slices["test"]["plan"], "region": {}},
            "below_min_rows": small,
        },
    )
    text = _report(head=head)
    assert (
        "| basic | 40 | 0.7000 → 0.6500 (-0.0500) |\n\n2 value(s) with fewer than 30 test rows "
        "not shown (`evaluate.min_slice_rows`).\n"
    ) in text
    assert (
        "**region**: no value has 30 rows in the test set (of 4 value(s)) "
        "(`evaluate.min_slice_rows`), so no slice is reported."
    ) in text
    assert "are not shown." not in text
    none_left_out = dataclasses.replace(
        head,
        slices={
            "test": HEAD.slices["test"],
            "below_min_rows": {"min_rows": 30, "test": {"plan": 0}},
        },
    )
    assert "not shown" not in _report(head=none_left_out)
    older = dataclasses.replace(head, slices={"test": HEAD.slices["test"]})
    assert (
        "Values with fewer than 30 test rows (`evaluate.min_slice_rows`) are not shown."
    ) in _report(head=older)


def test_only_changed_params_old_to_new() -> None:
    text = _report()
    assert "| train.max_iter | `150` | `20` |" in text
    assert "train.seed" not in text
    assert "| train.seed | `42` |" in _report(all_params=True)


def test_data_changes_rows_targets_and_schema_diff() -> None:
    text = _report()
    assert "Validation passed: 120 rows, 5 columns, 9/9 checks passed, 1 warning(s)" in text
    assert "- ⚠️ x: known column — not in the schema (9 rows)" in text
    assert "**The data changed.**" in text
    assert "| rows | 100 | 120 | +20 |" in text
    assert "| target = no | 90 | 110 | +20 |" in text
    assert "-  x: int\n+  x: float" in text


def test_unchanged_data_says_so() -> None:
    same = dataclasses.replace(HEAD, data_hash=BASE.data_hash, schema_text=BASE.schema_text)
    text = _report(head=same)
    assert "The data did not change" in text and "**The data changed.**" not in text


def test_plots_overlay_base_and_pr_from_each_revision() -> None:
    text = _report()
    assert "```mermaid" in text and "xychart-beta" in text
    lines = [line for line in text.splitlines() if line.startswith("  line [")]
    assert len(lines) == 2 and lines[0] != lines[1]
    assert "| **yes** | 7 | 8 | 7 | 3 |" in text  # base then PR, side by side
    assert "| actual ↓ / predicted → | base: no | base: yes | PR: no | PR: yes |" in text
    assert "![" not in text  # no image (nothing to upload) by default


def test_no_baseline() -> None:
    empty = Revision(label="origin/main", commit="abc12345")
    text = _report(base=empty)
    assert "### Gate: ✅ passed" in text
    assert "No baseline: only the absolute bounds were checked." in text  # no reason given
    assert "No baseline: `origin/main` has no test metrics (no committed run)." in text
    assert "| roc_auc | 0.7500 |" in text
    assert "`origin/main` has no curves to compare." in text
    assert "| actual ↓ / predicted → | PR: no | PR: yes |" in text


def test_a_base_that_predicts_another_target_is_not_compared() -> None:
    base = dataclasses.replace(BASE, params={**BASE.params, "data": {"target": "churned"}})
    head = dataclasses.replace(HEAD, params={**HEAD.params, "data": {"target": "class"}})
    why = "not comparable: the base predicts `churned`, the PR `class`"
    gate = evaluate_gate(GATE, head.metrics["test"], None, why)
    text = build_report(base, head, gate)
    assert "### Gate: ✅ passed" in text  # roc_auc 0.75 is above the floor; no drop check
    assert f"No baseline ({why}): only the absolute bounds were checked." in text
    assert (
        "No baseline: not compared with `origin/main`, the base predicts `churned`, the PR "
        "`class`. Showing the PR's values only." in text
    )
    assert "| roc_auc | 0.7500 |" in text and "🔻" not in text


def test_a_workspace_that_is_not_reproduced_is_flagged_first() -> None:
    text = _report(head=dataclasses.replace(HEAD, stale=("evaluate", "train")))
    lines = text.splitlines()
    assert lines[4] == (
        "> ⚠️ **Not reproduced**: `dvc status` lists `evaluate`, `train` as changed since the "
        "last `dvc repro`, so the PR's results below are from older code, params or data. Run "
        "`dvc repro` and report again."
    )
    assert "Not reproduced" not in _report()


def test_a_base_with_another_target_shows_the_prs_own_target_counts() -> None:
    """The user review's case: `target = False | 15132 | 0` beside `target = Adelie | — | 151`
    in one table when the base predicted another target."""
    base = dataclasses.replace(
        BASE,
        params={**BASE.params, "data": {"target": "churned"}},
        validation={**BASE.validation, "target_counts": {"False": 15132, "True": 4868}},
    )
    head = dataclasses.replace(
        HEAD,
        params={**HEAD.params, "data": {"target": "species"}},
        validation={**HEAD.validation, "target_counts": {"Gentoo": 99, "Adelie": 121}},
    )
    gate = evaluate_gate(GATE, head.metrics["test"], None, "not comparable")
    data = build_report(base, head, gate).split("### Data")[1].split("###")[0]
    assert "| rows | 100 | 120 | +20 |" in data
    assert (
        "Target counts not compared with `origin/main`: the base predicts `churned`, the PR "
        "`species`.\n\n| species | PR rows |\n| --- | ---: |\n| Adelie | 121 |\n| Gentoo | 99 |\n"
    ) in data
    assert "False" not in data and "15132" not in data and "target =" not in data
    # same target, other classes: also not a baseline (the reason says which)
    same = dataclasses.replace(base, params={**base.params, "data": {"target": "species"}})
    data = build_report(same, head, gate).split("### Data")[1].split("###")[0]
    assert "the base's classes (False, True) are not the PR's (Adelie, Gentoo)." in data
    assert "| Adelie | 121 |" in data and "15132" not in data
    # a regression PR has no target counts: the reason alone
    regression = dataclasses.replace(head, validation={**head.validation, "target_counts": {}})
    data = build_report(base, regression, gate).split("### Data")[1].split("###")[0]
    assert "Target counts not compared with `origin/main`" in data and "PR rows" not in data


def _multiclass(rev: Revision, target: str, counts: dict[str, int]) -> Revision:
    """``rev`` as a multiclass run: a confusion matrix over ``counts``' classes, no curves."""
    labels = sorted(counts)
    confusion = [
        {"actual": a, "predicted": p, "count": counts[a] if a == p else 1}
        for a in labels
        for p in labels
    ]
    return dataclasses.replace(
        rev,
        params={**rev.params, "data": {"target": target}},
        validation={**rev.validation, "target_counts": counts},
        plots={"confusion": confusion},
    )


def test_a_base_with_other_classes_shows_the_prs_confusion_matrix_only() -> None:
    """The user review's case: main's churned (False/True) matrix merged with the PR's wine
    classes into one 10-column table, under a caption about curves that were not drawn."""
    base = dataclasses.replace(
        BASE,
        params={**BASE.params, "data": {"target": "churned"}},
        validation={**BASE.validation, "target_counts": {"False": 3026, "True": 974}},
        plots={
            **BASE.plots,
            "confusion": [
                {"actual": a, "predicted": p, "count": c}
                for a, p, c in [
                    ("False", "False", 2828),
                    ("False", "True", 198),
                    ("True", "False", 606),
                    ("True", "True", 368),
                ]
            ],
        },
    )
    head = _multiclass(HEAD, "cultivar", {"Barbera": 10, "Barolo": 12, "Grignolino": 14})
    gate = evaluate_gate(GATE, {"roc_auc": 0.9}, None, "not comparable")
    plots = build_report(base, head, gate).split("### Plots")[1].split("###")[0]
    assert plots.startswith(" (PR)\n\nConfusion matrix (test set) of the PR only; ")
    assert "`origin/main`'s is not shown: the base predicts `churned`, the PR `cultivar`." in plots
    assert (
        "| actual ↓ / predicted → | PR: Barbera | PR: Barolo | PR: Grignolino |\n"
        "| --- | ---: | ---: | ---: |\n"
        "| **Barbera** | 10 | 1 | 1 |\n"
        "| **Barolo** | 1 | 12 | 1 |\n"
        "| **Grignolino** | 1 | 1 | 14 |\n"
    ) in plots
    assert "False" not in plots and "2828" not in plots and "base:" not in plots
    assert "Blue" not in plots and "Orange" not in plots and "grid" not in plots
    # same target, other classes (a label renamed): not merged either
    renamed = _multiclass(base, "cultivar", {"Barbera": 10, "Barolo": 12, "Nebbiolo": 14})
    plots = build_report(renamed, head, gate).split("### Plots")[1].split("###")[0]
    assert "the base's classes (Barbera, Barolo, Nebbiolo) are not the PR's" in plots
    assert "Nebbiolo" not in plots.split("\n\n", 2)[2] and "base:" not in plots


def test_a_binary_base_with_another_target_draws_no_base_curve() -> None:
    base = dataclasses.replace(BASE, params={**BASE.params, "data": {"target": "churned"}})
    head = dataclasses.replace(HEAD, params={**HEAD.params, "data": {"target": "class"}})
    gate = evaluate_gate(GATE, head.metrics["test"], None, "not comparable")
    plots = build_report(base, head, gate).split("### Plots")[1].split("###")[0]
    assert len([line for line in plots.splitlines() if line.startswith("  line [")]) == 1
    assert (
        "Orange: PR (`fea12345`); not compared with `origin/main`: the base predicts "
        "`churned`, the PR `class`. Curves resampled on a 0.05 grid." in plots
    )
    assert "| actual ↓ / predicted → | PR: no | PR: yes |" in plots and "Blue" not in plots


def test_a_comparable_multiclass_report_has_no_curve_caption() -> None:
    """No curves (multiclass): the confusion table without a blue/orange caption."""
    counts = {"Barbera": 10, "Barolo": 12, "Grignolino": 14}
    base, head = _multiclass(BASE, "cultivar", counts), _multiclass(HEAD, "cultivar", counts)
    gate = evaluate_gate(GATE, {"roc_auc": 0.9}, None)
    plots = build_report(base, head, gate).split("### Plots")[1].split("###")[0]
    assert plots.startswith(
        " (base vs PR)\n\nConfusion matrix (test set), base and PR side by side:\n"
    )
    assert "| **Barolo** | 1 | 12 | 1 | 1 | 12 | 1 |" in plots
    assert "Blue" not in plots and "grid" not in plots and "mermaid" not in plots


def test_figures_only_on_opt_in_and_reproduce_line() -> None:
    text = _report(figures=[Figure("ROC", "imgs/base-roc.png", "data/results/figures/roc.png")])
    assert (
        "| ROC | ![base ROC](imgs/base-roc.png) | ![PR ROC](data/results/figures/roc.png) |"
        in text
    )
    assert "git fetch origin && git checkout feature && dvc repro --pull" in text
    assert "mlpipe report --base origin/main" in text


def test_deterministic() -> None:
    assert _report() == _report()


def _drift(psi: float, p_value: float) -> dict:
    feature = {
        "kind": "numeric",
        "psi": psi,
        "test": "ks",
        "statistic": 0.3,
        "p_value": p_value,
        "reference_rows": 80,
        "current_rows": 20,
        "flags": [f for f, on in (("psi", psi >= 0.2), ("test", p_value < 0.01)) if on],
    }
    drifted = ["charge"] if feature["flags"] == ["psi", "test"] else []
    return {
        "reference_rows": 80,
        "current_rows": 20,
        "thresholds": {"psi": 0.2, "p_value": 0.01},
        "drifted": drifted,
        "missing_columns": [],
        "features": {"charge": feature, "tenure": {**feature, "psi": 0.01, "flags": []}},
    }


def test_drift_section_names_drifted_columns() -> None:
    text = _report(head=dataclasses.replace(HEAD, drift=_drift(0.45, 0.001)))
    assert "### Drift (train vs test)" in text
    assert "⚠️ 1 of 2 columns drifted: `charge`." in text
    assert "| charge | numeric | 0.4500 |" in text  # the drift module's own table
    assert text.index("### Drift") < text.index("### Plots")


def test_drift_section_without_drift_and_absent_without_report() -> None:
    text = _report(head=dataclasses.replace(HEAD, drift=_drift(0.05, 0.5)))
    assert "✅ no drift in 2 columns." in text
    assert "### Drift" not in _report()


def test_drift_section_counts_columns_not_tested() -> None:
    drift = _drift(0.05, 0.5)
    drift["features"]["tenure"] = {
        **drift["features"]["tenure"],
        "psi": 0.6,
        "test": "none",
        "statistic": None,
        "p_value": None,
        "flags": ["psi"],
        "not_tested": "current: 20 present values < drift.min_rows 30",
    }
    text = _report(head=dataclasses.replace(HEAD, drift=drift))
    assert "✅ no drift in 2 columns (1 not tested: too few rows)." in text
    assert "| tenure | numeric | 0.6000 | not tested (current: 20 present values < " in text
