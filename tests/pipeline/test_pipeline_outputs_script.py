""".github/scripts/pipeline-outputs.sh, the CI step that gets the pipeline's outputs.

Each test plays one pull-request situation in a real git clone, with the environment the PR
workflow gives the script (AWS_* secrets, MLPIPE_S3_ENDPOINT, MLPIPE_SAME_REPO), against moto's
S3 server or a local directory remote, and checks which stages ran and what reached the remote.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from support.repo import CHEAP_IMPORTANCE, Repo, make_repo, ran_stages
from support.s3 import SECRET_KEY, S3Server, data_md5s, new_bucket, use_s3

pytestmark = pytest.mark.slow

SCRIPT = ".github/scripts/pipeline-outputs.sh"


def run_script(repo: Repo, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the clone's own copy of the script, as CI does, without raising on failure."""
    return repo.run("bash", SCRIPT, check=False, env=env)


def ci_env(s3: S3Server, same_repo: bool) -> dict[str, str]:
    return {
        **s3.env(),
        "MLPIPE_S3_ENDPOINT": s3.endpoint,
        "MLPIPE_SAME_REPO": "true" if same_repo else "false",
    }


def summary(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The script's own log lines (without the prefix)."""
    prefix = "pipeline-outputs: "
    text = result.stdout + result.stderr
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


def _predictions_md5(lock_text: str) -> str:
    lock = yaml.safe_load(lock_text)
    outs = lock["stages"]["evaluate"]["outs"]
    return next(o["md5"] for o in outs if o["path"] == "data/processed/test_predictions.parquet")


def model_md5(repo: Repo) -> str:
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"]["train"]["outs"])


@pytest.fixture
def published(work_repo: Repo, s3: S3Server) -> tuple[Repo, str]:
    """main, as the team keeps it: the S3 bucket committed in .dvc/config, and everything
    (outputs and run-cache) pushed after the last `dvc repro`."""
    bucket = new_bucket(s3)
    work_repo.dvc("remote", "modify", "s3", "url", f"s3://{bucket}/mlpipe")
    work_repo.commit("store data in our bucket")
    work_repo.dvc("remote", "modify", "--local", "s3", "endpointurl", s3.endpoint)
    work_repo.dvc("push", "-r", "s3", "--run-cache", env=s3.env())
    return work_repo, bucket


def test_unchanged_pipeline_runs_no_stage_and_pushes_nothing(
    published: tuple[Repo, str], s3: S3Server, tmp_path: Path
) -> None:
    main, bucket = published
    before = s3.objects(bucket)
    ci = main.clone(tmp_path / "ci")
    result = run_script(ci, ci_env(s3, same_repo=True))
    assert result.returncode == 0, result.stderr
    assert ran_stages(result.stdout) == []
    lines = summary(result)
    assert "stages run: none" in lines
    assert "nothing to push: every output came from the cache or the remote" in lines
    assert s3.objects(bucket) == before
    assert data_md5s(ci) == data_md5s(main)  # outputs pulled, results as committed
    output = result.stdout + result.stderr
    assert SECRET_KEY not in output and s3.endpoint not in output


@pytest.mark.long(44)
def test_changed_params_same_repo_pushes_outputs_and_run_cache_for_the_reviewer(
    published: tuple[Repo, str], s3: S3Server, tmp_path: Path
) -> None:
    main, bucket = published
    main.set_params(**{"train.hist_gradient_boosting.max_iter": 20, **CHEAP_IMPORTANCE})
    main.commit("PR: fewer boosting rounds (dvc.lock not updated)")
    before = s3.objects(bucket)

    ci = main.clone(tmp_path / "ci")
    # The base (main before the PR's commit): its per-row test predictions reach the cache.
    base_md5 = _predictions_md5(main.git("show", "HEAD~1:dvc.lock").stdout)
    result = run_script(ci, {**ci_env(s3, same_repo=True), "MLPIPE_BASE_REF": "HEAD~1"})
    assert result.returncode == 0, result.stderr
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    lines = summary(result)
    assert "stages run: train evaluate" in lines
    assert "pushed outputs and run-cache to remote 's3'" in lines
    assert "base predictions of HEAD~1: in the DVC cache" in lines
    assert f"fetched `data/processed/test_predictions.parquet` of `HEAD~1` (md5 {base_md5})" in (
        result.stdout + result.stderr
    )
    assert (ci.path / ".dvc/cache/files/md5" / base_md5[:2] / base_md5[2:]).is_file()
    assert base_md5 != _predictions_md5((ci.path / "dvc.lock").read_text())
    assert any(line.startswith("note: dvc.lock differs from the committed one") for line in lines)
    after = s3.objects(bucket)
    added = set(after) - set(before)
    new_model = model_md5(ci)
    assert new_model != model_md5(main)
    assert f"mlpipe/files/md5/{new_model[:2]}/{new_model[2:]}" in added
    assert len([key for key in added if key.startswith("mlpipe/runs/")]) == 1  # train's run
    output = result.stdout + result.stderr
    assert SECRET_KEY not in output and s3.endpoint not in output

    # The reviewer's fresh clone of the PR: the new model comes from the remote, not a rerun.
    reviewer = main.clone(tmp_path / "reviewer")
    use_s3(reviewer, s3, bucket)
    pulled = reviewer.dvc("repro", "--pull", env=s3.env())
    assert "Stage 'train' is cached - skipping run, checking out outputs" in pulled.stdout
    assert "train" not in ran_stages(pulled.stdout)
    assert model_md5(reviewer) == new_model
    assert data_md5s(reviewer) == data_md5s(ci)


def test_changed_params_from_another_repo_reproduces_but_does_not_push(
    published: tuple[Repo, str], s3: S3Server, tmp_path: Path
) -> None:
    main, bucket = published
    main.set_params(**{"train.hist_gradient_boosting.max_iter": 20, **CHEAP_IMPORTANCE})
    main.commit("PR from a fork")
    before = s3.objects(bucket)
    ci = main.clone(tmp_path / "ci")
    result = run_script(ci, ci_env(s3, same_repo=False))
    assert result.returncode == 0, result.stderr
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    assert (
        "not pushing: the pull request does not come from this repository (MLPIPE_SAME_REPO=false)"
        in summary(result)
    )
    assert s3.objects(bucket) == before


def test_fork_without_credentials_reproduces_on_the_embedded_data(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "fork", rows=2000)
    # Secrets a fork's run does not get arrive as empty strings.
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "MLPIPE_S3_ENDPOINT": ""}
    result = run_script(repo, {**env, "MLPIPE_SAME_REPO": "false", "GITHUB_BASE_REF": "main"})
    assert result.returncode == 0, result.stderr
    stages = ["generate", "ingest", "validate", "audit", "split", "train", "evaluate", "drift"]
    assert ran_stages(result.stdout) == stages
    lines = summary(result)
    assert lines[0].startswith("no credentials for remote 's3'")
    assert f"stages run: {' '.join(stages)}" in lines
    assert "not pushing: no credentials for remote 's3'" in lines
    assert (
        "base predictions of origin/main: not fetched (no credentials for remote 's3'); the "
        "report reads them from the DVC cache if they are there"
    ) in lines
    assert "Pulling" not in result.stdout
    assert not (repo.path / ".dvc/config.local").exists()  # remote untouched
    metrics = repo.read_json("data/results/metrics.json")
    assert metrics["test"]["rows"] == 400 and metrics["train"]["rows"] == 1600


