"""The scheduled monitoring workflow: valid offline, least privilege, and its script's issue
logic run for real (mlpipe monitor on the reproduced repository) with a recorder named `gh`
on PATH (the GitHub CLI is not available here): it logs argv and the --body-file content and
answers `gh issue list` with a canned list."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support.repo import BIN, PROJECT, Repo

MONITOR = PROJECT / ".github" / "workflows" / "monitor.yml"
SCRIPT = ".github/scripts/monitor.sh"

RECORDER = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
entry = {{"argv": args}}
if "--body-file" in args:
    with open(args[args.index("--body-file") + 1], encoding="utf-8") as handle:
        entry["body"] = handle.read()
with open(os.environ["GH_RECORD"], "a", encoding="utf-8") as log:
    log.write(json.dumps(entry) + "\\n")
if args[:2] == ["issue", "list"]:
    sys.stdout.write(os.environ.get("GH_OPEN_ISSUE", ""))
"""


def test_monitor_workflow_validates_against_the_github_schema_and_actionlint() -> None:
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", MONITOR],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0 and "ok -- validation done" in schema.stdout, schema.stdout
    lint = subprocess.run([str(BIN / "actionlint"), MONITOR], capture_output=True, text=True)
    assert lint.returncode == 0 and lint.stdout == "", lint.stdout + lint.stderr


