"""CPU time of `mlpipe ingest`, `mlpipe schema infer` and `mlpipe validate` on a wide table,
against a long table of as many cells (the baseline, same invocation).

The wide table is the one tests/pipeline/test_byod.py::test_a_thousand_columns_end_to_end
builds: 300 rows x 1000 columns (700 numbers, 200 categories as text, 99 Yes/no flags, a
label). The long table has the same 300,000 cells and the same kinds in 10 columns of 30,000
rows. Both are CSV files in one temporary repository (``tests/support/repo.make_repo``), and
each command runs as its own process there, interleaved, ``--repeats`` times.

Normalising a table costs about the same per value whatever its shape, unless something is paid
once per column: the wide / long ratio of CPU seconds shows that per-column cost (it was ~10x
when each text column got its own ~40 pandas calls; ~1.5-2x once they are stacked). Validate
asked the schema for its column names once per column per column (~1e9 steps at 1 000
columns: 44 s, 71x the long table); the names are now computed once (1.3 s, ~2x).

Usage::

    python benchmarks/wide_ingest.py                 # 3 repeats, ~1.5 min
    python benchmarks/wide_ingest.py --repeats 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from _common import BIN, machine, make_repo, median, run_timed
from support.byod import wide_table


def long_table(rows: int = 30_000, seed: int = 3) -> pd.DataFrame:
    """As many cells in 10 columns: 7 numbers, 1 category, 1 flag and the label."""
    wide = wide_table(rows, seed)
    keep = [*(f"num_{i:03d}" for i in range(7)), "cat_000", "flag_00", "label"]
    return wide[keep]


def measure(repeats: int, workdir: Path) -> dict[str, list[float]]:
    """CPU seconds per (table, command), one entry per repeat."""
    repo = make_repo(workdir / "repo")
    tables = {"wide": wide_table(), "long": long_table()}
    for name, frame in tables.items():
        assert frame.size == 300_000, frame.shape
        frame.to_csv(repo.path / f"{name}.csv", index=False)
    runs: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name in tables:
            repo.set_params(
                **{
                    "data.source": f"{name}.csv",
                    "data.target": "label",
                    "data.id_columns": [],
                    "data.date_column": None,
                    "evaluate.slices": [],
                }
            )
            outputs = ["--output", f"{name}.parquet", "--report", f"{name}.json"]
            commands = {
                "ingest": ["ingest", "--source", f"{name}.csv", *outputs],
                "schema infer": ["schema", "infer", "--output", f"{name}.yaml"],
                "validate": [
                    "validate",
                    "--input",
                    f"{name}.parquet",
                    "--schema",
                    f"{name}.yaml",
                    "--report",
                    f"{name}-validation.json",
                ],
            }
            for command, argv in commands.items():
                timed = run_timed([str(BIN / "mlpipe"), *argv], repo.path, repo.env)
                runs.setdefault(f"{name} {command}", []).append(timed.cpu_seconds)
                print(f"  {name:<4} {command:<12} {timed.cpu_seconds:6.2f} s CPU", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="make the temporary repo here")
    args = parser.parse_args(argv)
    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="mlpipe-wide-", dir=args.workdir) as tmp:
        runs = measure(args.repeats, Path(tmp))
    print(f"\nmedian CPU seconds of {args.repeats} run(s), interleaved\n")
    print("| command | wide 300 x 1000 | long 30,000 x 10 | wide / long |")
    print("| --- | --- | --- | --- |")
    for command in ("ingest", "schema infer", "validate"):
        wide, long = median(runs[f"wide {command}"]), median(runs[f"long {command}"])
        print(f"| `mlpipe {command}` | {wide:.2f} | {long:.2f} | {wide / long:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
