"""`mlpipe report` / `mlpipe gate` in a real git + dvc history: main with a run, a PR branch with
a changed param and its own run. Base values come from git, never from the workspace.

The first test runs the installed `mlpipe` command; the others call its entry point in the
test's process (``Repo.mlpipe_in_process``: the same output, log lines and exit status); git and
`dvc status`, which the commands run, are real processes either way."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mlpipe.report import charts
from support.pr_scenario import CHANGED_PARAM, NEW_VALUE, OLD_VALUE
from support.repo import CHEAP_IMPORTANCE, PROJECT, Repo, ran_stages

pytestmark = pytest.mark.slow

METRICS = "data/results/metrics.json"
INTERVALS = "data/results/intervals.json"
PREDICTIONS = "data/processed/test_predictions.parquet"
ROC = "data/results/plots/roc.json"
CONFUSION = "data/results/plots/confusion.json"


@pytest.fixture
def pr_repo(pr_scenario: Repo) -> Repo:
    """Read-only: copy it before changing the workspace or branches."""
    return pr_scenario


def _at(repo: Repo, ref: str, rel: str) -> object:
    return json.loads(repo.git("show", f"{ref}:{rel}").stdout)


def _report(repo: Repo, *args: str, check: bool = True) -> str:
    result = repo.mlpipe_in_process("report", "--base", "main", *args, check=check)
    return result.stdout


def _documented_example() -> str:
    """The example comment of docs/pr-review.md (the block under "An example comment")."""
    page = (PROJECT / "docs/pr-review.md").read_text(encoding="utf-8")
    after = page.split("## An example comment", 1)[1]
    return after.split("````markdown\n", 1)[1].split("\n````\n", 1)[0] + "\n"


def _without_commits(text: str) -> str:
    """``text`` with the two commit ids of its header (and wherever else they appear) as
    placeholders: they differ on every run of the scenario."""
    found = re.search(
        r"^Base `main` \(`([0-9a-f]{8})`\) → PR `feature` \(`([0-9a-f]{8})`\)$", text, re.M
    )
    return text if found is None else text.replace(found[1], "<base>").replace(found[2], "<pr>")


def test_report_holds_base_and_pr_values_and_changes_for_every_metric(
    pr_repo: Repo, tmp_path: Path
) -> None:
    text = pr_repo.mlpipe("report", "--base", "main").stdout  # the installed command
    # docs/pr-review.md shows this very comment as "unedited": it must be what the code
    # prints for the scenario (commit ids aside).
    if _without_commits(text) != _without_commits(_documented_example()):
        (tmp_path / "report.md").write_text(text, encoding="utf-8")
        pytest.fail(
            "docs/pr-review.md's example comment is not what `mlpipe report --base main` "
            f"prints for tests/support/pr_scenario.py: replace it with {tmp_path / 'report.md'}"
        )
    base = _at(pr_repo, "main", METRICS)["test"]
    pr = pr_repo.read_json(METRICS)["test"]
    assert base["roc_auc"] != pr["roc_auc"]  # the model really changed
    main_sha = pr_repo.git("rev-parse", "main").stdout.strip()
    head_sha = pr_repo.git("rev-parse", "HEAD").stdout.strip()
    assert f"Base `main` (`{main_sha[:8]}`) → PR `feature` (`{head_sha[:8]}`)" in text
    # Each side's value with its own interval (from its own intervals file), then the change
    # with its paired bootstrap interval.
    base_iv, pr_iv = _at(pr_repo, "main", INTERVALS)["test"], pr_repo.read_json(INTERVALS)["test"]
    for name in sorted(pr):
        old, new = base[name], pr[name]
        if name == "rows":
            row = (
                f"| rows | {int(old)} | {int(new)} | {new - old:+.0f} | {(new - old) / old:+.2%} |"
            )
        else:
            shown = round(new, 4) - round(old, 4)  # the difference of the values shown
            b, p = base_iv[name], pr_iv[name]
            row = (
                f"| {name} | {old:.4f} [{b['low']:.4f}, {b['high']:.4f}] | {new:.4f} "
                f"[{p['low']:.4f}, {p['high']:.4f}] | {shown:+.4f} ["
            )
        assert row in text, name
    assert (
        "The change's interval is a **paired** bootstrap: 1000 resamples of the same 4000 test "
        "rows for base and PR, seed 42."
    ) in text
    # Fewer iterations: a worse ranking model, beyond noise, and the table marks it as such.
    found = re.search(
        r"\| roc_auc \|.*\| (-0\.\d+) \[(-0\.\d+), (-0\.\d+)\] \|.*\| 🔻 worse \|", text
    )
    assert found, text
    change, low, high = (float(v) for v in found.groups())
    assert low < change < high < 0
    assert "| positive_rate |" in text and "+0.0000 [+0.0000, +0.0000]" in text  # same rows
    # Only the changed param, old -> new.
    params_section = text.split("### Params")[1].split("###")[0]
    rows = [line for line in params_section.splitlines() if line.startswith("| train")]
    assert rows == [f"| {CHANGED_PARAM} | `{OLD_VALUE}` | `{NEW_VALUE}` |"]
    assert "The data did not change" in text
    assert "Validation passed: 20000 rows" in text


def test_base_plots_come_from_the_base_revision_outputs(pr_repo: Repo) -> None:
    text = _report(pr_repo)
    xs = charts.grid()
    base_roc = charts.roc_on_grid(_at(pr_repo, "main", ROC), xs)
    pr_roc = charts.roc_on_grid(pr_repo.read_json(ROC), xs)
    assert base_roc != pr_roc
    roc_block = text.split('title "ROC curve"')[1].split("```")[0]
    lines = [line.strip() for line in roc_block.splitlines() if line.strip().startswith("line")]
    assert lines == [
        "line [" + ", ".join(f"{v:.3f}" for v in base_roc) + "]",
        "line [" + ", ".join(f"{v:.3f}" for v in pr_roc) + "]",
    ]
    # Confusion matrices: base cells then PR cells, each from its own revision.
    base_cm = {(r["actual"], r["predicted"]): r["count"] for r in _at(pr_repo, "main", CONFUSION)}
    pr_cm = {(r["actual"], r["predicted"]): r["count"] for r in pr_repo.read_json(CONFUSION)}
    assert base_cm != pr_cm
    for actual in ("False", "True"):
        cells = [base_cm[(actual, p)] for p in ("False", "True")]
        cells += [pr_cm[(actual, p)] for p in ("False", "True")]
        assert f"| **{actual}** | " + " | ".join(map(str, cells)) + " |" in text


def test_gate_fails_when_the_drop_exceeds_the_tolerance(pr_repo: Repo, tmp_path: Path) -> None:
    repo = pr_repo.copy(tmp_path / "r")
    base = _at(repo, "main", METRICS)["test"]["roc_auc"]
    pr = repo.read_json(METRICS)["test"]["roc_auc"]
    assert base - pr > 0.015  # the default tolerance
    gate = repo.mlpipe_in_process("gate", "--base", "main", check=False)
    assert gate.returncode == 1
    assert f"FAIL  roc_auc worsened by {base - pr:.4f} ({base:.4f} → {pr:.4f})" in gate.stdout
    assert gate.stdout.rstrip().endswith("gate FAILED")
    result = repo.mlpipe_in_process(
        "report",
        "--base",
        "main",
        "--output",
        "report.md",
        "--summary",
        "summary.md",
        "--summary-url",
        "https://github.com/acme/mlpipe/actions/runs/7",
        "--fail-on-gate",
        check=False,
    )
    assert result.returncode == 1
    assert "gate failed: roc_auc worsened by" in result.stderr
    text = (repo.path / "report.md").read_text()
    # a report that fits the comment is the job summary's too
    assert (repo.path / "summary.md").read_text() == text
    assert "### Gate: ❌ failed" in text
    assert f"- ❌ roc_auc worsened by {base - pr:.4f}" in text
    # Which rule decided, and the drop this test set can tell from noise.
    assert "more than the allowed 0.015, and beyond noise: the change's 95% interval [" in text
    assert re.search(
        r"excludes 0 \(rule `significant`; with 4000 test rows, paired, a drop of roc_auc under "
        r"\\~0\.0\d+ cannot be told from noise\)",  # `~` escaped: GitHub strikes ~x~ through
        text,
    )
    # Without --fail-on-gate the report still exits 0 (CI posts it, then runs the gate).
    assert repo.mlpipe_in_process("report", "--base", "main").returncode == 0


def test_gate_passes_within_the_tolerance(pr_repo: Repo, tmp_path: Path) -> None:
    repo = pr_repo.copy(tmp_path / "r")
    drop = (
        _at(repo, "main", METRICS)["test"]["roc_auc"] - repo.read_json(METRICS)["test"]["roc_auc"]
    )
    rules = [{"metric": "roc_auc", "min": 0.5, "max_drop": round(drop + 0.01, 4)}]
    repo.set_params(**{"gate.rules": rules})
    # validate checks the gate's metrics against the task, so it (alone) reruns.
    assert ran_stages(repo.dvc("repro").stdout) == ["validate"]
    gate = repo.mlpipe_in_process("gate", "--base", "main")
    assert "PASS  roc_auc change" in gate.stdout and "gate passed" in gate.stdout
    text = _report(repo, "--fail-on-gate")
    assert "### Gate: ✅ passed" in text
    # A tighter tolerance than the actual drop fails again.
    repo.set_params(**{"gate.rules": [{"metric": "roc_auc", "max_drop": round(drop - 0.001, 4)}]})
    repo.dvc("repro")
    assert repo.mlpipe_in_process("gate", "--base", "main", check=False).returncode == 1


def test_without_the_base_predictions_the_comment_says_so(pr_repo: Repo, tmp_path: Path) -> None:
    """The base's per-row predictions are in DVC's cache, not in git: when neither the cache
    nor the default remote has them, the PR side keeps its intervals and the verdicts are
    point estimates, marked as such; `mlpipe fetch-predictions` says what is missing."""
    repo = pr_repo.copy(tmp_path / "r")
    lock = yaml.safe_load(repo.git("show", "main:dvc.lock").stdout)
    md5 = next(o["md5"] for o in lock["stages"]["evaluate"]["outs"] if o["path"] == PREDICTIONS)
    (repo.path / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).unlink()
    text = _report(repo)
    assert (
        f"> ⚠️ **No interval for the changes**: `{PREDICTIONS}` of `main` (md5 `{md5}`) is "
        "neither in the local DVC cache nor readable from the default remote ("
    ) in text
    assert "`mlpipe fetch-predictions --base main` fetches it where the remote's" in text
    assert re.search(r"\| roc_auc \| 0\.\d{4} \[.*\| 🔻 worse \(\*point estimate\*\) \|", text)
    assert "(point estimate, not tested against noise: " in text
    fetched = repo.mlpipe_in_process("fetch-predictions", "--base", "main", check=False)
    assert fetched.returncode == 1
    assert f"`{PREDICTIONS}` of `main` (md5 {md5}) is not in the default remote" in fetched.stderr


def test_the_gate_fails_on_target_leakage_when_told_to(pr_repo: Repo, tmp_path: Path) -> None:
    """audit.leakage: fail, and a threshold the churn data's two strongest honest features
    (contract, tenure_months: gini ~0.35 alone) reach, so the audit flags them."""
    repo = pr_repo.copy(tmp_path / "r")
    limits = {"audit.leakage": "fail", "audit.max_feature_power": 0.3}
    repo.set_params(**limits, **CHEAP_IMPORTANCE)
    result = repo.dvc("repro")
    assert ran_stages(result.stdout) == ["audit", "evaluate"]  # not split, not train
    audit = repo.read_json("data/results/audit.json")
    flagged = [(f["column"], f["power"]) for f in audit["leakage"]["flagged"]]
    assert [c for c, _ in flagged] == ["contract", "tenure_months"]
    log = result.stdout + result.stderr
    assert "WARNING mlpipe.stages.audit: possible target leakage: column 'contract' alone " in log
    gate = repo.mlpipe_in_process("gate", "--base", "main", check=False)
    assert gate.returncode == 1
    for column, power in flagged:
        assert (
            f"FAIL  target leakage: column '{column}' alone predicts the target with gini "
            f"{power:.4f}, at or above audit.max_feature_power 0.3 (audit.leakage: fail)"
        ) in gate.stdout
    # the model card (evaluate reads the audit report) and the PR comment show the same
    card = (repo.path / "data/results/model_card.md").read_text()
    text = _report(repo)
    for shown in (card, text):
        assert "⚠️ **Possible target leakage**: 2 column(s) alone predict `churned`" in shown
        for column, power in flagged:
            assert f"| `{column}` | {power:.4f} |" in shown
    count = audit["label_issues"]["count"]
    assert f"**Label issues**: {count} (base: {count}) of 10000 audited rows" in text
    assert f"**Label issues**: {count} of 10000 audited rows" in card
    assert "- ❌ target leakage: column 'contract' alone predicts the target" in text


def test_no_baseline(pr_repo: Repo, tmp_path: Path) -> None:
    repo = pr_repo.copy(tmp_path / "r")
    repo.git("checkout", "-q", "-b", "bare", "main")
    repo.git("rm", "-q", "-r", "data/results")
    repo.commit("a base from before the first run")
    repo.git("checkout", "-q", "feature")
    text = repo.mlpipe_in_process("report", "--base", "bare").stdout
    assert "No baseline: `bare` has no test metrics (no committed run)." in text
    pr, own = repo.read_json(METRICS)["test"], repo.read_json(INTERVALS)["test"]["roc_auc"]
    assert f"| roc_auc | {pr['roc_auc']:.4f} [{own['low']:.4f}, {own['high']:.4f}] |" in text
    assert "`bare` has no curves to compare." in text
    # floors only: the PR's model is above them
    gate = repo.mlpipe_in_process("gate", "--base", "bare")
    assert "SKIP  roc_auc: `bare` has no test metrics, drop check skipped" in gate.stdout
    assert "gate passed" in gate.stdout
    # A PR that predicts another target (here only the params say so) is not compared either;
    # and since nothing was reproduced after the change, the report says so first and the
    # gate refuses (it would judge the old model).
    repo.set_params(**{"data.target": "plan"})
    # and a tune result left untracked (as `mlpipe tune --apply` leaves it)
    tune = {"metric": "roc_auc", "trials_finished": 2, "best": {"trial": 1}, "changes": []}
    (repo.path / "data/results/tune.json").write_text(json.dumps(tune))
    report = repo.mlpipe_in_process("report", "--base", "main", "--fail-on-gate", check=False)
    assert report.returncode == 1  # no verdict on results that are not reproduced
    assert "gate not passed: the workspace is not reproduced" in report.stderr
    text = report.stdout
    stale = "`audit`, `drift`, `evaluate`, `ingest`, `split`, `train`"
    assert f"> ⚠️ **Not reproduced**: `dvc status` lists {stale} as changed" in text
    assert "### Gate: ❌ not passed: the workspace is not reproduced" in text
    assert "✅ passed" not in text
    assert (
        "### Tuning\n\n> ⚠️ **Not committed**: `data/results/tune.json` (untracked). The PR's "
        "commits do not hold what this section shows: `git add data/results/tune.json`, then "
        "commit."
    ) in text
    why = "the base predicts `churned`, the PR `plan`"
    # the gate's checks on those results are collapsed, not a verdict
    assert f"- ➖ roc_auc: not comparable: {why}, drop check skipped" in text
    assert f"No baseline: not compared with `main`, {why}. Showing the PR's values only." in text
    gate = repo.mlpipe_in_process("gate", "--base", "main", check=False)
    assert gate.returncode == 2
    assert "the workspace is not reproduced: dvc status lists audit, drift, evaluate" in (
        gate.stderr
    )


def test_unknown_base_and_missing_head_results(pr_repo: Repo, tmp_path: Path) -> None:
    bad = pr_repo.mlpipe_in_process("report", "--base", "no-such-branch", check=False)
    assert bad.returncode == 2
    assert "base revision 'no-such-branch' not found" in bad.stderr
    assert "git fetch origin main" in bad.stderr
    bad_url = pr_repo.mlpipe_in_process(
        "report", "--base", "main", "--summary-url", "javascript:alert(1)", check=False
    )
    assert bad_url.returncode == 2
    assert "--summary-url 'javascript:alert(1)' is not an http(s) URL" in bad_url.stderr
    repo = pr_repo.copy(tmp_path / "r")
    (repo.path / METRICS).unlink()
    missing = repo.mlpipe_in_process("report", "--base", "main", "--output", "out.md", check=False)
    assert missing.returncode == 2
    assert "no test metrics in the workspace. Run `dvc repro` first." in missing.stderr
    assert not (repo.path / "out.md").exists()


def test_images_only_on_opt_in_with_base_figures_from_git(pr_repo: Repo, tmp_path: Path) -> None:
    repo = pr_repo.copy(tmp_path / "r")
    assert "![" not in _report(repo)
    text = _report(repo, "--images", "report-images")
    assert (
        "| ROC | ![base ROC](report-images/base-roc.png) "
        "| ![PR ROC](data/results/figures/roc.png) |"
    ) in text
    base_png = subprocess.run(
        ["git", "show", "main:data/results/figures/roc.png"],
        cwd=repo.path,
        capture_output=True,
        check=True,
    ).stdout
    written = (repo.path / "report-images/base-roc.png").read_bytes()
    assert written[:8] == b"\x89PNG\r\n\x1a\n"
    assert written == base_png  # the base's own figure, byte for byte
    assert written != (repo.path / "data/results/figures/roc.png").read_bytes()
