"""A real Dask cluster on loopback for the Dask engine's tests: `dask scheduler` and `dask
worker` processes started from this virtual environment, one cluster per test session (shared
by the pytest-xdist workers), torn down at its end.

The scheduler listens on 127.0.0.1 at a port it picks (port 0) and writes its address to a
scheduler file; the fixture waits for that file, then for the workers to register
(``Client.wait_for_workers``), never for a fixed time. Workers run without a nanny (one process
each), one thread, the same OpenMP/BLAS thread variables as the suite, and a memory limit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from support.repo import BIN

START_TIMEOUT_S = 120
WORKER_MEMORY = "1GiB"

# The cluster's processes as the tests start them: hash seed fixed, and the housekeeping that
# an idle process repeats made rare. Left at its defaults (a statistical profiler sampling
# every 10 ms, the event loop's tick every 20 ms, the system monitor every 0.5 s), the idle
# shared cluster spent ~5 s of CPU a minute, ~45 s of a `make test` run on 2 cores; with these
# ~1.4 s (benchmarks/test-suite.md, tenth pass). None of them changes what a task computes.
CLUSTER_ENV = {
    "PYTHONHASHSEED": "0",
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "5s",
}


@dataclass(frozen=True)
class LoopbackCluster:
    """A running cluster: the scheduler's address and the workers' addresses (sorted)."""

    address: str
    workers: tuple[str, ...]
    scheduler_file: Path


def _wait_for_file(path: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    """The scheduler's address, once it has written the scheduler file (or its failure)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dask scheduler exited {process.returncode}:\n{log.read_text()}")
        try:
            return str(json.loads(path.read_text())["address"])
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)  # the file appears once the scheduler listens
    raise RuntimeError(f"no {path} after {START_TIMEOUT_S} s:\n{log.read_text()}")


def shared_cluster(directory: Path, workers: int) -> LoopbackCluster:
    """The session's cluster: started by the first process that asks (under a file lock in
    ``directory``, which every pytest-xdist worker of the session shares), found running by
    the others. Its processes outlive the process that started them; ``stop_shared_cluster``
    (the controller's ``pytest_sessionfinish``) stops them."""
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / "cluster.json"
    with FileLock(str(directory / "cluster.lock")):
        if record.exists():
            known = json.loads(record.read_text())
            if _answers(known["address"], workers):
                return LoopbackCluster(
                    known["address"], tuple(known["workers"]), Path(known["scheduler_file"])
                )
            stop_shared_cluster(directory)  # a cluster that died: clean up, start anew
        cluster, pids = _start(directory, workers)
        record.write_text(
            json.dumps(
                {
                    "address": cluster.address,
                    "workers": list(cluster.workers),
                    "scheduler_file": str(cluster.scheduler_file),
                    "pids": pids,
                }
            )
        )
        return cluster


def _answers(address: str, workers: int) -> bool:
    from distributed import Client

    try:
        with Client(address, timeout=5, set_as_default=False) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"]) >= workers
    except (OSError, TimeoutError):
        return False


def _start(directory: Path, workers: int) -> tuple[LoopbackCluster, list[int]]:
    from distributed import Client

    scheduler_file = directory / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    env = {**os.environ, **CLUSTER_ENV}
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (directory / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(BIN / "dask"), *args],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the xdist worker that started it
        )
        processes.append(process)
        return process

    try:
        scheduler = start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            "--idle-timeout",
            "3600",  # a cluster left behind by a killed test run stops by itself
        )
        address = _wait_for_file(scheduler_file, scheduler, directory / "scheduler.log")
        for i in range(workers):
            start(
                f"worker-{i}",
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--name",
                f"worker-{i}",
                "--nthreads",
                "1",
                "--memory-limit",
                WORKER_MEMORY,
                "--no-nanny",
                "--no-dashboard",
                "--death-timeout",
                "60",
            )
        with Client(address, timeout=START_TIMEOUT_S, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
            names = tuple(sorted(client.scheduler_info(n_workers=-1)["workers"]))
    except BaseException:
        _stop(scheduler_file, [p.pid for p in processes])
        raise
    return LoopbackCluster(address, names, scheduler_file), [p.pid for p in processes]


@contextmanager
def private_cluster(directory: Path, workers: int) -> Iterator[tuple[LoopbackCluster, list[int]]]:
    """A cluster of the test's own (for a test that breaks it), stopped on exit; with the
    process ids of the scheduler and the workers (in that order)."""
    directory.mkdir(parents=True, exist_ok=True)
    cluster, pids = _start(directory, workers)
    try:
        yield cluster, pids
    finally:
        _stop(cluster.scheduler_file, pids)


def stop_shared_cluster(directory: Path) -> None:
    """Stop the cluster ``shared_cluster`` started in ``directory`` (nothing if none)."""
    record = directory / "cluster.json"
    if not record.exists():
        return
    known = json.loads(record.read_text())
    _stop(Path(known["scheduler_file"]), known["pids"])
    record.unlink()


def _stop(scheduler_file: Path, pids: list[int]) -> None:
    """Ask the scheduler to shut the cluster down (workers, then itself); the processes of
    ``pids`` (dask commands, each leading its own process group) still running after that are
    terminated, then killed."""
    import psutil
    from distributed import Client

    if scheduler_file.exists():
        try:
            with Client(scheduler_file=str(scheduler_file), timeout=10) as client:
                client.shutdown()
        except (OSError, TimeoutError):
            pass  # the scheduler is gone: the signals below stop the rest
    mine = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            if "dask" in " ".join(process.cmdline()):  # not a reused pid
                mine.append(process)
        except psutil.Error:
            continue
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        for process in mine:
            if sig is not None and process.is_running():
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
        _, mine = psutil.wait_procs(mine, timeout=20 if sig is None else 10)
        if not mine:
            return


@contextmanager
def extra_worker(cluster: LoopbackCluster, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """One more worker named ``name`` in ``cluster``, for a test that lets it die; stopped (if
    it still runs) on exit, leaving the cluster's own workers as they were."""
    process = subprocess.Popen(
        [
            str(BIN / "dask"),
            "worker",
            cluster.address,
            "--host",
            "127.0.0.1",
            "--name",
            name,
            "--nthreads",
            "1",
            "--memory-limit",
            WORKER_MEMORY,
            "--no-nanny",
            "--no-dashboard",
        ],
        env={**os.environ, **CLUSTER_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
