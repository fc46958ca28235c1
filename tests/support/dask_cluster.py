"""A real Dask cluster on loopback for the Dask engine's tests: `dask scheduler` and `dask
worker` processes started from this virtual environment, torn down afterwards.

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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.repo import BIN

START_TIMEOUT_S = 120
WORKER_MEMORY = "1GiB"


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


@contextmanager
def loopback_cluster(directory: Path, workers: int) -> Iterator[LoopbackCluster]:
    """Start a scheduler and ``workers`` workers on 127.0.0.1; stop them all on exit."""
    from distributed import Client

    directory.mkdir(parents=True, exist_ok=True)
    scheduler_file = directory / "scheduler.json"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (directory / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [str(BIN / "dask"), *args],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
        yield LoopbackCluster(address, names, scheduler_file)
    finally:
        _stop(scheduler_file, processes)


def _stop(scheduler_file: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    """Ask the scheduler to shut the cluster down (workers, then itself); what still runs
    after that is terminated, then killed."""
    from distributed import Client

    if processes and processes[0].poll() is None and scheduler_file.exists():
        try:
            with Client(scheduler_file=str(scheduler_file), timeout=10) as client:
                client.shutdown()
        except (OSError, TimeoutError):
            pass  # the scheduler is gone: the signals below stop the rest
    for process in processes:
        for sig, wait in ((None, 20), (signal.SIGTERM, 10), (signal.SIGKILL, None)):
            if sig is not None and process.poll() is None:
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


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
        env={**os.environ, "PYTHONHASHSEED": "0"},
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
