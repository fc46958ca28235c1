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


def _run_grid(
    cwd: Path, summary: Path, timeout: int = 900, **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = base_env(cwd / "src")
    for name in THREAD_VARIABLES:
        full_env.pop(name, None)  # the script's own default is under test
    # A narrow terminal's width, as a CI runner or a shell may export: nothing the script reads
    # (ps, dvc) may depend on it.
    full_env.update(
        MLPIPE_SUMMARY=str(summary), MLPIPE_POLL_SECONDS=POLL_SECONDS, COLUMNS="40", LINES="10"
    )
    full_env.update(env)
    script = cwd / SCRIPT if (cwd / SCRIPT).exists() else PROJECT / SCRIPT  # a repo's own copy
    return subprocess.run(
        ["bash", str(script)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
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
    rows = (ln.split() for ln in lines[1:] if not ln.startswith("Worker status:"))
    return [(f[0], f[1], f[-1]) for f in rows if len(f) >= 4]


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
            {"MLPIPE_GRID": "train.seed=1\n# a comment\n-S train.estimator=lightgbm"},
            [
                "grid item 3 (train.estimator=lightgbm): 'train.estimator' is 'lightgbm'; allowed "
                "values: 'logistic_regression', 'random_forest', 'hist_gradient_boosting', "
                "'xgboost'"
            ],
        ),
        (  # every bad item is named, not only the first
            {"MLPIPE_GRID": "train.logistic_regression.C=-1; train.seed=1; trian.seed=2"},
            [
                "grid item 1 (train.logistic_regression.C=-1): 'train.logistic_regression.C' "
                "is -1.0; allowed range: [1e-09, inf]",
                "grid item 3 (trian.seed=2): unknown section 'trian'. Allowed sections: audit, "
                "data,",
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


@pytest.mark.timing
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
    # The first grid's workers exit on their own once the queue is empty; a second grid started
    # while one is still alive would be run by it ("Started '0' new workers").
    _wait_until_no_worker_is_alive(work_repo)
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


def _wait_until_no_worker_is_alive(repo: Repo) -> None:
    """Wait for the event "every queue worker DVC spawned in this checkout has exited" (they
    exit ~10 s after the queue is empty). dvc-task records each worker in
    .dvc/tmp/exps/celery/dvc-exp-worker-N.json (written whole, then renamed) and writes its
    return code there when the worker's process ends. `dvc queue status`'s "0 active, 0 idle"
    is not that event: it asks the workers over Celery with a 1 s timeout, and a worker too busy
    to answer in time counts as gone."""
    deadline = time.monotonic() + 120
    while True:
        infos = _worker_records(repo)
        # A worker just spawned (daemonized) writes its file a moment later: wait for it too.
        alive = [i["pid"] for i in infos if i.get("returncode") is None]
        if infos and not alive:
            return
        assert time.monotonic() < deadline, f"queue worker(s) {alive or 'spawned'} did not exit"
        time.sleep(0.5)


@pytest.mark.timing
@pytest.mark.slow
def test_a_worker_that_misses_its_shutdown_is_stopped_and_holds_nothing(
    work_repo: Repo, tmp_path: Path
) -> None:
    # The worker of this run never stops by itself (support/deaf_worker): the script must stop
    # it once the queue is empty, and the worker must not hold the script's output open (this
    # test reads it to the end: before, it waited until the timeout below).
    _commit_base(work_repo)
    deaf = PROJECT / "tests" / "support" / "deaf_worker"
    result = _run_grid(
        work_repo.path,
        tmp_path / "summary.md",
        MLPIPE_GRID="train.hist_gradient_boosting.max_iter=20",
        MLPIPE_EXP_PREFIX="deaf",
        PYTHONPATH=f"{work_repo.path / 'src'}{os.pathsep}{deaf}",
        timeout=300,
    )
    out = result.stdout + result.stderr
    log = _worker_log(work_repo)
    records = _worker_records(work_repo)
    seen = f"{out}\n--- worker logs ---\n{log}\n--- worker records ---\n{records}"
    print(seen)  # whole, in the report's captured output, should an assertion below fail
    assert result.returncode == 0, seen
    assert "run-grid: all 1 experiment(s) succeeded" in out, seen
    assert "run-grid: stopped 1 idle queue worker(s) (the queue is empty)" in out, seen
    assert "monitor: shutting down" not in log  # it really missed its own shutdown
    assert "Got shutdown from remote" not in log
    # Its record has the exit status: the worker process has ended, when the script returned.
    assert [r["returncode"] for r in records] == [0], seen


def _statuses(repo: Repo) -> dict[str, str]:
    """name -> status of every task `dvc queue status` lists."""
    return {name: status for _, name, status in _tasks(repo)}


def _celery(repo: Repo) -> Path:
    """Where dvc-task keeps the checkout's queue workers' records and logs."""
    return repo.path / ".dvc" / "tmp" / "exps" / "celery"


def _worker_records(repo: Repo) -> list[dict]:
    """dvc-task's record of each queue worker (pid; returncode once the process has ended)."""
    return [json.loads(p.read_text()) for p in sorted(_celery(repo).glob("dvc-exp-worker-*.json"))]


def _worker_log(repo: Repo) -> str:
    return "".join(p.read_text() for p in sorted(_celery(repo).glob("dvc-exp-worker-*.out")))


@pytest.mark.timing
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
    _wait_until_no_worker_is_alive(work_repo)
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
    # How many experiments the first worker takes before it obeys the stale stop (one, or
    # none) is celery's business, not the script's: either way one restart runs the rest.
    assert re.search(
        r"run-grid: [12] experiment\(s\) queued but no queue worker alive for \d+ s; "
        r"starting the workers again",
        out,
    ), out
    assert out.count("starting the workers again") == 1, out
    assert "run-grid: all 2 experiment(s) succeeded" in out
    assert "Got shutdown from remote" in _worker_log(work_repo)  # DVC's worker saw the stale one
    statuses = _statuses(work_repo)
    assert (statuses["r5-1"], statuses["r5-2"]) == ("Success", "Success"), statuses
    assert _queued(work_repo) == []


# A `dvc` first on PATH for the grid script, standing for someone who runs `dvc queue stop`
# again and again: each `dvc queue start` of the script starts the worker(s), waits until one
# is running an experiment (the event, read from the real `dvc queue status`), then stops the
# workers. A worker told to stop finishes the experiment it runs and exits, so each worker the
# script starts runs exactly one experiment, however fast it starts.
STOPPING_DVC = """#!/usr/bin/env bash
if [[ "$1 $2" == "queue start" ]]; then
    "$REAL_DVC" "$@" || exit
    for _ in $(seq 300); do
        "$REAL_DVC" queue status | grep -q '^Worker status: 1 active' && break
        sleep 1
    done
    exec "$REAL_DVC" queue stop
fi
exec "$REAL_DVC" "$@"
"""


def _on_path(tmp_path: Path, name: str, text: str) -> Path:
    """Write an executable ``name`` into tmp_path/bin (first on the PATH the tests give)."""
    path = tmp_path / "bin" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.mark.timing
@pytest.mark.slow
@pytest.mark.long(120, waits=True)
def test_a_queue_whose_workers_keep_stopping_fails_fast_and_unqueues(
    work_repo: Repo, tmp_path: Path
) -> None:
    """Someone stops the queue's workers again and again while the grid runs (STOPPING_DVC):
    every worker runs one experiment and exits. After one restart of the workers the script
    gives up (instead of polling until MLPIPE_TIMEOUT_SECONDS) and removes what is left of its
    grid from the queue."""
    _commit_base(work_repo)
    stopping = _on_path(tmp_path, "dvc", STOPPING_DVC)
    started = time.monotonic()
    result = _run_grid(
        work_repo.path,
        tmp_path / "summary.md",
        MLPIPE_GRID="train.hist_gradient_boosting.max_iter=10; "
        "train.hist_gradient_boosting.max_iter=11; train.hist_gradient_boosting.max_iter=12",
        MLPIPE_EXP_PREFIX="s",
        MLPIPE_WORKER_GRACE_SECONDS="20",
        MLPIPE_TIMEOUT_SECONDS="3000",
        PATH=f"{stopping.parent}{os.pathsep}{base_env()['PATH']}",
        REAL_DVC=str(BIN / "dvc"),
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 1, out + err
    assert re.search(
        r"run-grid: 2 experiment\(s\) queued but no queue worker alive for \d+ s; "
        r"starting the workers again",
        out,
    ), out
    assert (
        "run-grid: error: 1 experiment(s) queued but no queue worker alive, even after "
        "starting the workers again; the workers' logs are in "
        ".dvc/tmp/exps/celery/dvc-exp-worker-*.out"
    ) in err, err
    assert "run-grid: removed the experiment(s) this run had queued: s-3" in out, out
    statuses = _statuses(work_repo)
    assert (statuses["s-1"], statuses["s-2"]) == ("Success", "Success"), statuses
    assert "s-3" not in statuses  # gone from the queue
    assert _queued(work_repo) == []
    assert time.monotonic() - started < 600  # not the 3000 s timeout


# Two programs first on PATH for the grid script force the order of events on a timeout:
# - HOLDING_MLPIPE: `mlpipe train` inside a queued experiment (DVC sets DVC_EXP_NAME in its
#   stages' environment) waits until $HOLD_DIR/release-<name> exists, so an experiment stays
#   running until it is let go; it says it got there with $HOLD_DIR/started-<name>.
# - RACING_DVC: after the script's `dvc queue start`, its `dvc queue status` waits until an
#   experiment is held in train, so the timeout always finds k-1 running and k-2, k-3 queued.
#   Its first `dvc queue remove` (of k-2 and k-3) lets the running k-1 go and waits until a
#   worker has started k-2: the race between the status the script read and its remove (DVC
#   then removes none). k-2 is then held in train, so it is running when the script kills it.
# Everything else is the real mlpipe and the real dvc.
HOLDING_MLPIPE = """#!/usr/bin/env bash
if [[ "$1" == train && -n "${DVC_EXP_NAME:-}" ]]; then
    touch "$HOLD_DIR/started-$DVC_EXP_NAME"
    for _ in $(seq 3000); do
        [[ -e "$HOLD_DIR/release-$DVC_EXP_NAME" ]] && break
        sleep 0.2
    done
fi
exec "$REAL_MLPIPE" "$@"
"""
RACING_DVC = """#!/usr/bin/env bash
case "$1 $2" in
"queue start")
    "$REAL_DVC" "$@" || exit
    touch "$HOLD_DIR/queue-started"
    exit 0
    ;;
"queue status")
    if [[ -e "$HOLD_DIR/queue-started" ]]; then
        for _ in $(seq 1500); do
            compgen -G "$HOLD_DIR/started-*" >/dev/null && break
            sleep 0.2
        done
    fi
    ;;
"queue remove")
    if [[ ! -e "$RACE_MARK" ]]; then
        for name in $("$REAL_DVC" queue status | awk 'NR > 1 && $NF == "Running" {print $2}'); do
            touch "$HOLD_DIR/release-$name"
        done
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
    ;;
esac
exec "$REAL_DVC" "$@"
"""


@pytest.mark.timing
@pytest.mark.slow
@pytest.mark.long(70, waits=True)
def test_a_timeout_kills_and_unqueues_this_runs_experiments(work_repo: Repo, tmp_path: Path):
    """On a timeout the script removes its queued experiments and interrupts its running one,
    and waits until it has ended, even when a worker starts a queued one between the script's
    `dvc queue status` and its `dvc queue remove`, and kills it before its process exists.
    The order of events is forced (HOLDING_MLPIPE, RACING_DVC): nothing depends on how fast the
    worker starts."""
    _commit_base(work_repo)
    racing = _on_path(tmp_path, "dvc", RACING_DVC)
    _on_path(tmp_path, "mlpipe", HOLDING_MLPIPE)
    hold = tmp_path / "hold"
    hold.mkdir()
    mark = tmp_path / "raced"
    result = _run_grid(
        work_repo.path,
        tmp_path / "summary.md",
        MLPIPE_GRID="train.seed=5; train.seed=6; train.seed=7",
        MLPIPE_EXP_PREFIX="k",
        MLPIPE_TIMEOUT_SECONDS="3",
        MLPIPE_POLL_SECONDS="2",
        PATH=f"{racing.parent}{os.pathsep}{base_env()['PATH']}",
        REAL_DVC=str(BIN / "dvc"),
        REAL_MLPIPE=str(BIN / "mlpipe"),
        HOLD_DIR=str(hold),
        RACE_MARK=str(mark),
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    elapsed = re.search(
        r"run-grid: error: experiments still queued or running after (\d+) s "
        r"\(MLPIPE_TIMEOUT_SECONDS=3\); stopping this run's experiments",
        result.stderr,
    )
    assert elapsed and int(elapsed.group(1)) >= 3, out  # wall-clock seconds, not sleeps
    # The timeout found k-1 held in train, k-2 and k-3 queued (the status line it printed).
    assert re.search(r"^\w+\s+k-1\s.*Running$", result.stdout, re.M), out
    assert re.search(r"^\w+\s+k-3\s.*Queued$", result.stdout, re.M), out
    tasks = {name: (task, status) for task, name, status in _tasks(work_repo)}
    assert mark.read_text().strip() == tasks["k-2"][0]  # the remove raced with k-2's start
    assert "could not remove" not in out and "could not interrupt" not in out
    assert "run-grid: removed the experiment(s) this run had queued: k-3" in out
    assert "run-grid: interrupted the experiment(s) this run had running: k-2" in out
    assert "before it could be interrupted" not in out
    # The script returned only once k-2 had ended: interrupted (Failed), not still running.
    assert {name: status for name, (_, status) in tasks.items()} == {
        "k-1": "Success",
        "k-2": "Failed",
    }, tasks
    assert (hold / "started-k-2").exists() and not (hold / "release-k-2").exists()
    assert not (hold / "started-k-3").exists()  # never ran
