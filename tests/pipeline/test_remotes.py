"""Sharing data and results through DVC remotes: the default local remote and S3 (moto).

Real git clones and real `dvc` commands in temporary directories; S3 is moto's threaded
server on 127.0.0.1 (tests/support/s3.py), reached by `dvc` over HTTP with dummy credentials
that exist only in the subprocess environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.repo import CHEAP_IMPORTANCE, PROJECT, Repo, make_repo, ran_stages
from support.s3 import SECRET_KEY, S3Server, data_md5s, new_bucket, no_aws_config_env, use_s3

pytestmark = pytest.mark.slow

# Outputs a fresh clone cannot have without the remote (DVC-cached), and the git-committed ones.
CACHED = (
    "data/raw/churn.parquet",
    "data/interim/ingested.parquet",
    "data/interim/unlabelled.parquet",
    "data/processed/train.parquet",
    "data/processed/test.parquet",
    "data/model/model.skops",
    "data/processed/test_predictions.parquet",
)


def test_project_config_has_a_local_default_and_an_s3_remote_without_secrets(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    # The local remote is a directory next to the checkout (relative to .dvc/).
    local_url = repo.dvc("config", "remote.local.url").stdout.strip()
    assert local_url == str(tmp_path / "mlpipe-dvc-remote")
    assert repo.dvc("config", "remote.s3.url").stdout.strip() == "s3://your-bucket/mlpipe"
    assert repo.dvc("config", "core.remote").stdout.strip() == "local"
    config = (PROJECT / ".dvc/config").read_text()
    for key in ("access_key_id", "secret_access_key", "session_token", "credentialpath"):
        assert key not in config

    # One command selects S3; credentials put in .dvc/config.local never reach git.
    repo.dvc("remote", "default", "s3")
    assert repo.dvc("config", "core.remote").stdout.strip() == "s3"
    repo.dvc("remote", "modify", "--local", "s3", "secret_access_key", SECRET_KEY)
    assert SECRET_KEY in (repo.path / ".dvc/config.local").read_text()
    assert repo.git("check-ignore", ".dvc/config.local").stdout.strip() == ".dvc/config.local"
    repo.git("add", "-A")
    staged = repo.git("diff", "--cached", "--name-only").stdout.split()
    assert staged == [".dvc/config"]
    assert SECRET_KEY not in repo.git("diff", "--cached").stdout


def test_s3_push_then_fresh_clone_pull_is_byte_identical(
    work_repo: Repo, s3: S3Server, tmp_path: Path
) -> None:
    bucket = new_bucket(s3)
    use_s3(work_repo, s3, bucket)
    pushed = work_repo.dvc("push", "-r", "s3", env=s3.env())
    assert "7 files pushed" in pushed.stdout
    stored = s3.objects(bucket, "mlpipe/")
    lock = yaml.safe_load((work_repo.path / "dvc.lock").read_text())
    cached_md5s = {
        out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] in CACHED
    }
    assert {f"mlpipe/files/md5/{m[:2]}/{m[2:]}" for m in cached_md5s} == set(stored)
    assert SECRET_KEY not in pushed.stdout + pushed.stderr

    clone = work_repo.clone(tmp_path / "clone")
    assert not (clone.path / "data/model/model.skops").exists()
    use_s3(clone, s3, bucket)
    pulled = clone.dvc("pull", env=s3.env())
    assert "7 files added" in pulled.stdout
    before, after = data_md5s(work_repo), data_md5s(clone)
    assert set(CACHED) <= set(after)
    assert after == before
    status = clone.dvc("status", "-c", env=s3.env()).stdout
    assert "Cache and remote 's3' are in sync" in status
    assert ran_stages(clone.dvc("repro").stdout) == []


def test_fresh_clone_repro_pull_runs_no_stage_and_gets_the_run_cache(
    work_repo: Repo, s3: S3Server, tmp_path: Path
) -> None:
    bucket = new_bucket(s3)
    use_s3(work_repo, s3, bucket)
    work_repo.dvc("push", "--run-cache", env=s3.env())
    runs = {key for key in s3.objects(bucket, "mlpipe/") if key.startswith("mlpipe/runs/")}
    # generate, split and train have only DVC-cached outputs: DVC records their runs.
    assert len(runs) == 3

    clone = work_repo.clone(tmp_path / "clone")
    use_s3(clone, s3, bucket)
    result = clone.dvc("repro", "--pull", env=s3.env())
    assert ran_stages(result.stdout) == []
    assert "Pulling data for stage: 'train'" in result.stdout
    assert data_md5s(clone) == data_md5s(work_repo)
    cache = clone.path / ".dvc/cache"
    local_runs = {str(p.relative_to(cache)) for p in (cache / "runs").rglob("*") if p.is_file()}
    assert {key.removeprefix("mlpipe/") for key in runs} == local_runs
    # Nothing git tracks changed: dvc.lock and the results are the committed ones.
    assert clone.git("status", "--porcelain", "--untracked-files=no").stdout == ""


@pytest.mark.long(38)
def test_uncommitted_lock_train_comes_from_the_run_cache(
    work_repo: Repo, s3: S3Server, tmp_path: Path
) -> None:
    """A params change committed without its dvc.lock (what CI sees on such a pull request).

    The machine that reproduced it pushed outputs and run-cache; a fresh clone's
    `dvc repro --pull` restores train from the run-cache without running it. evaluate still
    runs there: its results are git-committed (cache: false), and DVC keeps stages with such
    outputs out of the run-cache. It reproduces them byte for byte.
    """
    bucket = new_bucket(s3)
    use_s3(work_repo, s3, bucket)
    work_repo.set_params(**{"train.hist_gradient_boosting.max_iter": 20, **CHEAP_IMPORTANCE})
    work_repo.git("commit", "-q", "-am", "fewer boosting rounds (lock not committed)")
    reproduced = work_repo.dvc("repro")
    assert ran_stages(reproduced.stdout) == ["train", "evaluate"]
    work_repo.dvc("push", "--run-cache", env=s3.env())

    clone = work_repo.clone(tmp_path / "clone")
    use_s3(clone, s3, bucket)
    result = clone.dvc("repro", "--pull", env=s3.env())
    assert "Stage 'train' is cached - skipping run, checking out outputs" in result.stdout
    assert ran_stages(result.stdout) == ["evaluate"]
    assert data_md5s(clone) == data_md5s(work_repo)
    assert (clone.path / "dvc.lock").read_text() == (work_repo.path / "dvc.lock").read_text()


def test_push_without_credentials_is_a_clear_error(work_repo: Repo, s3: S3Server) -> None:
    use_s3(work_repo, s3, new_bucket(s3))
    result = work_repo.dvc("push", "-r", "s3", check=False, env=no_aws_config_env())
    assert result.returncode != 0
    assert "Unable to locate credentials" in result.stderr


def test_push_to_a_missing_bucket_is_a_clear_error(work_repo: Repo, s3: S3Server) -> None:
    use_s3(work_repo, s3, "mlpipe-no-such-bucket")
    result = work_repo.dvc("push", "-r", "s3", check=False, env=s3.env())
    assert result.returncode != 0
    assert "The specified bucket does not exist" in result.stderr
    assert "NoSuchBucket" in result.stderr
    assert SECRET_KEY not in result.stdout + result.stderr


@pytest.mark.timing
def test_push_interrupted_by_a_server_stop_fails_then_a_retry_completes(
    work_repo: Repo, s3: S3Server, tmp_path: Path
) -> None:
    """The S3 server goes down in the middle of a push; a second push after restart finishes.

    How "in the middle" is made real: besides the pipeline's 7 outputs, the repository tracks
    a directory of 100 small files (`dvc add`), pushed with `-j 1` so uploads are sequential.
    The server lets the first upload through and holds the second (``hold_uploads_after``);
    the test waits for that event, stops the server, then lets the held request fail. So the
    bucket holds exactly one object, whatever the speed of the push. That push runs with
    AWS_MAX_ATTEMPTS=1 so each remaining file fails at once instead of after retries (which
    only makes the failure slower). The restarted server keeps moto's in-process state, on
    the same port.
    """
    extra = work_repo.path / "data/extra"
    extra.mkdir()
    for i in range(100):
        (extra / f"part-{i:03d}.txt").write_text(f"row {i}\n" * (i + 1))
    work_repo.dvc("add", "data/extra")
    work_repo.commit("track an extra directory")
    bucket = new_bucket(s3)
    use_s3(work_repo, s3, bucket)
    total = 7 + 100 + 1  # pipeline outputs, the files, the directory listing (.dir)

    gate = s3.hold_uploads_after(1, then=s3.stop)
    first = work_repo.dvc(
        "push", "-j", "1", check=False, env={**s3.env(), "AWS_MAX_ATTEMPTS": "1"}
    )
    assert gate.held.is_set() and gate.done.wait(timeout=60)
    assert first.returncode != 0
    assert "Could not connect to the endpoint URL" in first.stderr
    assert "failed to push data to the cloud" in first.stderr

    s3.start()
    partial = s3.objects(bucket, "mlpipe/")
    assert len(partial) == 1  # the first upload, and nothing after the stop
    second = work_repo.dvc("push", env=s3.env())
    assert f"{total - len(partial)} files pushed" in second.stdout
    assert len(s3.objects(bucket, "mlpipe/")) == total

    clone = work_repo.clone(tmp_path / "clone")
    use_s3(clone, s3, bucket)
    clone.dvc("pull", env=s3.env())
    assert data_md5s(clone) == data_md5s(work_repo)
    assert len(list((clone.path / "data/extra").iterdir())) == 100
    assert "in sync" in clone.dvc("status", "-c", env=s3.env()).stdout


def test_default_local_remote_round_trip_needs_no_setup(work_repo: Repo, tmp_path: Path) -> None:
    """The committed default remote is ../mlpipe-dvc-remote next to the checkout.

    work_repo lives at tmp_path/repo, so the remote is tmp_path/mlpipe-dvc-remote, and a clone
    at tmp_path/clone shares it with no configuration at all.
    """
    remote = tmp_path / "mlpipe-dvc-remote"
    assert not remote.exists()
    pushed = work_repo.dvc("push", "--run-cache")
    assert "files pushed" in pushed.stdout
    stored = {p.name for p in (remote / "files/md5").rglob("*") if p.is_file()}
    assert len(stored) == 7
    assert len([p for p in (remote / "runs").rglob("*") if p.is_file()]) == 3

    clone = work_repo.clone(tmp_path / "clone")
    assert not (clone.path / ".dvc/config.local").exists()
    result = clone.dvc("repro", "--pull")
    assert ran_stages(result.stdout) == []
    assert data_md5s(clone) == data_md5s(work_repo)
    assert "Cache and remote 'local' are in sync" in clone.dvc("status", "-c").stdout


def test_local_remote_url_is_overridable_per_checkout(work_repo: Repo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared" / "dvc-store"
    work_repo.dvc("remote", "modify", "--local", "local", "url", str(elsewhere))
    work_repo.dvc("push")
    assert len([p for p in (elsewhere / "files/md5").rglob("*") if p.is_file()]) == 7
    assert not (tmp_path / "mlpipe-dvc-remote").exists()
    # The override is in .dvc/config.local, which git ignores: the project config is untouched.
    assert str(elsewhere) not in (work_repo.path / ".dvc/config").read_text()
    assert work_repo.git("status", "--porcelain", "--untracked-files=no").stdout == ""
