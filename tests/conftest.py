"""Shared fixtures. Pipeline fixtures build real git + dvc repositories in temp directories.

The expensive repositories (a cold `dvc repro` of the default pipeline, the PR scenario built
on it) are built once per test session, shared by every pytest-xdist worker, and copied: see
tests/support/templates.py. A test that needs a reproduced repository to change takes
``work_repo`` (its own copy, ~0.1 s) instead of running `dvc repro` on a fresh ``make_repo``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support.pr_scenario import build_pr_scenario
from support.repo import THREAD_VARIABLES, Repo, make_repo
from support.scheduling import long_first_shares
from support.templates import session_root, shared_template

if TYPE_CHECKING:
    from distributed import Client

    from support.dask_cluster import LoopbackCluster

COLD_OUTPUT = "cold-repro.out"
DASK_CLUSTER = "dask-cluster"


@pytest.fixture(scope="session", autouse=True)
def _private_dvc_site_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """DVC keeps per-repository state (hashes by inode and mtime, indexes) in a site cache dir
    shared by every process on the machine (/var/tmp/dvc), keyed by the repository's path.
    Each test session (each xdist worker) gets its own, so a later run that reuses a path
    (a fixed --basetemp) never reads an earlier run's state, and /var/tmp does not grow."""
    with pytest.MonkeyPatch.context() as patch:
        site = tmp_path_factory.getbasetemp() / "dvc-site-cache"
        patch.setenv("DVC_SITE_CACHE_DIR", str(site))
        yield


@pytest.fixture(scope="session", autouse=True)
def _one_thread_per_process() -> Iterator[None]:
    """One OpenMP/BLAS thread in every process the suite starts, and in its own.

    `make test` runs 3 workers on 2 cores, so a stage process's extra threads (the histogram
    booster's fit and predictions) only contend for cores that are busy already: with the
    library default (one per core), `mlpipe train` on the default data spent ~0.8 s more CPU
    (~25 %) and `mlpipe evaluate` ~0.6 s more than with one (benchmarks/test-suite.md). No result
    depends on it: tests/unit/model/test_train.py checks that the model file and predictions
    are the same at 1 and 2 threads, and the grid tests unset these variables to check the
    grid script's own choice."""
    from threadpoolctl import threadpool_limits

    with pytest.MonkeyPatch.context() as patch, threadpool_limits(limits=1):
        for name in THREAD_VARIABLES:
            patch.setenv(name, "1")
        yield


def _cold_repro(dest: Path) -> None:
    repo = make_repo(dest / "repo")
    result = repo.dvc("repro")
    (dest / COLD_OUTPUT).write_text(result.stdout)


def _reproduced_template(factory: pytest.TempPathFactory) -> Path:
    return shared_template(factory, "reproduced", _cold_repro)


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A temporary repository on which a cold `dvc repro` (default params) has run.

    The repro runs once per session (all xdist workers together); each worker gets its own
    copy. Read-only for tests: copy it (``reproduced.copy(tmp_path / "r")``, or take
    ``work_repo``) before changing it. ``reproduced.cold_output`` is that repro's stdout.
    """
    template = _reproduced_template(tmp_path_factory)
    repo = Repo(template / "repo").copy(tmp_path_factory.mktemp("reproduced") / "repo")
    repo.cold_output = (template / COLD_OUTPUT).read_text()  # type: ignore[attr-defined]
    return repo


@pytest.fixture
def work_repo(reproduced: Repo, tmp_path: Path) -> Repo:
    """A private copy of the reproduced repository (workspace and DVC cache included)."""
    return reproduced.copy(tmp_path / "repo")


@pytest.fixture(scope="session")
def pr_scenario(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """The PR history of support/pr_scenario.py (`main` with a committed run, `feature` with a
    worse model), built once per session on the reproduced repository; this worker's copy,
    checked out on `feature`. Read-only: copy it before changing the workspace or branches."""
    reproduced = Repo(_reproduced_template(tmp_path_factory) / "repo")
    template = shared_template(
        tmp_path_factory, "pr-scenario", lambda dest: build_pr_scenario(reproduced, dest)
    )
    return Repo(template).copy(tmp_path_factory.mktemp("pr-scenario") / "repo")


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCluster:
    """A Dask scheduler and three workers on 127.0.0.1 (support/dask_cluster.py), started the
    first time a test of the session asks for it (one cluster for all xdist workers) and
    stopped at the end of the session (``pytest_sessionfinish``). Tests that need fewer
    workers restrict their tasks to some of ``dask_cluster.workers``. Shared: a test must not
    stop or restart its workers (``support.dask_cluster.extra_worker`` adds one to let die)."""
    from support.dask_cluster import shared_cluster

    return shared_cluster(session_root(tmp_path_factory) / DASK_CLUSTER, workers=3)


@pytest.fixture(scope="session")
def dask_client(dask_cluster: LoopbackCluster) -> Iterator[Client]:
    """A client to ``dask_cluster``, shared by the session's tests."""
    from distributed import Client

    with Client(dask_cluster.address, set_as_default=False) as client:
        yield client


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the session's Dask cluster, if a test started one: in the xdist controller once
    every worker is done (or in the only process without xdist), never in a worker."""
    if hasattr(session.config, "workerinput"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    directory = session_root(factory) / DASK_CLUSTER
    if (directory / "cluster.json").exists():
        from support.dask_cluster import stop_shared_cluster

        stop_shared_cluster(directory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test``: ``--dist worksteal``), start the tests marked
    ``long(seconds)`` first, spread over the workers' shares; those marked ``long(seconds,
    waits=True)`` (mostly waiting on DVC's queue) on all shares but the last; then in each
    share the tests that start processes before the in-process ones (see
    support/scheduling.py). Runs in each worker (xdist sets a worker's own ``dist`` option to
    "no"), which all compute the same order, as xdist requires."""
    workers = getattr(config, "workerinput", {}).get("workercount", 0)
    if workers < 2:
        return
    seconds, waiting = {}, set()
    for item in items:
        marker = item.get_closest_marker("long")
        if marker is not None:
            seconds[item.nodeid] = float(marker.args[0])
            if marker.kwargs.get("waits", False):
                waiting.add(item.nodeid)
    items[:] = long_first_shares(
        items,
        workers,
        lambda item: seconds.get(item.nodeid),
        lambda item: item.nodeid in waiting,
        heavy=_starts_processes,
    )


def _starts_processes(item: pytest.Item) -> bool:
    """Tests that start pipelines, `dvc` or `mlpipe` processes (seconds each): those outside
    tests/unit and the unit tests marked slow. The others run in the worker's process in
    milliseconds: dealt last in every share, they are what idle workers steal at the end."""
    return not item.nodeid.startswith("tests/unit/") or item.get_closest_marker("slow") is not None
