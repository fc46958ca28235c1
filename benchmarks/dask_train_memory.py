"""What training with ``xgboost.dask`` holds on a worker, against train's up-front estimate
(``mlpipe.model.boosting.training_memory``), at a few sizes, in the same invocation.

    python benchmarks/dask_train_memory.py --rows 500000 1000000 2000000

One ``dask worker`` (one thread, no memory limit, no nanny) on 127.0.0.1; the built-in
generator's rows, ingested by ``mlpipe ingest``, are cut to each size (a Parquet file of the
pipeline's row groups) and ``fit_on_dask`` trains the default ``train.xgboost`` params on
them, while the worker's resident memory is sampled every 0.1 s: its increase over the level
before training is what training held. The worker is restarted between sizes (memory a
process has freed is not always returned to the OS). Prints a markdown table; nothing is
written in the checkout.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import BIN, ROOT, thread_env


def _worker(address: str, directory: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads", "1"),
            *("--memory-limit", "0", "--no-nanny", "--no-dashboard"),
        ],
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _ingested(work: Path, rows: int, env: dict[str, str]) -> Path:
    """``rows`` generated rows, ingested as the pipeline does (its dtypes)."""
    params = (ROOT / "params.yaml").read_text().replace("  rows: 20000", f"  rows: {rows}")
    (work / "params.yaml").write_text(params)
    mlpipe = [str(BIN / "mlpipe"), "--params", str(work / "params.yaml")]
    run = {"cwd": work, "env": env, "check": True, "capture_output": True}
    subprocess.run([*mlpipe[:1], "generate", *mlpipe[1:], "--output", "raw.parquet"], **run)
    subprocess.run(
        [
            *(*mlpipe[:1], "ingest", *mlpipe[1:], "--source", "raw.parquet"),
            *("--output", "ingested.parquet", "--report", "ingest.json"),
            *("--unlabelled", "unlabelled.parquet"),
        ],
        **run,
    )
    return work / "ingested.parquet"


def _head(batches, rows: int):
    """The first ``rows`` rows of ``batches``."""
    for batch in batches:
        if rows <= 0:
            return
        yield batch.iloc[:rows]
        rows -= len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import psutil
    from distributed import Client

    from mlpipe.config import load_params
    from mlpipe.data.schema import load_schema
    from mlpipe.io import iter_parquet, write_parquet_batches
    from mlpipe.model.boosting import training_memory
    from mlpipe.model.dask_train import fit_on_dask
    from mlpipe.model.features import feature_spec

    params = load_params(ROOT / "params.yaml")
    schema = load_schema(ROOT / "data" / "schema.yaml")
    spec = feature_spec(schema)
    env = {**os.environ, **thread_env(1), "PYTHONHASHSEED": "0"}
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="mlpipe-train-memory-") as tmp:
        work = Path(tmp)
        scheduler = subprocess.Popen(
            [
                *(str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"),
                *("--no-dashboard", "--scheduler-file", str(work / "s.json")),
            ],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ingested = _ingested(work, max(args.rows), env)
        try:
            while not (work / "s.json").exists():
                time.sleep(0.2)
            time.sleep(0.5)
            with Client(scheduler_file=str(work / "s.json"), timeout=60) as client:
                address = client.scheduler.address
                for rows in args.rows:
                    path = work / f"train-{rows}.parquet"
                    write_parquet_batches(path, _head(iter_parquet(ingested, 100_000), rows))
                    worker = _worker(address, work, env)
                    try:
                        client.wait_for_workers(1, timeout=120)
                        client.run(lambda: __import__("mlpipe.model.boosting"))  # imports
                        process = psutil.Process(worker.pid)
                        before = process.memory_info().rss
                        peak = [before]
                        done = threading.Event()

                        def sample(process=process, peak=peak, done=done) -> None:
                            while not done.wait(0.1):
                                try:
                                    peak[0] = max(peak[0], process.memory_info().rss)
                                except psutil.Error:
                                    return

                        thread = threading.Thread(target=sample, daemon=True)
                        thread.start()
                        start = time.perf_counter()
                        fit_on_dask(
                            client,
                            str(path),
                            spec,
                            schema.target,
                            schema.task,
                            params.train,
                            params.memory.chunk_rows,
                        )
                        seconds = time.perf_counter() - start
                        done.set()
                        thread.join()
                    finally:
                        _stop(worker)
                        while client.scheduler_info(n_workers=-1)["workers"]:
                            time.sleep(0.2)
                    estimate = training_memory(rows, spec, 1, params.train.xgboost.max_bin)
                    held = peak[0] - before
                    rows_out.append((rows, before, held, estimate, seconds))
        finally:
            _stop(scheduler)
    print(
        "| training rows | worker before MiB | held while training MiB | estimate MiB | held "
        "/ estimate | held bytes per row | seconds |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for rows, before, held, estimate, seconds in rows_out:
        total = sum(estimate.values())
        print(
            f"| {rows:,} | {before / 2**20:.0f} | {held / 2**20:.0f} | {total / 2**20:.0f} "
            f"| {held / total:.2f} | {held / rows:.0f} | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
