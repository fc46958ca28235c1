"""Loading revisions: the base from git only (with the base's own paths), the PR from the
workspace. Real git in a temporary directory; no dvc needed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from mlpipe.report.sources import GitError, git_revision, uncommitted_files, workspace_revision
from support.repo import base_env


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, env=base_env(), check=True, capture_output=True, text=True
    ).stdout.strip()


def _write(root: Path, rel: str, data: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data) if rel.endswith(".yaml") else json.dumps(data)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "r"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    # The base keeps its results somewhere else than the PR will, and has a key we do not know.
    _write(root, "params.yaml", {"paths": {"metrics": "old/metrics.json", "future_key": "x"}})
    _write(root, "old/metrics.json", {"test": {"roc_auc": 0.8}})
    _write(root, "data/results/plots/roc.json", [{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}])
    _write(
        root,
        "dvc.lock",
        {
            "stages": {
                "ingest": {"outs": [{"path": "data/interim/ingested.parquet", "md5": "aaa"}]}
            }
        },
    )
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "feature")
    _write(root, "params.yaml", {"paths": {"metrics": "new/metrics.json"}, "train": {"seed": 1}})
    _write(root, "new/metrics.json", {"test": {"roc_auc": 0.7}})
    _write(root, "old/metrics.json", {"test": {"roc_auc": 0.1}})  # workspace noise
    _write(root, "data/results/plots/roc.json", [{"fpr": 0, "tpr": 0.5}])
    return root


def test_base_comes_from_git_with_its_own_paths(repo: Path) -> None:
    base = git_revision(repo, "main")
    assert base.label == "main" and base.commit == _git(repo, "rev-parse", "main")[:8]
    assert base.metrics == {"test": {"roc_auc": 0.8}}  # committed value, not the workspace's
    assert base.params == {"paths": {"metrics": "old/metrics.json", "future_key": "x"}}
    assert base.plots["roc"] == [{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}]
    assert base.data_hash == "aaa"
    assert base.slices is None and base.validation is None  # not committed: None, no error


def test_head_is_the_workspace(repo: Path) -> None:
    head = workspace_revision(repo, "params.yaml")
    assert head.label == "feature"
    assert head.metrics == {"test": {"roc_auc": 0.7}}
    assert head.plots["roc"] == [{"fpr": 0, "tpr": 0.5}]
    assert head.dirty  # tracked files changed since the commit
    assert workspace_revision(repo, "params.yaml", label="pr-42").label == "pr-42"


def test_unknown_ref_and_corrupt_file(repo: Path) -> None:
    with pytest.raises(GitError, match=r"base revision 'nope' not found.*fetch-depth: 0"):
        git_revision(repo, "nope")
    (repo / "new/metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"new/metrics.json: not valid JSON .*rerun dvc repro"):
        workspace_revision(repo, "params.yaml")


def test_the_tune_result_and_the_training_splits_hash_are_loaded(repo: Path) -> None:
    assert git_revision(repo, "main").tune is None  # no result: no Tuning section
    _write(repo, "data/results/tune.json", {"metric": "roc_auc", "best": {"trial": 3}})
    _write(
        repo,
        "dvc.lock",
        {"stages": {"split": {"outs": [{"path": "data/processed/train.parquet", "md5": "ttt"}]}}},
    )
    head = workspace_revision(repo, "params.yaml")
    assert head.tune == {"metric": "roc_auc", "best": {"trial": 3}}
    assert head.train_hash == "ttt"
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tuned")
    assert git_revision(repo, "feature").tune == head.tune
    assert git_revision(repo, "main").train_hash is None


def test_results_not_committed_as_they_are_are_named(repo: Path) -> None:
    """`mlpipe tune --apply` leaves tune.json untracked; a rerun leaves results modified: the
    report names them (paths as params.yaml has them, from the workspace or a folder in it)."""
    _write(repo, "data/results/tune.json", {"metric": "roc_auc"})  # never added
    (repo / ".gitignore").write_text("scratch/\n")
    _write(repo, "scratch/x.json", {})
    paths = [
        "data/results/tune.json",
        "new/metrics.json",  # untracked too (new on this branch)
        "old/metrics.json",  # committed, then changed
        "data/results/plots/roc.json",  # committed, then changed
        "dvc.lock",  # committed as it is
        "scratch/x.json",  # ignored
        "data/results/absent.json",  # no such file
    ]
    expected = {
        "data/results/tune.json": "untracked",
        "new/metrics.json": "untracked",
        "old/metrics.json": "changed",
        "data/results/plots/roc.json": "changed",
        "scratch/x.json": "ignored",
    }
    assert uncommitted_files(repo, paths) == expected
    _git(repo, "add", "data/results/tune.json")  # staged is not committed either
    assert uncommitted_files(repo, ["data/results/tune.json"]) == {
        "data/results/tune.json": "changed"
    }
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "all")
    assert uncommitted_files(repo, paths) == {"scratch/x.json": "ignored"}
    # From a folder inside the repository, paths stay relative to that folder.
    (repo / "new/metrics.json").write_text("{}")
    assert uncommitted_files(repo / "new", ["metrics.json"]) == {"metrics.json": "changed"}
    assert uncommitted_files(repo.parent, ["r/new/metrics.json"]) == {}  # not a repository
