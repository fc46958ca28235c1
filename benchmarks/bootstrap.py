"""Time of the bootstrap intervals on a large test set (goal: 1M rows, 1,000 resamples, seconds).

Usage (from the repository root):
    python benchmarks/bootstrap.py [--rows 1000000] [--resamples 1000] [--output FILE]

On a synthetic binary test set of ``--rows`` rows (two models scored on the same rows, the
second a noisier copy of the first), in one process:

- the baseline: scikit-learn's metrics once on all rows (``compute_metrics``, what evaluate
  already does);
- one-sample intervals of every metric (what evaluate adds: ``metric_intervals``) and the
  paired comparison of the two models (what `mlpipe report` adds: ``compare``), with the
  default ``evaluate.bootstrap.max_rows`` and with the rows uncapped (timed on 50 resamples and
  scaled to ``--resamples``: the cost is linear in them).

Prints a markdown table (wall and CPU seconds, ratio to the baseline) and writes it to
``--output`` (default benchmarks/bootstrap_results.md). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlpipe.config import BootstrapConfig
from mlpipe.evaluation.bootstrap import Scored, compare, metric_intervals
from mlpipe.evaluation.metrics import Predictions, compute_metrics

ROOT = Path(__file__).resolve().parents[1]


def _models(rows: int) -> tuple[Scored, Scored, Predictions]:
    rng = np.random.default_rng(0)
    y = rng.random(rows) < 0.25
    logit = 1.5 * y - 1.4 + rng.normal(size=rows)
    good = 1 / (1 + np.exp(-logit))
    worse = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, rows))))
    classes = ("False", "True")
    sides = [Scored("binary", y, p >= 0.5, np.round(p, 4), classes) for p in (good, worse)]
    labels = np.where(y, "True", "False").astype(object)
    p = sides[0].score
    baseline = Predictions(
        labels,
        np.where(p >= 0.5, "True", "False").astype(object),
        np.column_stack([1 - p, p]),
        classes,
    )
    return sides[0], sides[1], baseline


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "bootstrap_results.md"))
    args = parser.parse_args()
    cap = BootstrapConfig().max_rows
    load = os.getloadavg()[0]
    a, b, baseline = _models(args.rows)
    settings = {"resamples": args.resamples, "confidence": 0.95, "seed": 42}
    base_wall, base_cpu = _timed(lambda: compute_metrics("binary", baseline))
    rows = [("scikit-learn metrics once (baseline)", base_wall, base_cpu)]
    label = f"max_rows {cap:,}"
    rows.append(
        (
            f"one-sample intervals, {args.resamples} resamples, {label}",
            *_timed(lambda: metric_intervals(a, **settings, max_rows=cap)),
        )
    )
    rows.append(
        (
            f"paired comparison, {args.resamples} resamples, {label}",
            *_timed(lambda: compare(a, b, paired=True, **settings, max_rows=cap)),
        )
    )
    scale = args.resamples / 50
    few = {**settings, "resamples": 50}
    wall, cpu = _timed(lambda: compare(a, b, paired=True, **few, max_rows=args.rows))
    name = f"paired comparison, uncapped ({args.rows:,} rows), x{scale:g} of 50 resamples"
    rows.append((name, wall * scale, cpu * scale))
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    lines = [
        f"# Bootstrap intervals: {args.rows:,} test rows, {args.resamples} resamples",
        "",
        f"`python benchmarks/bootstrap.py --rows {args.rows} --resamples {args.resamples}` on "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, OMP_NUM_THREADS {threads}; load average before the run "
        f"{load:.1f} (a shared machine: CPU seconds are steadier than wall seconds).",
        "",
        "| work | wall s | CPU s | wall / baseline | CPU / baseline |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, wall, cpu in rows:
        ratios = f"{wall / base_wall:.1f}x | {cpu / base_cpu:.1f}x"
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {ratios} |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
