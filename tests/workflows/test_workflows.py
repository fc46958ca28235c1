"""The GitHub workflows: valid offline, least privilege, and the PR workflow's own `run:` steps
executed in order in a temporary clone with a GitHub-like environment.

Only the `uses:` steps (checkout, setup-python, setup-cml) are skipped: the test provides what
they would (a clone with full history and an `origin/main`, a Python with the tools, and a
recorder named `cml` on PATH, since CML cannot be installed here).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support.repo import BIN, PROJECT, Repo, base_env

WORKFLOWS = PROJECT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
PR_REPORT = WORKFLOWS / "pr-report.yml"
FAKE_TOKEN = "ghs_fake-token-for-tests-0123456789"


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


# ---------------------------------------------------------------- static checks (fast)


def test_workflows_validate_against_the_github_schema() -> None:
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(CI),
            str(PR_REPORT),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_workflows_pass_actionlint() -> None:
    result = subprocess.run(
        [str(BIN / "actionlint"), str(CI), str(PR_REPORT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------- supply chain (fast, offline)

GITHUB_DIR = PROJECT / ".github"
DEPENDABOT = GITHUB_DIR / "dependabot.yml"
# Every network route fails fast: an offline check that tried to download would error out.
_NO_NETWORK = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}
# `uses: owner/repo[/path]@<40-hex commit> # vX.Y.Z`, the form Dependabot keeps up to date.
_PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)"
    r"@(?P<sha>[0-9a-f]{40})\s+#\s+(?P<tag>v\d+\.\d+\.\d+)\s*$"
)
# Jobs that push with git, and so keep the checkout's token in .git/config
# (cloud-experiments: `dvc exp push origin` in run-grid.sh).
GIT_PUSHING_JOBS = {("cloud-experiments.yml", "experiments")}


def _offline_env() -> dict[str, str]:
    env = base_env()
    for name in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN", "no_proxy"):
        env.pop(name, None)
    return {**env, **_NO_NETWORK, **{k.lower(): v for k, v in _NO_NETWORK.items()}}


def _zizmor(github_dir: Path) -> list[dict]:
    """zizmor's findings on a `.github` folder (workflows, composite actions, dependabot.yml)
    at the default persona, offline, with no ignore comment or config honoured."""
    result = subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--no-config",
            "--no-ignores",
            "--no-progress",
            "--format",
            "json",
            "--collect=workflows,actions,dependabot",
            str(github_dir),
        ],
        capture_output=True,
        text=True,
        env=_offline_env(),
        timeout=120,
    )
    # 0: no finding; 11-14: findings (the highest severity); anything else: zizmor failed.
    assert result.returncode in (0, 11, 12, 13, 14), result.stdout + result.stderr
    # It read every file (a path it skipped would make "no findings" meaningless).
    for path in [DEPENDABOT, *WORKFLOWS.glob("*.yml")]:
        audited = github_dir / path.relative_to(GITHUB_DIR)
        assert f"completed {audited}\n" in result.stderr, result.stderr
    return json.loads(result.stdout)


def _describe(findings: list[dict]) -> str:
    lines = []
    for f in findings:
        loc = f["locations"][0]
        path = loc["symbolic"]["key"]["Local"]["verbatim_path"]
        row = loc["concrete"]["location"]["start_point"]["row"] + 1
        severity = f["determinations"]["severity"]
        lines.append(f"{path}:{row}: {severity} {f['ident']}: {f['desc']}")
    return "\n".join(lines)


def test_zizmor_finds_nothing_in_the_workflows_and_dependabot_config() -> None:
    findings = _zizmor(GITHUB_DIR)
    assert findings == [], "zizmor findings:\n" + _describe(findings)


def test_zizmor_check_catches_a_tag_pin_a_persisted_token_and_a_missing_cooldown(
    tmp_path: Path,
) -> None:
    # The same check on a copy of .github where one checkout went back to how it was.
    copy = tmp_path / ".github"
    shutil.copytree(GITHUB_DIR, copy)
    ci = copy / "workflows" / "ci.yml"
    text, n = re.subn(
        r"uses: actions/checkout@\w{40} # v[\d.]+\n\s+with:\n\s+persist-credentials: false\n",
        "uses: actions/checkout@v5\n",
        ci.read_text(),
    )
    assert n == 1
    ci.write_text(text)
    dependabot = copy / "dependabot.yml"
    dependabot.write_text(
        re.sub(r"\n\s+cooldown:\n\s+default-days: \d+.*", "", DEPENDABOT.read_text())
    )
    found = {
        (f["ident"], Path(f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]).name)
        for f in _zizmor(copy)
    }
    assert found == {
        ("unpinned-uses", "ci.yml"),
        ("artipacked", "ci.yml"),
        ("dependabot-cooldown", "dependabot.yml"),
    }


def test_every_action_is_pinned_to_a_commit_with_its_release_tag() -> None:
    tags: dict[tuple[str, str], set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        lines = [
            line for line in path.read_text().splitlines() if re.match(r"\s*(-\s+)?uses:", line)
        ]
        parsed = [
            step["uses"]
            for job in _load(path)["jobs"].values()
            for step in job.get("steps", [])
            if "uses" in step
        ]
        assert len(lines) == len(parsed), f"{path.name}: a `uses:` written in another form"
        for line, uses in zip(lines, parsed, strict=True):
            match = _PINNED_USES.match(line)
            assert match, f"{path.name}: {line.strip()!r} is not `owner/repo@<sha> # vX.Y.Z`"
            assert uses == f"{match['action']}@{match['sha']}"
            tags.setdefault((match["action"], match["sha"]), set()).add(match["tag"])
    assert {action for action, _ in tags} >= {"actions/checkout", "actions/setup-python"}
    # One commit, one release: the same SHA never carries two different tag comments.
    assert {key: t for key, t in tags.items() if len(t) > 1} == {}


def test_checkout_keeps_no_token_unless_the_job_pushes_with_git() -> None:
    persist: dict[tuple[str, str], object] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_id, job in _load(path)["jobs"].items():
            for step in job.get("steps", []):
                if step.get("uses", "").split("@")[0] == "actions/checkout":
                    with_ = step.get("with") or {}
                    persist[(path.name, job_id)] = with_.get("persist-credentials", "unset")
    assert set(persist) >= GIT_PUSHING_JOBS
    assert persist == {key: key in GIT_PUSHING_JOBS for key in persist}


def test_dependabot_config_validates_offline_and_covers_actions_and_pip() -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(DEPENDABOT)],
        capture_output=True,
        text=True,
        env=_offline_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout
    config = yaml.safe_load(DEPENDABOT.read_text())
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    for update in updates.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] == "weekly"
        assert update["cooldown"]["default-days"] >= 7


def test_dependabot_config_schema_check_rejects_a_bad_interval(tmp_path: Path) -> None:
    bad = tmp_path / "dependabot.yml"
    bad.write_text(DEPENDABOT.read_text().replace("interval: weekly", "interval: fortnightly", 1))
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(bad)],
        capture_output=True,
        text=True,
        env=_offline_env(),
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "'fortnightly' is not one of" in result.stdout + result.stderr


def _pins(requirements: list[str]) -> dict[str, str]:
    """{normalised name: version} of `name[extras]==version` lines."""
    pins = {}
    for line in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)\s*", line)
        assert match, f"not an exact pin: {line!r}"
        pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_pyproject_pins_match_requirements_lock() -> None:
    # The direct dependencies' pins are written twice (pyproject.toml and the lock file
    # requirements.txt): they must agree, whoever edits them (a person or Dependabot).
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    direct = _pins(
        project["dependencies"]
        + [r for rs in project["optional-dependencies"].values() for r in rs]
    )
    lock_lines = (PROJECT / "requirements.txt").read_text().splitlines()
    lock = _pins([line for line in lock_lines if line.strip() and not line.startswith("#")])
    assert {"zizmor", "check-jsonschema", "dvc"} <= set(direct)
    differ = {name: (v, lock.get(name)) for name, v in direct.items() if lock.get(name) != v}
    assert differ == {}, "pyproject.toml pin vs requirements.txt: " + repr(differ)


def test_ci_runs_the_readme_test_command_on_push_and_pull_request() -> None:
    ci = _load(CI)
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    runs = [s["run"] for s in ci["jobs"]["test"]["steps"] if "run" in s]
    assert runs == ["make test"]
    assert "make test" in (PROJECT / "README.md").read_text()


def test_pr_report_is_least_privilege_and_pull_request_only() -> None:
    wf = _load(PR_REPORT)
    text = PR_REPORT.read_text()
    assert set(wf["on"]) == {"pull_request"}
    assert "pull_request_target" not in yaml.safe_dump(wf)  # comments aside
    assert wf["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = wf["jobs"]["report"]["steps"]
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/checkout"]["with"]["fetch-depth"] == 0
    assert uses["actions/setup-python"]["with"] == {
        "python-version": "3.11",
        "cache": "pip",
        "cache-dependency-path": "requirements.txt",
    }
    assert "iterative/setup-cml" in uses
    # Secrets only through secrets.*, and only into env (never inlined into a script).
    for step in steps:
        assert "${{" not in step.get("run", ""), step
    secrets = set(re.findall(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", text))
    assert secrets == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MLPIPE_S3_ENDPOINT",
        "GITHUB_TOKEN",
    }


# ---------------------------------------------------------------- running the run: steps


@dataclass
class StepRun:
    name: str
    skipped: bool
    returncode: int = 0
    output: str = ""


def _expand(value: object, expressions: dict[str, str]) -> str:
    """Replace each ${{ expr }} by the value GitHub would give it in this scenario."""

    def sub(match: re.Match[str]) -> str:
        expr = match.group(1).strip()
        assert expr in expressions, f"the test does not know the expression {expr!r}"
        return expressions[expr]

    return re.sub(r"\$\{\{(.*?)\}\}", sub, str(value))


def run_workflow_steps(
    workflow: Path, clone: Path, env: dict[str, str], expressions: dict[str, str]
) -> list[StepRun]:
    """Run every job step's `run:` script in order, like the runner's default bash shell
    (`bash --noprofile --norc -eo pipefail`); stop at the first failing step."""
    wf = _load(workflow)
    assert "defaults" not in wf and "env" not in wf  # would change how steps run
    (job,) = wf["jobs"].values()
    assert "env" not in job and "defaults" not in job
    runs: list[StepRun] = []
    for i, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {i}"
        assert "if" not in step, "conditional steps: extend the runner in this test"
        if "uses" in step:
            runs.append(StepRun(name, skipped=True))
            continue
        script = clone.parent / f"step-{i}.sh"
        script.write_text(step["run"])
        step_env = {k: _expand(v, expressions) for k, v in (step.get("env") or {}).items()}
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=clone,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            timeout=1200,
        )
        runs.append(StepRun(name, False, result.returncode, result.stdout + result.stderr))
        if result.returncode != 0:
            break
    return runs


RECORDER = """#!/usr/bin/env python3
# Stand-in for CML: records its arguments, whether a token is set (never its value), and the
# content of every file argument.
import json, os, sys
files = {a: open(a, encoding="utf-8").read() for a in sys.argv[1:] if os.path.isfile(a)}
entry = {"argv": sys.argv[1:], "token_set": bool(os.environ.get("REPO_TOKEN")), "files": files}
with open(%r, "a", encoding="utf-8") as log:
    log.write(json.dumps(entry) + "\\n")