def test_a_store_that_is_down_fails_without_printing_the_endpoint(
    published: tuple[Repo, str], s3: S3Server, tmp_path: Path
) -> None:
    """The review's case: DVC's own connection error printed the endpoint URL (a secret)."""
    main, _ = published
    ci = main.clone(tmp_path / "ci")
    s3.stop()
    result = run_script(ci, ci_env(s3, same_repo=True))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Could not connect to the endpoint URL" in output  # DVC's message, kept
    assert '"***/' in output and s3.endpoint not in output  # with the endpoint masked
    assert SECRET_KEY not in output


def test_placeholder_bucket_with_credentials_is_a_clear_error(
    s3: S3Server, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    result = run_script(repo, ci_env(s3, same_repo=True))
    assert result.returncode == 2
    assert (
        "remote 's3' still has the placeholder bucket: set yours with "
        "'dvc remote modify s3 url s3://<bucket>/<prefix>' and commit .dvc/config"
    ) in result.stderr
    assert "Running stage" not in result.stdout


def test_remote_override_uses_a_local_directory_without_credentials(
    work_repo: Repo, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    work_repo.dvc("remote", "modify", "--local", "local", "url", str(store))
    work_repo.dvc("push", "--run-cache")
    ci = work_repo.clone(tmp_path / "ci")
    ci.dvc("remote", "modify", "--local", "local", "url", str(store))
    result = run_script(ci, {"MLPIPE_DVC_REMOTE": "local", "MLPIPE_SAME_REPO": "true"})
    assert result.returncode == 0, result.stderr
    lines = summary(result)
    assert "using remote 'local': pulling what is cached, running only what is not" in lines
    assert "stages run: none" in lines
    assert data_md5s(ci) == data_md5s(work_repo)


def test_a_failed_push_is_a_warning_and_the_results_stay(work_repo: Repo, tmp_path: Path) -> None:
    # A remote the CI can read but not write (read-only keys): main's objects are there, and
    # every other object directory is a plain file, so pushing the PR's new model fails.
    store = tmp_path / "store"
    work_repo.dvc("remote", "modify", "--local", "local", "url", str(store))
    work_repo.dvc("push", "--run-cache")
    for prefix in (f"{i:02x}" for i in range(256)):
        if not (store / "files/md5" / prefix).exists():
            (store / "files/md5" / prefix).write_text("not a directory\n")
    work_repo.set_params(**{"train.hist_gradient_boosting.max_iter": 20, **CHEAP_IMPORTANCE})
    work_repo.commit("PR: fewer boosting rounds")
    ci = work_repo.clone(tmp_path / "ci")
    ci.dvc("remote", "modify", "--local", "local", "url", str(store))
    result = run_script(ci, {"MLPIPE_DVC_REMOTE": "local", "MLPIPE_SAME_REPO": "true"})
    assert result.returncode == 0, result.stderr
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    lines = summary(result)
    assert (
        "warning: could not push to remote 'local' (DVC's error above; pushing needs write "
        "access): the report goes on, but 'dvc repro --pull' will recompute these stages"
    ) in lines
    assert "::warning::dvc push to remote 'local' failed" in result.stdout
    assert (ci.path / "data/results/metrics.json").is_file()  # the report job can go on


def test_unknown_remote_override_is_a_clear_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    result = run_script(repo, {"MLPIPE_DVC_REMOTE": "gcs"})
    assert result.returncode == 2
    assert "no DVC remote named 'gcs'" in result.stderr
