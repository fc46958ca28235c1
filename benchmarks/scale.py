"""How each stage's time and memory grow with the row count (issue 7 targets).

For every size in ``--rows`` a temporary repository is made (``tests/support/repo.make_repo``,
``generate.rows`` set to the size) and every stage of ``dvc.yaml`` is run in order as its own
process, exactly the command dvc.yaml declares (``${...}`` filled from that repo's
params.yaml). Per stage it records wall time, peak RSS from the OS (``os.wait4`` of the child)
and the size of the stage's outputs. Then it writes ``benchmarks/results.md`` (machine, tables,
time ratios against the smallest size, goal verdicts) and ``benchmarks/results.png``.
The overhead comparisons of ``overhead.py`` are measured in the same run at each of
``--overhead-rows`` (default: 20 000, the default params; 100 000, the smallest scale size; and
1 000 000; ``--no-overhead`` skips them).

Usage::

    python benchmarks/scale.py                            # 100k, 1M, 3M, 10M rows
    python benchmarks/scale.py --rows 100000 1000000      # what fits a shared 2-core box

Targets (issue 7): peak RSS of every stage <= 4 GiB at 10M rows; time at 10M <= 12x time at 1M.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from _common import ROOT, Repo, machine, machine_markdown, make_repo, run_timed, thread_env

MEMORY_GOAL_MIB = 4 * 1024
GROWTH_GOAL = 12.0  # time at 10x the rows <= 12x the time
_REF = re.compile(r"\$\{([^}]+)\}")


def stage_commands(repo: Repo) -> dict[str, tuple[list[str], list[str]]]:
    """Stage name -> (argv, output paths) from the repo's dvc.yaml with params filled in."""
    params = yaml.safe_load((repo.path / "params.yaml").read_text())
    pipeline = yaml.safe_load((repo.path / "dvc.yaml").read_text())

    def fill(text: str) -> str:
        def lookup(match: re.Match[str]) -> str:
            node: Any = params
            for part in match.group(1).split("."):
                node = node[part]
            return str(node)

        return _REF.sub(lookup, text)

    out: dict[str, tuple[list[str], list[str]]] = {}
    for name, stage in pipeline["stages"].items():
        outputs = []
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                outputs.append(fill(next(iter(entry)) if isinstance(entry, dict) else entry))
        out[name] = (shlex.split(fill(" ".join(stage["cmd"].split()))), outputs)
    return out


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def run_size(rows: int, workdir: Path, threads: int | None) -> dict[str, dict[str, float]]:
    """Every stage at ``rows`` rows: seconds, peak RSS MiB, output MiB."""
    repo = make_repo(workdir / f"rows-{rows}", rows=rows)
    env = {**repo.env, **thread_env(threads)}
    results: dict[str, dict[str, float]] = {}
    for stage, (argv, outputs) in stage_commands(repo).items():
        timed = run_timed(argv, repo.path, env)
        size = sum(_size(repo.path / o) for o in outputs)
        results[stage] = {
            "seconds": timed.seconds,
            "cpu_seconds": timed.cpu_seconds,
            "peak_rss_mib": timed.peak_rss_mib,
            "output_mib": size / 1024**2,
        }
        print(
            f"  {rows:>11,} rows  {stage:<9} {timed.seconds:8.2f} s  "
            f"{timed.cpu_seconds:8.2f} s CPU  "
            f"{timed.peak_rss_mib:8.0f} MiB RSS  {size / 1024**2:8.1f} MiB out",
            flush=True,
        )
    metrics = json.loads((repo.path / "data/results/metrics.json").read_text())["test"]
    results["_metrics"] = {k: metrics[k] for k in ("roc_auc", "rows") if k in metrics}
    shutil.rmtree(repo.path, ignore_errors=True)
    return results