def test_monitor_workflow_is_scheduled_least_privilege_and_uses_secrets() -> None:
    wf = yaml.safe_load(MONITOR.read_text())
    on = wf.pop(True, None) or wf["on"]  # YAML 1.1 reads the key `on` as True
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["schedule"][0]["cron"]
    assert set(on["workflow_dispatch"]["inputs"]) == {"batch", "labels"}
    assert wf["permissions"] == {"contents": "read", "issues": "write"}
    job = wf["jobs"]["monitor"]
    assert job["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.AWS_ACCESS_KEY_ID }}"
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "pip install -r requirements.txt" in runs
    assert "dvc pull train split" in runs
    assert f"bash {SCRIPT}" in runs
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert "monitor-output/monitor.png" in uploads[0]["with"]["path"]


# ------------------------------------------------ the labels switch: a GitHub expression

_TOKENS = re.compile(r"\s*(?:('(?:[^']|'')*')|(&&|\|\||==|!=|[()!])|([A-Za-z_][\w.-]*))")


def _truthy(value: object) -> bool:
    """GitHub's truthiness: false, 0, '' and null are false, everything else true."""
    return value not in (False, 0, "", None)


def _evaluate(expression: str, context: dict[str, object]) -> object:
    """Evaluate a GitHub Actions expression of string literals, true/false/null, dotted
    context lookups (a missing one is null), `!`, `==`, `!=`, `&&`, `||` and parentheses,
    with GitHub's rules: `&&`/`||` return an operand, `==` on strings ignores case.
    Anything else is an error, so the test notices an expression it cannot read."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expression.rstrip()):
        match = _TOKENS.match(expression, pos)
        assert match, f"cannot read {expression[pos:]!r}"
        string, op, name = match.groups()
        tokens.append(("str", string) if string else ("op", op) if op else ("name", name))
        pos = match.end()
    tokens.append(("end", ""))
    at = 0

    def take(op: str) -> bool:
        nonlocal at
        if tokens[at] == ("op", op):
            at += 1
            return True
        return False

    def primary() -> object:
        nonlocal at
        kind, text = tokens[at]
        at += 1
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if (kind, text) == ("op", "("):
            value = either()
            assert take(")"), expression
            return value
        if (kind, text) == ("op", "!"):
            return not _truthy(primary())
        assert kind == "name", f"unexpected {text!r} in {expression!r}"
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            return literals[text]
        value: object = context
        for part in text.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def comparison() -> object:
        left = primary()
        for op in ("==", "!="):
            if take(op):
                right = primary()
                assert isinstance(left, str) and isinstance(right, str), expression
                return (left.lower() == right.lower()) == (op == "==")
        return left

    def both() -> object:
        value = comparison()
        while take("&&"):
            right = comparison()
            value = right if _truthy(value) else value
        return value

    def either() -> object:
        value = both()
        while take("||"):
            right = both()
            value = value if _truthy(value) else right
        return value

    result = either()
    assert tokens[at][0] == "end", f"trailing {tokens[at]!r} in {expression!r}"
    return result


def test_expression_evaluator_follows_githubs_operator_rules() -> None:
    # The rules the labels test relies on, including the trap the old expression fell into.
    assert (
        _evaluate(
            "inputs.labels && 'true' || vars.X || 'false'",
            {"inputs": {"labels": False}, "vars": {"X": "true"}},
        )
        == "true"
    )
    assert _evaluate("a && b || c", {"a": "", "b": "x", "c": 0}) == 0
    assert _evaluate("a == 'Push'", {"a": "push"}) is True
    assert _evaluate("!(a != 'x')", {"a": "x"}) is True
    assert _evaluate("missing.key || 'it''s'", {}) == "it's"


@pytest.mark.parametrize(
    ("event", "labels_input", "variable", "expected"),
    [
        ("workflow_dispatch", True, "true", "true"),
        ("workflow_dispatch", False, "true", "false"),  # unchecked turns labels off
        ("workflow_dispatch", True, None, "true"),
        ("workflow_dispatch", False, None, "false"),
        ("schedule", None, "true", "true"),
        ("schedule", None, "false", "false"),
        ("schedule", None, None, "false"),
    ],
)
def test_labels_come_from_the_input_on_a_manual_run_and_the_variable_on_schedule(
    event: str, labels_input: bool | None, variable: str | None, expected: str
) -> None:
    wf = yaml.safe_load(MONITOR.read_text())
    (step,) = [s for s in wf["jobs"]["monitor"]["steps"] if s.get("id") == "monitor"]
    match = re.fullmatch(r"\$\{\{(.*)\}\}", step["env"]["MONITOR_LABELS"])
    assert match, step["env"]["MONITOR_LABELS"]
    context = {
        "github": {"event_name": event},
        # A scheduled run has no inputs; a manual one has every declared input (booleans).
        "inputs": {} if event == "schedule" else {"batch": "", "labels": labels_input},
        "vars": {} if variable is None else {"MONITOR_LABELS": variable},
    }
    assert _evaluate(match.group(1), context) == expected


@pytest.fixture(scope="module")
def batches(reproduced: Repo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    frame = pd.read_parquet(reproduced.path / "data/processed/test.parquet")
    root = tmp_path_factory.mktemp("monitor-batches")
    shifted = frame.assign(contract="month-to-month", churned=~frame["churned"].astype(bool))
    paths = {"same": root / "same.parquet", "shifted": root / "shifted.parquet"}
    frame.to_parquet(paths["same"])
    shifted.to_parquet(paths["shifted"])
    return paths


def _run_script(
    repo: Repo, batch: Path, tmp_path: Path, open_issue: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[dict], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(RECORDER)
    gh.chmod(0o755)
    record = tmp_path / "gh.jsonl"
    out = tmp_path / "out"
    env = {
        "PATH": f"{bin_dir}:{repo.env['PATH']}",
        "GH_RECORD": str(record),
        "GH_OPEN_ISSUE": open_issue,
        "MONITOR_LABELS": "true",
    }
    result = repo.run("bash", SCRIPT, str(batch), str(out), check=False, env=env)
    lines = record.read_text().splitlines() if record.exists() else []
    calls = [json.loads(line) for line in lines]
    return result, calls, out


@pytest.mark.slow
def test_ok_batch_makes_no_gh_call(reproduced: Repo, batches: dict, tmp_path: Path) -> None:
    result, calls, out = _run_script(reproduced, batches["same"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert calls == []
    assert "monitoring: ok, no issue needed" in result.stdout
    assert json.loads((out / "monitor.json").read_text())["verdict"] == "ok"


@pytest.mark.slow
def test_alert_without_an_open_issue_creates_one_with_the_markdown(
    reproduced: Repo, batches: dict, tmp_path: Path
) -> None:
    result, calls, out = _run_script(reproduced, batches["shifted"], tmp_path)
    assert result.returncode == 0, result.stderr
    markdown = (out / "monitor.md").read_text()
    assert "contract" in markdown and "roc_auc dropped from" in markdown
    argvs = [c["argv"] for c in calls]
    assert argvs[0][:2] == ["issue", "list"]
    assert argvs[0][argvs[0].index("--label") + 1] == "monitoring"
    assert argvs[0][argvs[0].index("--state") + 1] == "open"
    assert [a[:2] for a in argvs] == [["issue", "list"], ["label", "create"], ["issue", "create"]]
    create = calls[2]
    assert create["argv"][create["argv"].index("--label") + 1] == "monitoring"
    assert create["argv"][create["argv"].index("--title") + 1] == "Model monitoring alert"
    assert create["body"] == markdown
    assert "alert filed as a new issue" in result.stdout


@pytest.mark.slow
def test_alert_with_an_open_issue_comments_on_that_issue_only(
    reproduced: Repo, batches: dict, tmp_path: Path
) -> None:
    result, calls, out = _run_script(reproduced, batches["shifted"], tmp_path, open_issue="42\n")
    assert result.returncode == 0, result.stderr
    argvs = [c["argv"] for c in calls]
    assert [a[:2] for a in argvs] == [["issue", "list"], ["issue", "comment"]]
    assert argvs[1][2] == "42"
    assert calls[1]["body"] == (out / "monitor.md").read_text()
    assert "alert added to issue #42" in result.stdout


@pytest.mark.slow
def test_bad_batch_fails_the_script_without_gh_calls(reproduced: Repo, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.parquet"
    result, calls, out = _run_script(reproduced, missing, tmp_path)
    assert result.returncode == 2
    assert "input file not found" in result.stderr
    assert calls == [] and not (out / "monitor.json").exists()
