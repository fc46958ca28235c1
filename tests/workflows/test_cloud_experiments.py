"""The cloud-experiments workflow: valid offline, least privilege, the runner it launches is the
one its second job asks for; and its grid script (`.github/scripts/run-grid.sh`) run for real
in a temporary repository: DVC's queue, parallel workers, the summary table, the push of the
experiments to a git remote and a DVC remote.

What cannot run here: `cml runner launch` (it starts an EC2 instance) and the job on that
runner as a whole; the workflow is checked statically only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from support.repo import (
    BIN,
    CHEAP_IMPORTANCE,
    PROJECT,
    THREAD_VARIABLES,
    Repo,
    base_env,
    make_repo,
)

WORKFLOW = PROJECT / ".github" / "workflows" / "cloud-experiments.yml"
SCRIPT = Path(".github") / "scripts" / "run-grid.sh"


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


# ---------------------------------------------------------------- static checks (fast)


def test_workflow_validates_against_the_github_schema_and_actionlint() -> None:
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", WORKFLOW],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert "ok -- validation done" in schema.stdout
    lint = subprocess.run([str(BIN / "actionlint"), WORKFLOW], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout == ""


def test_workflow_is_manual_least_privilege_and_uses_the_runner_it_launches() -> None:
    wf = _load(WORKFLOW)
    text = WORKFLOW.read_text()
    assert set(wf["on"]) == {"workflow_dispatch"}
    assert set(wf["on"]["workflow_dispatch"]["inputs"]) == {
        "grid",
        "jobs",
        "rows",
        "cloud_region",
        "cloud_type",
    }
    assert wf["permissions"] == {"contents": "read"}
    launch, experiments = wf["jobs"]["launch-runner"], wf["jobs"]["experiments"]
    assert "permissions" not in launch  # the PAT registers the runner, not GITHUB_TOKEN
    assert experiments["permissions"] == {"contents": "write"}  # dvc exp push origin
    assert experiments["needs"] == "launch-runner"

    (cml_step,) = [s for s in launch["steps"] if "cml runner launch" in s.get("run", "")]
    flags = dict(re.findall(r"--([\w-]+)(?:=(\S+))?", cml_step["run"]))
    assert flags["cloud"] == "aws"
    assert flags["cloud-region"] == '"$CLOUD_REGION"'
    assert flags["cloud-type"] == '"$CLOUD_TYPE"'
    assert "single" in flags  # the instance terminates after this run's job
    assert experiments["runs-on"] == ["self-hosted", flags["labels"]]
    assert set(cml_step["env"]) == {
        "REPO_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "CLOUD_REGION",
        "CLOUD_TYPE",
    }
    assert cml_step["env"]["REPO_TOKEN"] == "${{ secrets.PERSONAL_ACCESS_TOKEN }}"
    assert [s["uses"].split("@")[0] for s in launch["steps"] if "uses" in s] == [
        "iterative/setup-cml"
    ]

    runs = [s["run"] for s in experiments["steps"] if "run" in s]
    assert "pip install -r requirements.txt\npip install --no-deps -e .\n" in runs
    assert runs[-2:] == [
        "bash .github/scripts/pipeline-outputs.sh",
        "bash .github/scripts/run-grid.sh",
    ]
    grid_env = experiments["steps"][-1]["env"]
    assert grid_env["MLPIPE_GRID"] == "${{ inputs.grid }}"
    assert grid_env["MLPIPE_JOBS"] == "${{ inputs.jobs }}"
    assert grid_env["MLPIPE_EXP_PUSH"] == "origin"
    # A re-run of the workflow (same run id) must not reuse the first attempt's names.
    assert grid_env["MLPIPE_EXP_PREFIX"] == "run-${{ github.run_id }}-${{ github.run_attempt }}"
    # Inputs and secrets reach scripts only through env, never inlined into a script.
    for job in wf["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step
    assert set(re.findall(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", text)) == {
        "PERSONAL_ACCESS_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MLPIPE_S3_ENDPOINT",
    }


# ---------------------------------------------------------------- the grid script


# The grid script's poll interval here: its default. Each poll is a `dvc queue status` (~0.7 s
# of CPU): polling every second kept half a core busy for the whole wait, every 5 s a seventh.
# The suite is bound by CPU, not by these tests' waits (they start first and run beside it).
POLL_SECONDS = "10"


def _run_grid(cwd: Path, summary: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = base_env(cwd / "src")
    for name in THREAD_VARIABLES:
        full_env.pop(name, None)  # the script's own default is under test
    full_env.update(MLPIPE_SUMMARY=str(summary), MLPIPE_POLL_SECONDS=POLL_SECONDS)
    full_env.update(env)
    script = cwd / SCRIPT if (cwd / SCRIPT).exists() else PROJECT / SCRIPT  # a repo's own copy
    return subprocess.run(
        ["bash", str(script)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MLPIPE_GRID": ""}, "empty grid: set MLPIPE_GRID"),
        ({"MLPIPE_GRID": "# only a comment\n\n"}, "empty grid: set MLPIPE_GRID"),
        (
            {"MLPIPE_GRID": "train.seed=1\ntrain.estimator logistic_regression"},
            "grid item 2: 'train.estimator' is not a params override; write key=value",
        ),
        ({"MLPIPE_GRID": "train.seed=1; --force"}, "grid item 2: '--force' is not a params"),
        ({"MLPIPE_GRID": "train.seed=1", "MLPIPE_JOBS": "0"}, "MLPIPE_JOBS must be a positive"),
        ({"MLPIPE_GRID": "train.seed=1", "MLPIPE_ROWS": "1e6"}, "MLPIPE_ROWS must be a positive"),
        ({"MLPIPE_GRID_FILE": "missing.txt"}, "grid file 'missing.txt' not found"),
        (
            {"MLPIPE_GRID": "train.seed=1", "MLPIPE_WORKER_GRACE_SECONDS": "1m"},
            "MLPIPE_WORKER_GRACE_SECONDS must be a whole number of seconds, got '1m'",
        ),
        (
            {"MLPIPE_GRID": "train.seed=1", "MLPIPE_TIMEOUT_SECONDS": "-5"},
            "MLPIPE_TIMEOUT_SECONDS must be a whole number of seconds, got '-5'",
        ),
    ],
)
def test_bad_grid_input_is_refused_before_anything_is_queued(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    summary = tmp_path / "summary.md"
    result = _run_grid(tmp_path, summary, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "queueing" not in result.stdout  # refused before any `dvc exp run --queue`
    assert not summary.exists()


def _tasks(repo: Repo) -> list[tuple[str, str, str]]:
    """(task id, name, status) of every task `dvc queue status` lists."""
    lines = repo.dvc("queue", "status").stdout.splitlines()
    return [(f[0], f[1], f[-1]) for f in (ln.split() for ln in lines[1:]) if len(f) >= 4]


def _queued(repo: Repo) -> list[tuple[str, str]]:
    """(task id, name) of every task `dvc queue status` lists as Queued."""
    return [(task, name) for task, name, status in _tasks(repo) if status == "Queued"]


@pytest.fixture(scope="module")
def plain_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """The project in a temporary repository, not reproduced: enough to check a grid."""
    return make_repo(tmp_path_factory.mktemp("grid-check") / "repo")


@pytest.mark.parametrize(
    ("env", "errors"),
    [
        (  # the user's grid: two valid items, then a misspelt key
            {
                "MLPIPE_GRID": "train.estimator=logistic_regression; train.estimator="
                "logistic_regression train.logistic_regression.C=0.3; "
                "train.logistic_regression.Cx=1"
            },
            [
                "grid item 3 (train.logistic_regression.Cx=1): unknown key "
                "'train.logistic_regression.Cx'. Allowed keys in 'train.logistic_regression': "
                "C, class_weight, max_iter"
            ],
        ),
        (
            {"MLPIPE_GRID": "train.seed=1\n# a comment\n-S train.estimator=xgboost"},
            [
                "grid item 3 (train.estimator=xgboost): 'train.estimator' is 'xgboost'; allowed "
                "values: 'logistic_regression', 'random_forest', 'hist_gradient_boosting'"
            ],
        ),
        (  # every bad item is named, not only the first
            {"MLPIPE_GRID": "train.logistic_regression.C=-1; train.seed=1; trian.seed=2"},
            [
                "grid item 1 (train.logistic_regression.C=-1): 'train.logistic_regression.C' "
                "is -1.0; allowed range: [1e-09, inf]",
                "grid item 3 (trian.seed=2): unknown section 'trian'. Allowed sections: data,",
            ],
        ),
        (
            {"MLPIPE_GRID": "train.hist_gradient_boosting.max_iter=many"},
            [
                "grid item 1 (train.hist_gradient_boosting.max_iter=many): "
                "'train.hist_gradient_boosting.max_iter' must be an integer, got 'many'"
            ],
        ),
        (  # a key mlpipe would accept but params.yaml lacks: DVC cannot set it
            {"MLPIPE_GRID": "report.new_key=1"},
            [
                "grid item 1 (report.new_key=1): 'report.new_key' is not in params.yaml, and "
                "`dvc exp run -S` can only change keys that are there: add it to params.yaml"
            ],
        ),
        (
            {"MLPIPE_GRID": "train.estimator=random_forest,logistic_regression"},
            [
                "grid item 1 (train.estimator=random_forest,logistic_regression): "
                "'random_forest,logistic_regression' is a list of values (a sweep); write one "
                "grid item per value, e.g. 'train.estimator=random_forest; "
                "train.estimator=logistic_regression'"
            ],
        ),
        (
            {"MLPIPE_GRID": "train.seed=1", "MLPIPE_ROWS": "50"},
            ["MLPIPE_ROWS (generate.rows=50): 'generate.rows' is 50; allowed range: [100, inf]"],
        ),
    ],
)
def test_a_bad_key_or_value_in_any_item_queues_nothing(
    plain_repo: Repo, tmp_path: Path, env: dict[str, str], errors: list[str]
) -> None:
    params_before = (plain_repo.path / "params.yaml").read_bytes()
    summary = tmp_path / "summary.md"
    result = _run_grid(plain_repo.path, summary, MLPIPE_EXP_PREFIX="typo", **env)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    lines = result.stderr.splitlines()
    assert len(lines) == len(errors) + 1, result.stderr
    for line, error in zip(lines, errors, strict=False):
        assert line.startswith(f"run-grid: error: {error}"), line
    assert lines[-1] == "run-grid: error: nothing was queued; fix the grid and run again"
    assert "queueing" not in result.stdout and "Queued experiment" not in out
    assert _queued(plain_repo) == []
    assert not summary.exists()
    assert (plain_repo.path / "params.yaml").read_bytes() == params_before
    assert plain_repo.git("status", "--porcelain").stdout == ""


def _commit_base(repo: Repo) -> None:
    """Commit the reproduced repository as the grid's base, with CHEAP_IMPORTANCE: every
    experiment of these grids changes train params, so each reruns evaluate, and nothing here
    checks importances."""
    repo.set_params(**CHEAP_IMPORTANCE)
    repo.commit("base")


def _experiments(repo: Repo) -> dict[str, dict]:
    """name -> entry (executor state, revs with their data) of every experiment `dvc exp show`
    knows."""
    shown = repo.dvc("exp", "show", "--json", "--hide-queued", "--hide-workspace")
    return {
        exp["name"]: exp
        for commit in json.loads(shown.stdout)
        for exp in commit.get("experiments") or []
        if exp.get("name")
    }


def _table_row(summary: str, name: str) -> list[str]:
    (line,) = [ln for ln in summary.splitlines() if ln.startswith(f"| {name} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.mark.slow
@pytest.mark.long(140, waits=True)
def test_grid_runs_in_the_queue_writes_the_table_and_pushes(work_repo: Repo, tmp_path: Path):
    _commit_base(work_repo)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True, env=base_env())
    work_repo.git("remote", "add", "origin", str(origin))
    work_repo.git("push", "-q", "origin", "HEAD")
    summary = tmp_path / "summary.md"

    result = _run_grid(
        work_repo.path,
        summary,
        MLPIPE_GRID="train.hist_gradient_boosting.max_iter=20\n# a comment\n"
        "-S train.estimator=logistic_regression train.logistic_regression.C=0.5",
        MLPIPE_JOBS="2",
        MLPIPE_ROWS="3000",
        MLPIPE_EXP_PREFIX="t",
        MLPIPE_EXP_PUSH="origin",
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Started '2' new experiments task queue workers." in out
    threads = max(1, len(os.sched_getaffinity(0)) // 2)  # the runner's cores / MLPIPE_JOBS
    assert f"running 2 experiment(s), 2 at a time, OMP_NUM_THREADS={threads} each" in out
    # The base run is capped too: the cap is exported before it (the log line reads it).
    assert (
        "running the pipeline at generate.rows=3000 in the workspace (t-base), "
        f"OMP_NUM_THREADS={threads}\n" in out
    )
    assert "run-grid: pushed t-base t-1 t-2 to git remote 'origin'" in out
    assert "run-grid: all 3 experiment(s) succeeded" in out

    exps = {n: e["revs"][0]["data"] for n, e in _experiments(work_repo).items()}
    assert {"t-base", "t-1", "t-2"} <= set(exps)
    params = {n: exps[n]["params"]["params.yaml"]["data"] for n in ("t-base", "t-1", "t-2")}
    metrics = {
        n: exps[n]["metrics"]["data/results/metrics.json"]["data"]["test"]
        for n in ("t-base", "t-1", "t-2")
    }
    assert all(p["generate"]["rows"] == 3000 for p in params.values())
    assert all(m["rows"] == 600 for m in metrics.values())  # 20 % of 3000 rows
    assert params["t-1"]["train"]["hist_gradient_boosting"]["max_iter"] == 20
    assert params["t-1"]["train"]["estimator"] == "hist_gradient_boosting"
    assert params["t-2"]["train"]["estimator"] == "logistic_regression"
    assert params["t-2"]["train"]["logistic_regression"]["C"] == 0.5
    aucs = {n: m["roc_auc"] for n, m in metrics.items()}
    assert len(set(aucs.values())) == 3, aucs  # three different models
    assert all(0.6 < auc < 1.0 for auc in aucs.values()), aucs

    text = summary.read_text()
    assert text.startswith("## Experiment grid\n") and text in result.stdout
    header = [c.strip() for c in text.splitlines()[4].strip("|").split("|")]
    keys = [
        "generate.rows",
        "train.hist_gradient_boosting.max_iter",
        "train.estimator",
        "train.logistic_regression.C",
    ]
    assert header[:6] == ["experiment", "status", *keys]
    metric_cols = header[6:]
    assert metric_cols == sorted(f"test.{k}" for k in metrics["t-1"])
    base_row = _table_row(text, "baseline")
    assert base_row[2:6] == ["20000", "150", "hist_gradient_boosting", "1"]
    for name, values in {
        "t-base": ["3000", "150", "hist_gradient_boosting", "1"],
        "t-1": ["3000", "20", "hist_gradient_boosting", "1"],
        "t-2": ["3000", "150", "logistic_regression", "0.5"],
    }.items():
        row = _table_row(text, name)
        assert row[1:6] == ["ok", *values]
        shown = dict(zip(metric_cols, row[6:], strict=True))
        for key, value in metrics[name].items():
            assert float(shown[f"test.{key}"]) == pytest.approx(value, rel=1e-5)

    # The experiments came back: refs in the git remote, their models in the DVC remote.
    refs = subprocess.run(
        ["git", "ls-remote", str(origin), "refs/exps/*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(re.findall(r"refs/exps/\S+/(t-\w+)$", refs, re.M)) == ["t-1", "t-2", "t-base"]
    dvc_remote = tmp_path / "mlpipe-dvc-remote"
    for name in ("t-base", "t-1", "t-2"):
        lock = yaml.safe_load(work_repo.git("show", f"{exps[name]['rev']}:dvc.lock").stdout)
        (model,) = lock["stages"]["train"]["outs"]
        md5 = model["md5"]
        assert (dvc_remote / "files" / "md5" / md5[:2] / md5[2:]).is_file(), name
    assert (dvc_remote / "runs").is_dir()  # run records pushed with --run-cache

    # A second grid in the same checkout, one worker this time, with the same names (the prefix
    # unchanged). The first grid's workers must not stop this one's after one experiment (a
    # `dvc queue stop` at the end of a grid used to): both run with no worker restart. The
    # remote has other experiments under these names, so `dvc exp push` pushes nothing and
    # exits 0; the script must say so.
    remote_refs = {
        name: sha for sha, name in re.findall(r"^(\w+)\s+refs/exps/\S+/(t-\w+)$", refs, re.M)
    }
    work_repo.dvc("exp", "remove", "t-1", "t-2")
    again = _run_grid(
        work_repo.path,
        tmp_path / "summary2.md",
        MLPIPE_GRID="train.hist_gradient_boosting.max_iter=21; "
        "train.hist_gradient_boosting.max_iter=22",
        MLPIPE_EXP_PREFIX="t",
        MLPIPE_EXP_PUSH="origin",
    )
    out = again.stdout + again.stderr
    assert again.returncode == 1, out
    assert "Started '1' new experiments task queue worker." in out
    assert "no queue worker alive" not in out  # the second grid's worker ran both
    statuses = _statuses(work_repo)
    assert (statuses["t-1"], statuses["t-2"]) == ("Success", "Success"), statuses
    exps = {n: e["revs"][0]["data"] for n, e in _experiments(work_repo).items()}
    for name, max_iter in {"t-1": 21, "t-2": 22}.items():
        train = exps[name]["params"]["params.yaml"]["data"]["train"]
        assert train["hist_gradient_boosting"]["max_iter"] == max_iter
    assert "No experiments to push" in out  # DVC's message, with exit 0
    for name in ("t-1", "t-2"):
        assert re.search(
            rf"run-grid: error: {name} was NOT pushed: git remote 'origin' already has a "
            rf"different experiment of that name \({remote_refs[name][:7]}, this one is "
            r"[0-9a-f]{7}\); run the grid again with another MLPIPE_EXP_PREFIX, or replace the "
            rf"remote's: dvc exp push --force --run-cache origin {name}",
            again.stderr,
        ), again.stderr
    assert "run-grid: pushed" not in again.stdout
    assert "run-grid: experiment(s) not pushed: t-1 t-2" in again.stdout
    assert "all 2 experiment(s) succeeded" not in out
    after = subprocess.run(
        ["git", "ls-remote", str(origin), "refs/exps/*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert after == refs  # the remote still has the first t-1 and t-2, nothing else changed


@pytest.mark.slow
def test_a_failing_experiment_fails_the_run_and_shows_why(work_repo: Repo, tmp_path: Path):
    _commit_base(work_repo)
    summary = tmp_path / "summary.md"
    # Valid params (the grid check passes them), but the ingest stage refuses them at run time.
    result = _run_grid(
        work_repo.path, summary, MLPIPE_GRID="data.date_column=nosuch", MLPIPE_EXP_PREFIX="bad"
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "run-grid: experiment bad-1 failed; its log:" in out
    # from `dvc queue logs`:
    assert "data.date_column names column 'nosuch', which is not in the file" in out
    assert "run-grid: failed experiment(s): bad-1" in out
    text = summary.read_text()
    assert _table_row(text, "bad-1")[:3] == ["bad-1", "FAILED", "nosuch"]
    assert "Failed: bad-1 (see `dvc queue logs <name>`)." in text
    failed = _experiments(work_repo)["bad-1"]
    assert failed["executor"]["state"] == "failed"
    assert failed["revs"][0]["error"]["msg"] == "Experiment run failed"


@pytest.mark.slow
def test_a_queueing_failure_part_way_takes_back_what_this_run_queued(
    work_repo: Repo, tmp_path: Path
) -> None:
    _commit_base(work_repo)
    work_repo.dvc("exp", "run", "--name", "t-2")  # a finished experiment: `t-2` is taken
    # Someone else's queued task, even of the same name as ours: it must stay queued.
    work_repo.dvc("exp", "run", "--queue", "--name", "t-1", "-S", "train.seed=7")
    (foreign,) = _queued(work_repo)
    summary = tmp_path / "summary.md"

    result = _run_grid(
        work_repo.path,
        summary,
        MLPIPE_GRID="train.seed=1; train.seed=2; train.seed=3",
        MLPIPE_EXP_PREFIX="t",
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "Queued experiment 't-1' for future execution." in out
    assert "Experiment conflicts with existing experiment 't-2'" in out  # DVC's own message
    assert (
        "run-grid: error: could not queue t-2 (grid item 2: train.seed=2); DVC's message is above"
        in result.stderr
    )
    assert "run-grid: removed the experiment(s) this run had queued: t-1" in out
    assert "queueing t-3" not in out and "running" not in result.stdout
    assert _queued(work_repo) == [foreign]  # ours gone, the other one untouched
    assert not summary.exists()


def _statuses(repo: Repo) -> dict[str, str]:
    """name -> status of every task `dvc queue status` lists."""
    return {name: status for _, name, status in _tasks(repo)}


def _worker_log(repo: Repo) -> str:
    celery = repo.path / ".dvc" / "tmp" / "exps" / "celery"
    return "".join(p.read_text() for p in sorted(celery.glob("dvc-exp-worker-*.out")))


@pytest.mark.slow
@pytest.mark.long(130, waits=True)
def test_a_stale_queue_stop_costs_one_restart_of_the_workers(work_repo: Repo, tmp_path: Path):
    """A shutdown left in DVC's broker (what `dvc queue stop` leaves when no worker is alive):
    the next worker takes one experiment and exits, the other one stays queued with no worker
    alive. The script notices and starts the workers again. (Two grids in a row in one
    checkout, 2 workers then 1, are in test_grid_runs_in_the_queue_writes_the_table_and_pushes.)
    """
    _commit_base(work_repo)
    summary = tmp_path / "summary.md"
    # A worker that found the queue empty and exited: its control queue stays in the broker,
    # so the `dvc queue stop` below, with no worker alive, is left there for the next worker.
    started = work_repo.dvc("queue", "start").stdout
    assert "Started '1' new experiments task queue worker." in started
    deadline = time.monotonic() + 120
    while "Worker status: 0 active, 0 idle" not in work_repo.dvc("queue", "status").stdout:
        assert time.monotonic() < deadline, "the queue worker did not exit on an empty queue"
        time.sleep(5)  # each `dvc queue status` is ~0.7 s of CPU
    work_repo.dvc("queue", "stop")
    result = _run_grid(
        work_repo.path,
        summary,
        MLPIPE_GRID="train.hist_gradient_boosting.max_iter=14; "
        "train.hist_gradient_boosting.max_iter=15",
        MLPIPE_EXP_PREFIX="r5",
        MLPIPE_WORKER_GRACE_SECONDS="30",
        MLPIPE_TIMEOUT_SECONDS="600",
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert re.search(
        r"run-grid: 1 experiment\(s\) queued but no queue worker alive for \d+ s; "
        r"starting the workers again",
        out,
    ), out
    assert "run-grid: all 2 experiment(s) succeeded" in out
    assert "Got shutdown from remote" in _worker_log(work_repo)  # DVC's worker saw the stale one
    statuses = _statuses(work_repo)
    assert (statuses["r5-1"], statuses["r5-2"]) == ("Success", "Success"), statuses
    assert _queued(work_repo) == []


@pytest.mark.slow
@pytest.mark.long(150, waits=True)
def test_a_queue_whose_workers_keep_stopping_fails_fast_and_unqueues(
    work_repo: Repo, tmp_path: Path
) -> None:
    """Someone runs `dvc queue stop` again and again while the grid runs: every worker takes one
    experiment and exits. After one restart of the workers the script gives up (instead of
    polling until MLPIPE_TIMEOUT_SECONDS) and removes what is left of its grid from the queue."""
    _commit_base(work_repo)
    env = base_env(work_repo.path / "src")
    for name in THREAD_VARIABLES:
        env.pop(name, None)
    env.update(
        MLPIPE_SUMMARY=str(tmp_path / "summary.md"),
        MLPIPE_POLL_SECONDS=POLL_SECONDS,
        MLPIPE_GRID="train.hist_gradient_boosting.max_iter=10; "
        "train.hist_gradient_boosting.max_iter=11; train.hist_gradient_boosting.max_iter=12",
        MLPIPE_EXP_PREFIX="s",
        MLPIPE_WORKER_GRACE_SECONDS="20",
        MLPIPE_TIMEOUT_SECONDS="3000",
    )
    started = time.monotonic()
    grid = subprocess.Popen(
        ["bash", str(PROJECT / SCRIPT)],
        cwd=work_repo.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while grid.poll() is None and time.monotonic() - started < 900:
            # About a second of CPU each: one every ~5 s is still several per experiment.
            work_repo.dvc("queue", "stop")
            time.sleep(4)
    finally:
        if grid.poll() is None:
            grid.kill()
    out, err = grid.communicate()
    assert grid.returncode == 1, out + err
    assert "queued but no queue worker alive for" in out and "starting the workers again" in out
    assert re.search(
        r"run-grid: error: [12] experiment\(s\) queued but no queue worker alive, even after "
        r"starting the workers again; the workers' logs are in "
        r"\.dvc/tmp/exps/celery/dvc-exp-worker-\*\.out",
        err,
    ), err
    removed = re.search(r"run-grid: removed the experiment\(s\) this run had queued: (.+)", out)
    assert removed, out
    statuses = _statuses(work_repo)
    left = removed.group(1).split()
    assert left and set(left) <= {"s-2", "s-3"}
    assert all(name not in statuses for name in left), statuses  # gone from the queue
    assert statuses["s-1"] == "Success"
    assert _queued(work_repo) == []
    assert time.monotonic() - started < 600  # not the 3000 s timeout


# A `dvc` first on PATH for the grid script: it holds the script's first `dvc queue remove`
# until a worker has started one of the tasks to remove, which is the race between the status
# the script read and its remove (DVC then removes none of them). Everything else, and then the
# remove itself, is the real dvc.
RACING_DVC = """#!/usr/bin/env bash
if [[ "$1 $2" == "queue remove" && ! -e "$RACE_MARK" ]]; then
    for _ in $(seq 240); do
        started="$("$REAL_DVC" queue status | awk '$NF == "Running" {print $1}')"
        for id in "${@:3}"; do
            if grep -qx "$id" <<<"$started"; then
                echo "$id" >"$RACE_MARK"
                break 2
            fi
        done
        sleep 1
    done
