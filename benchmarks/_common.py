"""Helpers shared by the benchmark scripts: temporary repos, timed child processes, machine info.

Not a test module (pytest only collects ``tests/``). The scripts run real ``dvc`` and the real
``mlpipe`` CLI in temporary repositories made by ``tests/support/repo.make_repo``; they never
touch the working checkout.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.repo import BIN, Repo, make_repo  # noqa: E402

__all__ = [
    "BIN",
    "ROOT",
    "Repo",
    "Timed",
    "machine",
    "machine_markdown",
    "make_repo",
    "median",
    "run_timed",
    "thread_env",
]

PACKAGES = ("numpy", "pandas", "pyarrow", "scikit-learn", "skops", "matplotlib", "dvc")


@dataclass(frozen=True)
class Timed:
    """One child process: wall and CPU seconds, peak RSS (MiB, from the OS), exit code, output.

    CPU seconds (user + system) hardly change with other load on the machine; wall seconds do.
    """

    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(args: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> Timed:
    """Run ``args`` as a child; wall time and ``ru_maxrss`` from ``os.wait4`` of that child.

    ``ru_maxrss`` (KiB on Linux) is the child's own peak resident set; a child that forks
    workers reports the largest of itself and its waited-for descendants.
    """
    out_path = cwd / f".bench-{os.getpid()}-{time.monotonic_ns()}.out"
    err_path = out_path.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    out_path.unlink()
    err_path.unlink()
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(args)} exited {proc.returncode}\n--- stdout\n{stdout[-3000:]}\n"
            f"--- stderr\n{stderr[-3000:]}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return Timed(seconds, cpu, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr)


def thread_env(threads: int | None) -> dict[str, str]:
    """Environment that caps OpenMP/BLAS threads in the children (``None``: library default)."""
    if threads is None:
        return {}
    value = str(threads)
    return {"OMP_NUM_THREADS": value, "OPENBLAS_NUM_THREADS": value, "MKL_NUM_THREADS": value}


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict[str, str]:
    """What the figures were measured on: CPUs, memory, CPU model, load, versions."""
    info = {
        "cpus (nproc)": str(len(os.sched_getaffinity(0))),
        "memory": f"{_meminfo('MemTotal') / 1024**2:.1f} GiB total, "
        f"{_meminfo('MemAvailable') / 1024**2:.1f} GiB available at start",
        "cpu model": _cpu_model(),
        "load average at start (1/5/15 min)": " / ".join(f"{v:.2f}" for v in os.getloadavg()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    for package in PACKAGES:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info


def _meminfo(key: str) -> int:
    """A /proc/meminfo field in KiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_markdown(info: dict[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in info.items())
