"""The whole pipeline (`dvc repro`) on a Dask cluster whose every worker has less memory than
the table, against the local engine on the same rows, in the same invocation.

    python benchmarks/dask_memory.py --rows 7000000 [--workers 3] [--memory-limit 1GiB]

A loopback cluster is started here: `dask scheduler` and `--workers` `dask worker` processes
(with their nannies, which restart a worker that passes its memory limit), one thread each.
A temporary repository (``make_repo``) with ``generate.rows = --rows`` and
``train.estimator: xgboost`` runs `dvc repro` on ``engine.kind: dask`` (``DASK_SCHEDULER_ADDRESS``
points at the cluster), then `dvc repro --force` on ``engine.kind: local``. Each stage's
process is measured through a stand-in ``mlpipe`` first on ``PATH`` (wall and CPU seconds,
peak RSS from ``os.wait4``); the workers' resident memory is sampled every 0.2 s and
attributed to the stage that was running. Also recorded: the table's in-memory size (pandas'
``memory_usage(deep=True)`` of the ingested table, summed row group by row group), train's
memory estimate (``mlpipe.model.boosting.training_memory``) against what the workers held, and
whether the data stages' files are byte-identical on both engines. Writes
``dask_memory_results.md`` beside this script (``--output``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import BIN, ROOT, machine, machine_markdown, make_repo, thread_env

THIS = Path(__file__).resolve().parent
# The files that must not depend on the engine (evaluate's too: the model differs, see below).
DATA_FILES = (
    "data/interim/ingested.parquet",
    "data/interim/unlabelled.parquet",
    "data/results/ingest.json",
    "data/results/validation.json",
    "data/processed/train.parquet",
    "data/processed/test.parquet",
    "data/results/drift.json",
)
SHIM = """#!{python}
import json, os, subprocess, sys, time
start, wall = time.time(), time.perf_counter()
child = subprocess.Popen([{real!r}, *sys.argv[1:]])
_, status, usage = os.wait4(child.pid, 0)
code = os.waitstatus_to_exitcode(status)
record = {{"stage": sys.argv[1], "start": start, "end": time.time(),
          "wall": time.perf_counter() - wall, "cpu": usage.ru_utime + usage.ru_stime,
          "peak_rss_mib": usage.ru_maxrss / 1024, "rc": code}}
