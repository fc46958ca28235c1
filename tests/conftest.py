"""Shared fixtures. Pipeline fixtures build real git + dvc repositories in temp directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.repo import Repo, make_repo


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A temporary repository on which a cold `dvc repro` (default params) has run once.

    Read-only for tests: copy it (``reproduced.copy(tmp_path / "r")``) before changing it.
    """
    repo = make_repo(tmp_path_factory.mktemp("reproduced") / "repo")
    result = repo.dvc("repro")
    repo.cold_output = result.stdout  # type: ignore[attr-defined]
    return repo


@pytest.fixture
def work_repo(reproduced: Repo, tmp_path: Path) -> Repo:
    """A private copy of the reproduced repository (workspace and DVC cache included)."""
    return reproduced.copy(tmp_path / "repo")