def tables(sizes: dict[int, dict[str, dict[str, float]]]) -> str:
    """Markdown tables: per stage and size, then ratios against the smallest size."""
    rows = sorted(sizes)
    stages = [s for s in sizes[rows[0]] if not s.startswith("_")]
    head = "| stage | " + " | ".join(f"{n:,} rows" for n in rows) + " |"
    rule = "| --- " * (len(rows) + 1) + "|"
    out = []
    for title, key, fmt in (
        ("Wall time (s)", "seconds", "{:.2f}"),
        ("CPU time, user + system (s)", "cpu_seconds", "{:.2f}"),
        ("Peak RSS (MiB, ru_maxrss of the stage process)", "peak_rss_mib", "{:.0f}"),
        ("Output size (MiB)", "output_mib", "{:.1f}"),
    ):
        out += [f"### {title}", "", head, rule]
        for stage in stages:
            cells = [fmt.format(sizes[n][stage][key]) for n in rows]
            out.append(f"| {stage} | " + " | ".join(cells) + " |")
        if key in ("seconds", "cpu_seconds"):
            totals = [sum(sizes[n][s][key] for s in stages) for n in rows]
            out.append("| **total** | " + " | ".join(f"{t:.2f}" for t in totals) + " |")
        out.append("")
    if len(rows) > 1:
        smallest = rows[0]
        out += [
            f"### Time ratio against {smallest:,} rows: wall (CPU); row ratio in the header",
            "",
            "| stage | " + " | ".join(f"{n:,} ({n / smallest:g}x rows)" for n in rows[1:]) + " |",
            "| --- " * len(rows) + "|",
        ]
        for stage in stages:
            wall, cpu = sizes[smallest][stage]["seconds"], sizes[smallest][stage]["cpu_seconds"]
            cells = [
                f"{sizes[n][stage]['seconds'] / wall:.2f}x "
                f"({sizes[n][stage]['cpu_seconds'] / cpu:.2f}x)"
                for n in rows[1:]
            ]
            out.append(f"| {stage} | " + " | ".join(cells) + " |")
        out.append("")
    out += ["### Test ROC-AUC (sanity check that every size trained a real model)", ""]
    out.append(
        ", ".join(
            f"{n:,} rows: {sizes[n]['_metrics'].get('roc_auc', float('nan')):.4f}" for n in rows
        )
    )
    out.append("")
    return "\n".join(out)


def verdicts(sizes: dict[int, dict[str, dict[str, float]]]) -> str:
    """Which issue 7 goals the measured sizes meet, miss, or cannot tell yet."""
    rows = sorted(sizes)
    stages = [s for s in sizes[rows[0]] if not s.startswith("_")]
    biggest = rows[-1]
    lines = []
    over = [s for s in stages if sizes[biggest][s]["peak_rss_mib"] > MEMORY_GOAL_MIB]
    peak_stage = max(stages, key=lambda s: sizes[biggest][s]["peak_rss_mib"])
    lines.append(
        f"- Memory <= 4 GiB per stage at {biggest:,} rows: "
        + ("MISSED by " + ", ".join(over) if over else "met")
        + f" (largest: {peak_stage}, {sizes[biggest][peak_stage]['peak_rss_mib']:.0f} MiB)."
        + ("" if biggest >= 10_000_000 else " The target is at 10M rows, not measured here.")
    )
    pairs = list(itertools.pairwise(rows))
    # The goal as the issue states it (10x the rows, e.g. 1M -> 10M), when both sizes ran.
    pairs += [
        (a, b) for a, b in itertools.combinations(rows, 2) if b == 10 * a and (a, b) not in pairs
    ]
    for small, large in pairs:
        factor = large / small
        allowed = GROWTH_GOAL * factor / 10
        for key, label in (("cpu_seconds", "CPU"), ("seconds", "wall")):
            worst = max(stages, key=lambda s, k=key: sizes[large][s][k] / sizes[small][s][k])
            ratio = sizes[large][worst][key] / sizes[small][worst][key]
            lines.append(
                f"- {label} time growth {small:,} -> {large:,} rows ({factor:g}x rows): worst "
                f"stage {worst} {ratio:.2f}x; {'within' if ratio <= allowed else 'OVER'} "
                f"{allowed:g}x (the 12x-per-10x-rows goal scaled to this step)."
            )
    return "\n".join(lines)