"""


def _child_venv(dest: Path) -> Path:
    """A virtual environment that sees this one's packages (no download), so the workflow's
    `pip install ...` steps run for real without re-pointing this venv's editable install."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    site = dest / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    parent = sysconfig.get_paths()["purelib"]
    (site / "_mlpipe_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    pip = dest / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\nexec {shlex.quote(str(dest / "bin" / "python"))} -m pip "$@"\n')
    pip.chmod(0o755)
    return dest / "bin"


@pytest.fixture(scope="module")
def origin(pr_scenario: Repo, tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """main with a run; `feature` (worse model: the gate fails); `feature-ok` (same model,
    a gate relaxed in the PR's params: the gate passes)."""
    repo = pr_scenario.copy(tmp_path_factory.mktemp("origin") / "repo")
    repo.git("checkout", "-q", "-b", "feature-ok")
    repo.set_params(**{"gate.rules": [{"metric": "roc_auc", "min": 0.6, "max_drop": 0.5}]})
    repo.commit("feature-ok: relax the gate")
    repo.git("checkout", "-q", "feature")
    return repo


@dataclass
class Job:
    clone: Path
    runs: list[StepRun]
    cml_calls: list[dict]
    summary: str


def _run_pr_job(origin: Repo, tmp: Path, branch: str, same_repo: bool) -> Job:
    clone = tmp / "clone"
    subprocess.run(
        ["git", "clone", "-q", "-b", branch, str(origin.path), str(clone)],
        check=True,
        env=base_env(),
    )
    # A warm runner cache: share origin's DVC cache (what `dvc pull` would restore in CI).
    (clone / ".dvc" / "config.local").write_text(
        f"[cache]\n    dir = {origin.path / '.dvc' / 'cache'}\n"
    )
    recorder_bin = tmp / "recorder"
    recorder_bin.mkdir()
    log = tmp / "cml.log"
    cml = recorder_bin / "cml"
    cml.write_text(RECORDER % str(log))
    cml.chmod(0o755)
    summary = tmp / "step_summary.md"
    summary.write_text("")
    venv_bin = _child_venv(tmp / "venv")
    env = base_env()
    env.pop("PYTHONPATH", None)
    env.update(
        PATH=f"{recorder_bin}:{venv_bin}:{env['PATH']}",
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_BASE_REF="main",
        GITHUB_HEAD_REF=branch,
        GITHUB_REPOSITORY="acme/mlpipe",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_RUN_ID="4242",
        GITHUB_SHA=subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True
        ).stdout.strip(),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKSPACE=str(clone),
    )
    same = "true" if same_repo else "false"
    expressions = {
        "secrets.AWS_ACCESS_KEY_ID": "",  # no remote credentials: reproduce locally
        "secrets.AWS_SECRET_ACCESS_KEY": "",
        "secrets.MLPIPE_S3_ENDPOINT": "",
        "secrets.GITHUB_TOKEN": FAKE_TOKEN,  # fork PRs get a read-only one
        "github.event.pull_request.head.repo.full_name == github.repository": same,
        "github.event.pull_request.number": "7",
    }
    runs = run_workflow_steps(PR_REPORT, clone, env, expressions)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return Job(clone, runs, calls, summary.read_text())


@pytest.mark.slow
@pytest.mark.long(39)
def test_pr_workflow_posts_the_report_then_fails_on_the_gate(origin: Repo, tmp_path: Path) -> None:
    job = _run_pr_job(origin, tmp_path, "feature", same_repo=True)
    ran = [(r.name, r.returncode) for r in job.runs if not r.skipped]
    assert [name for name, _ in ran] == [
        "Install pinned dependencies",
        "Pipeline outputs (pull what is cached, reproduce the rest)",
        "Build the report",
        "Job summary",
        "Post or update the PR comment",
        "Gate (fails the job after the comment is posted)",
    ], job.runs[-1].output
    assert [code for _, code in ran[:-1]] == [0, 0, 0, 0, 0]
    assert ran[-1][1] == 1  # the gate fails the job, after the comment was posted
    assert "FAIL  roc_auc worsened by" in job.runs[-1].output
    report = (job.clone / "report.md").read_text()
    (call,) = job.cml_calls
    assert call["argv"] == [
        "comment",
        "update",
        "--target=pr",
        "--watermark-title=mlpipe report",
        "report.md",
    ]
    assert call["token_set"] is True
    assert call["files"] == {"report.md": report}
    assert report.startswith("## mlpipe report\n")
    assert "Base `origin/main` (" in report and "→ PR `feature` (" in report
    assert "### Gate: ❌ failed" in report and "roc_auc worsened by" in report
    assert "| train.hist_gradient_boosting.max_iter | `150` | `10` |" in report
    assert "xychart-beta" in report
    assert "git fetch origin && git checkout feature && dvc repro --pull\n" in report
    # The summary gets its own file (a larger budget); a report that fits both is the same.
    assert job.summary == (job.clone / "summary.md").read_text() == report
    assert "Shortened to fit" not in report
    # No secret reaches the comment, the summary or the logs.
    assert FAKE_TOKEN not in report + job.summary + "".join(r.output for r in job.runs)
    assert FAKE_TOKEN not in json.dumps(job.cml_calls)


@pytest.mark.slow
def test_pr_workflow_from_a_fork_writes_the_summary_and_does_not_fail(
    origin: Repo, tmp_path: Path
) -> None:
    job = _run_pr_job(origin, tmp_path, "feature-ok", same_repo=False)
    assert all(r.returncode == 0 for r in job.runs), job.runs[-1].output
    assert [r.name for r in job.runs if not r.skipped][-1].startswith("Gate")
    assert job.cml_calls == []  # read-only token: nothing posted
    post = next(r for r in job.runs if r.name == "Post or update the PR comment")
    assert "comment not posted" in post.output
    report = (job.clone / "report.md").read_text()
    assert job.summary == report
    assert "### Gate: ✅ passed" in report and "→ PR `feature-ok` (" in report
    assert "| gate.rules[0].max_drop | `0.015` | `0.5` |" in report
    # The fork's branch is not in origin and CI pushed nothing: advice that works for it.
    assert "git fetch origin pull/7/head:pr-7 && git checkout pr-7 && dvc pull && dvc repro\n" in (
        report
    )
    assert "dvc repro --pull" not in report
