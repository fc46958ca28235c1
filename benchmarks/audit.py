"""Cost of the audit stage against the train stage on the same data (goal: at 1M rows the audit
costs at most (audit.folds + 1) x train).

For each ``--rows`` size, a temporary repository (``tests/support/repo.make_repo``: real git +
dvc) generates that many rows of the embedded churn data and reproduces the stages up to split
(`dvc repro split`). Then, each as its own process in that repository, interleaved
``--repeats`` times:

1. ``mlpipe train`` on the training split (paths.train): the baseline, the stage the audit is
   compared with;
2. ``mlpipe audit`` on the validated table (paths.ingested), with the params' audit settings
   (a seeded sample of at most ``audit.max_rows`` rows, ``audit.folds`` folds);
3. ``python -c "import mlpipe.stages.audit"``: the audit's start-up (imports) alone.

Medians of wall time, CPU time (user + sys) and peak RSS; the audit/train ratios. Writes
``benchmarks/audit_results.md``.

Usage::

    python benchmarks/audit.py                                # 20 000 and 1 000 000 rows
    python benchmarks/audit.py --rows 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import (
    BIN,
    ROOT,
    machine,
    machine_markdown,
    make_repo,
    median,
    run_timed,
    thread_env,
)
from mlpipe.config import load_params


def measure(rows: int, repeats: int, workdir: Path, threads: int | None) -> dict[str, list]:
    repo = make_repo(workdir / f"rows-{rows}", rows=rows)
    env = {**repo.env, **thread_env(threads)}
    repo.dvc("repro", "split")
    paths = load_params(repo.path / "params.yaml").paths
    commands = {
        "train": [
            str(BIN / "mlpipe"),
            "train",
            "--train",
            paths.train,
            "--schema",
            paths.schema,
            "--model",
            "bench-model.skops",
        ],
        "audit": [
            str(BIN / "mlpipe"),
            "audit",
            "--input",
            paths.ingested,
            "--schema",
            paths.schema,
            "--validation",
            paths.validation,
            "--report",
            "bench-audit.json",
            "--label-issues",
            "bench-label-issues.csv",
        ],
        "audit imports": [sys.executable, "-c", "import mlpipe.stages.audit"],
    }
    runs: dict[str, list] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, argv in commands.items():
            timed = run_timed(argv, repo.path, env)
            runs[name].append(timed)
            print(
                f"  {rows:>9,} rows {name:<13} {timed.seconds:7.2f} s  "
                f"{timed.cpu_seconds:7.2f} s CPU  {timed.peak_rss_mib:6.0f} MiB",
                flush=True,
            )
    return runs


def _row(runs: list) -> tuple[float, float, float]:
    return (
        median([t.seconds for t in runs]),
        median([t.cpu_seconds for t in runs]),
        median([t.peak_rss_mib for t in runs]),
    )


def report(results: dict[int, dict[str, list]], info: dict[str, str], argv: str) -> str:
    audit = load_params(ROOT / "params.yaml").audit
    goal = audit.folds + 1
    lines = [
        "# Audit stage benchmark",
        "",
        f"Written by `python benchmarks/audit.py {argv}`: the embedded churn data at each size "
        "in a temporary git + dvc repository, `dvc repro split`, then `mlpipe train`, "
        "`mlpipe audit` and the audit's imports alone, each its own process, interleaved; "
        f"medians of {len(next(iter(results.values()))['audit'])} run(s). Audit settings: "
        f"max_rows {audit.max_rows:,}, folds {audit.folds}, bins {audit.bins}.",
        "",
        "## Machine",
        "",
        machine_markdown(info),
        "",
        "## Results",
        "",
        "| rows | command | wall s | CPU s | peak RSS MiB |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    verdicts = []
    for rows, runs in results.items():
        figures = {name: _row(timed) for name, timed in runs.items()}
        for name, (wall, cpu, rss) in figures.items():
            lines.append(f"| {rows:,} | `{name}` | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
        (a_wall, a_cpu, _), (t_wall, t_cpu, _) = figures["audit"], figures["train"]
        lines.append(
            f"| {rows:,} | audit / train | {a_wall / t_wall:.2f}x | {a_cpu / t_cpu:.2f}x | |"
        )
        verdicts.append(
            f"- {rows:,} rows: audit / train {a_cpu / t_cpu:.2f}x CPU, {a_wall / t_wall:.2f}x "
            f"wall; goal <= {goal}x (folds + 1): {'met' if a_cpu / t_cpu <= goal else 'NOT met'}"
        )
    lines += ["", "## Goal", "", *verdicts, ""]
    lines += [
        "The audit reads at most `audit.max_rows` rows of the table (a seeded sample), so its "
        "time hardly grows with the table while train's does; at small sizes most of it is "
        "the process start (the imports row).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="OMP/BLAS threads (0: default)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "audit_results.md")
    parser.add_argument("--workdir", type=Path, help="make the temporary repos here")
    args = parser.parse_args(argv)
    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    threads = args.threads or None
    with tempfile.TemporaryDirectory(prefix="mlpipe-audit-", dir=args.workdir) as tmp:
        results = {rows: measure(rows, args.repeats, Path(tmp), threads) for rows in args.rows}
    info["load average at end (1/5/15 min)"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    rows = " ".join(map(str, args.rows))
    shown = f"--rows {rows} --repeats {args.repeats} --threads {args.threads}"
    text = report(results, info, shown)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
