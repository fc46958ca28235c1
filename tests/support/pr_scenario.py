"""A repository with a real PR history: `main` with a committed run, and a branch `feature`
that changes a train param and commits its own new run (both made by `dvc repro`)."""

from __future__ import annotations

from pathlib import Path

from support.repo import Repo

# The PR's change: far fewer boosting iterations, a clearly worse model than main's.
CHANGED_PARAM = "train.hist_gradient_boosting.max_iter"
OLD_VALUE, NEW_VALUE = 150, 10


def build_pr_scenario(reproduced: Repo, dest: Path) -> Repo:
    """Copy the reproduced repository, commit its run on main, branch and rerun with the change.

    Returns the repository checked out on `feature` with both runs committed.
    """
    repo = reproduced.copy(dest)
    repo.dvc("repro")  # no-op unless the copy is stale; makes main's committed run current
    repo.commit("main: first run")
    repo.git("checkout", "-q", "-b", "feature")
    repo.set_params(**{CHANGED_PARAM: NEW_VALUE})
    repo.dvc("repro")
    repo.commit("feature: fewer boosting iterations")
    return repo