with open(os.environ["MLPIPE_BENCH_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
sys.exit(code)
"""


def _start_cluster(directory: Path, workers: int, limit: str, env: dict[str, str]):
    """A scheduler on 127.0.0.1 (port 0) and ``workers`` nanny-managed workers."""
    from distributed import Client

    scheduler_file = directory / "scheduler.json"
    processes = []

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

    start(
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
        "3600",
    )
    deadline = time.monotonic() + 120
    while not scheduler_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError((directory / "scheduler.log").read_text())
        time.sleep(0.2)
    time.sleep(0.5)  # the file is written whole once the scheduler listens
    address = json.loads(scheduler_file.read_text())["address"]
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
            limit,
            "--no-dashboard",
        )
    with Client(address, timeout=120, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, processes[0], processes[1:]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class WorkerMemory:
    """Samples the resident memory of each worker's process tree (nanny and worker) every
    ``interval`` seconds, with timestamps, until stopped."""

    def __init__(self, nannies: list[subprocess.Popen[bytes]], interval: float = 0.2) -> None:
        self.nannies, self.interval = nannies, interval
        self.samples: list[tuple[float, list[float]]] = []
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        seen: dict[int, set[int]] = {}
        while not self._stop.is_set():
            sizes = []
            for i, nanny in enumerate(self.nannies):
                try:
                    children = psutil.Process(nanny.pid).children(recursive=True)
                    pids = {c.pid for c in children}
                    if i in seen and seen[i] and pids and not pids & seen[i]:
                        self.restarts += 1  # the nanny started a new worker process
                    seen[i] = pids or seen.get(i, set())
                    sizes.append(sum(c.memory_info().rss for c in children) / 2**20)
                except psutil.Error:
                    sizes.append(0.0)
            self.samples.append((time.time(), sizes))
            self._stop.wait(self.interval)

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, moment: float) -> float:
        """What the workers held together at the last sample before ``moment`` (MiB)."""
        before = [sizes for at, sizes in self.samples if at <= moment]
        return sum(before[-1]) if before else 0.0

    def peak(self, start: float, end: float) -> tuple[float, float]:
        """(largest one worker held, largest sum over the workers) between the two times."""
        window = [sizes for at, sizes in self.samples if start <= at <= end]
        if not window:
            return 0.0, 0.0
        return max(max(s) for s in window), max(sum(s) for s in window)


def _in_memory_size(path: Path) -> float:
    """The table's pandas size in GiB (``memory_usage(deep=True)``), a row group at a time."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    total = 0
    for group in range(handle.num_row_groups):
        total += int(handle.read_row_group(group).to_pandas().memory_usage(deep=True).sum())
    return total / 2**30


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else "absent"


def _records(log: Path) -> dict[str, dict[str, float]]:
    out = {}
    for line in log.read_text().splitlines():
        record = json.loads(line)
        out[record["stage"]] = record
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=7_000_000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GiB")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=200_000,
        help="memory.chunk_rows on both engines: an ingest task holds a chunk of this many "
        "source rows (the default 1 000 000 does not fit a 1 GiB worker)",
    )
    parser.add_argument("--timeout", type=int, default=2400, help="seconds per dvc repro")
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.5,
        help="split.test_size: 0.5 leaves 3.5M of 7M rows to train on, which train's memory "
        "check lets 3 x 1 GiB workers take (5.6M rows filled them to 92 %%)",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=THIS / "dask_memory_results.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlpipe-dask-memory-", dir=args.workdir))
    repo = make_repo(work / "repo", rows=args.rows)
    repo.set_params(
        **{
            "train.estimator": "xgboost",
            "engine.kind": "dask",
            "memory.chunk_rows": args.chunk_rows,
            "split.test_size": args.test_size,
        }
    )
    repo.commit("the dask engine, xgboost")
    shims = work / "shims"
    shims.mkdir()
    (shims / "mlpipe").write_text(SHIM.format(python=sys.executable, real=str(BIN / "mlpipe")))
    (shims / "mlpipe").chmod(0o755)
    env = {**repo.env, **thread_env(1)}
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    cluster_dir = work / "cluster"
    cluster_dir.mkdir()
    address, scheduler, nannies = _start_cluster(
        cluster_dir, args.workers, args.memory_limit, {**env, "PYTHONHASHSEED": "0"}
    )
    runs: dict[str, dict[str, dict[str, float]]] = {}
    digests: dict[str, dict[str, str]] = {}
    try:
        with WorkerMemory(nannies) as memory:
            for engine in ("dask", "local"):
                log = work / f"{engine}.jsonl"
                run_env = {**env, "MLPIPE_BENCH_LOG": str(log)}
                if engine == "dask":
                    run_env["DASK_SCHEDULER_ADDRESS"] = address
                    command = ["repro"]
                else:
                    repo.set_params(**{"engine.kind": "local"})
                    command = ["repro", "--force"]
                started = time.perf_counter()
                result = subprocess.run(
                    [str(BIN / "dvc"), *command],
                    cwd=repo.path,
                    env=run_env,
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                )
                wall = time.perf_counter() - started
                (work / f"{engine}.out").write_text(result.stdout + result.stderr)
                if result.returncode:
                    raise RuntimeError(f"dvc repro on {engine}:\n{result.stderr[-4000:]}")
                records = _records(log)
                for record in records.values():
                    record["worker_peak_mib"], record["workers_peak_mib"] = memory.peak(
                        record["start"], record["end"]
                    )
                    record["workers_before_mib"] = memory.at(record["start"])
                runs[engine] = records | {"(dvc repro)": {"wall": wall}}
                digests[engine] = {rel: _digest(repo.path / rel) for rel in DATA_FILES}
            restarts = memory.restarts
    finally:
        _stop([*nannies, scheduler])
    size = _in_memory_size(repo.path / "data/interim/ingested.parquet")
    estimate = _training_estimate(repo, args.workers)
    text = _markdown(args, runs, digests, size, estimate, restarts, repo)
    args.output.write_text(text)
    print(text)