fi
exec "$REAL_DVC" "$@"
"""


@pytest.mark.slow
@pytest.mark.long(60, waits=True)
def test_a_timeout_kills_and_unqueues_this_runs_experiments(work_repo: Repo, tmp_path: Path):
    """On a timeout the script removes its queued experiments and interrupts its running one,
    even when a worker starts a queued one between the script's `dvc queue status` and its
    `dvc queue remove` (forced here by RACING_DVC)."""
    _commit_base(work_repo)
    racing = tmp_path / "bin" / "dvc"
    racing.parent.mkdir()
    racing.write_text(RACING_DVC)
    racing.chmod(0o755)
    mark = tmp_path / "raced"
    started = time.monotonic()
    result = _run_grid(
        work_repo.path,
        tmp_path / "summary.md",
        MLPIPE_GRID="train.seed=5; train.seed=6",
        MLPIPE_EXP_PREFIX="k",
        # The timeout must come while one of the two is still queued: k-1 takes ~10 s once
        # the worker has started, so a timeout of 3 s, checked every 2 s, always does.
        MLPIPE_TIMEOUT_SECONDS="3",
        MLPIPE_POLL_SECONDS="2",
        PATH=f"{racing.parent}{os.pathsep}{base_env()['PATH']}",
        REAL_DVC=str(BIN / "dvc"),
        RACE_MARK=str(mark),
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    elapsed = re.search(
        r"run-grid: error: experiments still queued or running after (\d+) s "
        r"\(MLPIPE_TIMEOUT_SECONDS=3\); stopping this run's experiments",
        result.stderr,
    )
    assert elapsed and 3 <= int(elapsed.group(1)) < 60, out  # wall-clock seconds, not sleeps
    assert mark.exists(), "the first `dvc queue remove` did not wait for a task to start"
    tasks = _tasks(work_repo)
    statuses = {name: status for _, name, status in tasks}
    raced = {task: name for task, name, _ in tasks}[mark.read_text().strip()]
    # k-2 waits for k-1 (one worker). At the timeout k-1 was running and the remove waited for
    # k-2 to start; or, on a slow start, both were queued and it waited for k-1.
    assert raced in ("k-1", "k-2"), raced
    assert "could not remove" not in out
    removed = re.search(r"run-grid: removed the experiment\(s\) this run had queued: (.+)", out)
    if raced == "k-1":
        assert removed and removed.group(1) == "k-2", out
    else:
        assert not removed, out  # nothing of it was still queued
        assert statuses["k-1"] == "Success", statuses
    assert f"run-grid: interrupted the experiment(s) this run had running: {raced}" in out
    assert time.monotonic() - started < 300
    deadline = time.monotonic() + 120
    while _statuses(work_repo).get(raced) == "Running" and time.monotonic() < deadline:
        time.sleep(2)  # `dvc queue kill` interrupts it like Ctrl-C
    statuses = _statuses(work_repo)
    assert statuses.get(raced) != "Running", statuses
    assert _queued(work_repo) == []