def plot(sizes: dict[int, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(sizes)
    stages = [s for s in sizes[rows[0]] if not s.startswith("_")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for stage in stages:
        (line,) = left.plot(rows, [sizes[n][stage]["seconds"] for n in rows], "o-", label=stage)
        left.plot(
            rows,
            [sizes[n][stage]["cpu_seconds"] for n in rows],
            "x--",
            color=line.get_color(),
            alpha=0.6,
        )
        right.plot(rows, [sizes[n][stage]["peak_rss_mib"] for n in rows], "o-", label=stage)
    right.axhline(MEMORY_GOAL_MIB, color="red", linestyle="--", label="4 GiB goal")
    for ax, label in ((left, "wall time (s)"), (right, "peak RSS (MiB)")):
        ax.set(xscale="log", yscale="log", xlabel="rows", ylabel=label)
        ax.grid(True, which="both", alpha=0.3)
    left.set_title("Time per stage vs rows (solid: wall, dashed: CPU)")
    right.set_title("Peak memory per stage vs rows")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000, 3_000_000, 10_000_000],
        help="row counts to run (default: 100000 1000000 3000000 10000000)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "benchmarks" / "results.png")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON here")
    parser.add_argument("--workdir", type=Path, help="make the temporary repos here")
    parser.add_argument(
        "--threads", type=int, help="set OMP_NUM_THREADS (and BLAS threads) in every child"
    )
    parser.add_argument(
        "--overhead-rows",
        type=int,
        nargs="+",
        default=[20_000, 100_000, 1_000_000],
        help="row counts for the overhead comparisons (default: 20000, the default params; "
        "100000; 1000000)",
    )
    parser.add_argument("--no-overhead", action="store_true", help="skip the overhead comparisons")
    args = parser.parse_args(argv)
    info = machine()
    info["OMP_NUM_THREADS in the stages"] = str(args.threads or "unset (library default)")
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    sizes: dict[int, dict[str, dict[str, float]]] = {}
    overhead_text = ""
    with tempfile.TemporaryDirectory(prefix="mlpipe-scale-", dir=args.workdir) as tmp:
        for rows in sorted(args.rows):
            sizes[rows] = run_size(rows, Path(tmp), args.threads)
        if not args.no_overhead:
            import overhead

            texts = []
            for rows in args.overhead_rows:
                print(f"overhead at {rows:,} rows", flush=True)
                workdir = Path(tmp) / f"overhead-{rows}"
                result = overhead.measure(rows, 5, 1, workdir, args.threads)
                texts.append(overhead.report(result))
                shutil.rmtree(workdir, ignore_errors=True)
            overhead_text = "\n\n".join(texts)
    info["load average at end (1/5/15 min)"] = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    text = "\n".join(
        [
            "# Scale benchmark results",
            "",
            "Written by `python benchmarks/scale.py "
            + " ".join(["--rows", *map(str, sorted(args.rows))])
            + "`. Each stage ran as its own `mlpipe` process, the command from dvc.yaml.",
            "",
            "## Machine",
            "",
            machine_markdown(info),
            "",
            "## Goals (issue 7)",
            "",
            verdicts(sizes),
            "",
            "## Per stage",
            "",
            tables(sizes),
            *(["## Overhead", "", overhead_text, ""] if overhead_text else []),
            f"![time and memory against rows]({args.plot.name})",
            "",
        ]
    )
    args.output.write_text(text)
    plot(sizes, args.plot)
    if args.json:
        args.json.write_text(json.dumps({str(k): v for k, v in sizes.items()}, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
