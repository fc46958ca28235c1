"""Time and peak memory of `mlpipe init` on a large CSV (goal: < 60 s and < 2 GiB at 1M rows).

Writes the embedded churn generator's rows (seed ``--seed``) as a CSV export in a temporary
repository (``tests/support/repo.make_repo``: real git + dvc), then runs, each as its own
process in that repository:

1. ``mlpipe ingest`` on the same file: the baseline (the stage that reads it in `dvc repro`);
2. ``mlpipe init --source ... --target churned``: reading, deciding, schema, params, `dvc add`.

Each is run ``--repeats`` times, interleaved (fresh copies of the repository for init), and the
medians are compared: init's time and peak RSS, and both as a ratio to ingest's. Writes
``benchmarks/init_results.md``.

Usage::

    python benchmarks/init.py                      # 1,000,000 rows, 1 repeat
    python benchmarks/init.py --rows 200000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from _common import BIN, ROOT, machine, machine_markdown, make_repo, median, run_timed
from mlpipe.data.generate import churn_blocks

TIME_GOAL_S = 60.0
MEMORY_GOAL_MIB = 2 * 1024
SOURCE = "data/raw/customers.csv"


def write_csv(path: Path, rows: int, seed: int) -> int:
    """The churn table as a CSV export, block by block; returns the file size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        for i, block in enumerate(churn_blocks(rows, seed)):
            block.to_csv(handle, index=False, header=i == 0)
    return path.stat().st_size


def measure(rows: int, seed: int, repeats: int, workdir: Path) -> dict[str, list]:
    """Runs of ingest and init at ``rows`` rows: per command, the list of Timed results."""
    template = make_repo(workdir / "template")
    size = write_csv(template.path / SOURCE, rows, seed)
    print(f"  {rows:,} rows: {size / 1024**2:.0f} MiB of CSV", flush=True)
    env = template.env
    runs: dict[str, list] = {"ingest": [], "init": []}
    for repeat in range(repeats):
        repo = template.copy(workdir / f"run-{repeat}")
        ingest = [
            str(BIN / "mlpipe"),
            "ingest",
            "--source",
            SOURCE,
            "--output",
            "bench-ingested.parquet",
            "--report",
            "bench-ingest.json",
        ]
        init = [str(BIN / "mlpipe"), "init", "--source", SOURCE, "--target", "churned"]
        for name, argv in (("ingest", ingest), ("init", init)):
            timed = run_timed(argv, repo.path, env)
            runs[name].append(timed)
            print(
                f"  {name:<7} {timed.seconds:7.1f} s  {timed.cpu_seconds:7.1f} s CPU  "
                f"{timed.peak_rss_mib:6.0f} MiB",
                flush=True,
            )
        shutil.rmtree(repo.path, ignore_errors=True)
    runs["_size_mib"] = [size / 1024**2]
    return runs


def report(rows: int, runs: dict[str, list], info: dict[str, str], argv: str) -> str:
    init_s = median([t.seconds for t in runs["init"]])
    init_cpu = median([t.cpu_seconds for t in runs["init"]])
    init_rss = median([t.peak_rss_mib for t in runs["init"]])
    ingest_s = median([t.seconds for t in runs["ingest"]])
    ingest_cpu = median([t.cpu_seconds for t in runs["ingest"]])
    ingest_rss = median([t.peak_rss_mib for t in runs["ingest"]])
    time_ok = init_s < TIME_GOAL_S
    memory_ok = init_rss < MEMORY_GOAL_MIB
    return "\n".join(
        [
            "# `mlpipe init` benchmark",
            "",
            f"Written by `python benchmarks/init.py {argv}`: {rows:,} rows of the churn "
            f"generator as a {runs['_size_mib'][0]:.0f} MiB CSV, in a temporary git + dvc "
            f"repository; medians of {len(runs['init'])} run(s) of each command, interleaved.",
            "",
            "## Machine",
            "",
            machine_markdown(info),
            "",
            "## Results",
            "",
            "| command | wall s | CPU s | peak RSS MiB |",
            "| --- | --- | --- | --- |",
            f"| `mlpipe ingest` (baseline) | {ingest_s:.1f} | {ingest_cpu:.1f} | "
            f"{ingest_rss:.0f} |",
            f"| `mlpipe init` | {init_s:.1f} | {init_cpu:.1f} | {init_rss:.0f} |",
            f"| init / ingest | {init_s / ingest_s:.2f}x | {init_cpu / ingest_cpu:.2f}x | "
            f"{init_rss / ingest_rss:.2f}x |",
            "",
            "## Goals",
            "",
            f"- wall time < {TIME_GOAL_S:.0f} s: {'met' if time_ok else 'NOT met'} "
            f"({init_s:.1f} s)",
            f"- peak RSS < {MEMORY_GOAL_MIB} MiB: {'met' if memory_ok else 'NOT met'} "
            f"({init_rss:.0f} MiB)",
            "",
            "Wall times depend on the machine's other load (see the load averages); CPU times "
            "and peak RSS much less. init's time includes `dvc add` hashing the CSV into the "
            "cache and loading DVC's repository index.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "init_results.md")
    parser.add_argument("--workdir", type=Path, help="make the temporary repos here")
    args = parser.parse_args(argv)
    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="mlpipe-init-", dir=args.workdir) as tmp:
        runs = measure(args.rows, args.seed, args.repeats, Path(tmp))
    info["load average at end (1/5/15 min)"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    shown = f"--rows {args.rows} --seed {args.seed} --repeats {args.repeats}"
    text = report(args.rows, runs, info, shown)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