def _training_estimate(repo, workers: int) -> dict[str, float]:
    """Train's up-front estimate (GiB) for the training rows, by part, and XGBoost's start on
    each worker."""
    sys.path.insert(0, str(ROOT / "src"))
    import pyarrow.parquet as pq

    from mlpipe.data.schema import load_schema
    from mlpipe.model.boosting import WORKER_TRAINING, training_memory
    from mlpipe.model.features import feature_spec

    rows = pq.read_metadata(repo.path / "data/processed/train.parquet").num_rows
    spec = feature_spec(load_schema(repo.path / "data/schema.yaml"))
    parts = training_memory(rows, spec, 1, repo.params()["train"]["xgboost"]["max_bin"])
    parts["workers_start"] = workers * WORKER_TRAINING
    return {"rows": rows, **{k: v / 2**30 for k, v in parts.items()}}


def _markdown(args, runs, digests, size, estimate, restarts, repo) -> str:
    dask, local = runs["dask"], runs["local"]
    stages = [s for s in local if not s.startswith("(")]
    lines = [
        "# The pipeline on a Dask cluster smaller than the table (`benchmarks/dask_memory.py`)",
        "",
        f"`python benchmarks/dask_memory.py --rows {args.rows} --workers {args.workers} "
        f"--memory-limit {args.memory_limit} --chunk-rows {args.chunk_rows} --test-size "
        f"{args.test_size}`: {args.rows:,} rows of the built-in generator, `train.estimator: "
        f"xgboost`, `memory.chunk_rows: {args.chunk_rows}` and `split.test_size: "
        f"{args.test_size}` on both engines; the ingested table holds {size:.2f} GiB in memory "
        f"(pandas, deep), {args.workers} workers x {args.memory_limit} (one thread each, with "
        "nannies), the stages' processes and the workers one OpenMP/BLAS thread.",
        "",
        "| stage | dask: wall s | local: wall s | wall dask/local | dask: CPU s | local: CPU s "
        "| CPU dask/local | dask: stage peak RSS MiB | local: stage peak RSS MiB | RSS dask/local "
        "| largest worker during the stage MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for stage in stages:
        d, lo = dask[stage], local[stage]
        lines.append(
            f"| {stage} | {d['wall']:.1f} | {lo['wall']:.1f} | {d['wall'] / lo['wall']:.2f} "
            f"| {d['cpu']:.1f} | {lo['cpu']:.1f} | {d['cpu'] / max(lo['cpu'], 1e-9):.2f} "
            f"| {d['peak_rss_mib']:.0f} | {lo['peak_rss_mib']:.0f} "
            f"| {d['peak_rss_mib'] / lo['peak_rss_mib']:.2f} | {d['worker_peak_mib']:.0f} |"
        )
    total_d, total_l = dask["(dvc repro)"]["wall"], local["(dvc repro)"]["wall"]
    lines += [
        f"| `dvc repro` | {total_d:.1f} | {total_l:.1f} | {total_d / total_l:.2f} | | | | | | | |",
        "",
        "The stage peak RSS is the stage's own process (on the Dask engine: the client); the "
        "workers' memory is the last column (one worker's process tree, sampled every 0.2 s "
        "while the stage ran; every worker had already run earlier stages).",
        "",
        f"Workers restarted by their nannies during the runs: {restarts}.",
        "",
        "Train's memory estimate (`training_memory`, the up-front check) for "
        f"{estimate['rows']:,} training rows: "
        + ", ".join(
            f"{k.replace('_', ' ')} {v:.2f} GiB" for k, v in estimate.items() if k != "rows"
        )
        + f", {sum(v for k, v in estimate.items() if k != 'rows'):.2f} GiB in all; the workers "
        f"held {dask['train']['workers_before_mib'] / 1024:.2f} GiB together as train started "
        f"and at most {dask['train']['workers_peak_mib'] / 1024:.2f} GiB during it: "
        f"{(dask['train']['workers_peak_mib'] - dask['train']['workers_before_mib']) / 1024:.2f}"
        " GiB for training.",
        "",
        "Data stages' files byte-identical on both engines: "
        + ", ".join(
            f"{Path(rel).name} {'yes' if digests['dask'][rel] == digests['local'][rel] else 'NO'}"
            for rel in DATA_FILES
        ),
        "",
        "## Machine",
        "",
        machine_markdown(machine()),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
