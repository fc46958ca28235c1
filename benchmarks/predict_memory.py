"""Peak memory and time of `mlpipe predict` as the input grows (goal: memory stays flat).

Usage (from the repository root, after `dvc repro`):
    python benchmarks/predict_memory.py [--rows 50000 200000 800000] [--chunk-rows 100000]

For each size, writes the embedded generator's rows (without the target) to a Parquet file in
benchmarks/runs/, scores it in a fresh process and prints rows, seconds and peak RSS (MB) of
that process. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mlpipe.data.generate import churn_blocks

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"


def _write_input(rows: int, path: Path) -> None:
    writer = None
    for block in churn_blocks(rows, seed=7):
        table = pa.Table.from_pandas(block.drop(columns=["churned"]), preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def _peak_rss_mb(command: list[str]) -> tuple[float, float]:
    """Run ``command`` in a child that reports its own child's peak RSS; (seconds, MB)."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True
    )
    return time.perf_counter() - start, int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000, 800_000])
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--model", default="data/model/model.skops")
    args = parser.parse_args()
    RUNS.mkdir(parents=True, exist_ok=True)
    print(f"{'rows':>10} {'seconds':>9} {'peak MB':>9}")
    for rows in args.rows:
        source = RUNS / f"predict-{rows}.parquet"
        if not source.exists():
            _write_input(rows, source)
        output = RUNS / f"predict-{rows}-scores.parquet"
        seconds, peak = _peak_rss_mb(
            [
                str(Path(sys.executable).parent / "mlpipe"),
                "predict",
                "--model",
                args.model,
                "--input",
                str(source),
                "--output",
                str(output),
                "--chunk-rows",
                str(args.chunk_rows),
            ]
        )
        print(f"{rows:>10} {seconds:>9.1f} {peak:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
