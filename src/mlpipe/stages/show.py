"""`mlpipe metrics`: print the metrics table (test and train side by side)."""

from __future__ import annotations

import argparse

from mlpipe.config import load_params
from mlpipe.io import read_json


def format_metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per metric, one column per dataset (test first)."""
    datasets = sorted(metrics, key=lambda d: (d != "test", d))
    names = sorted({name for values in metrics.values() for name in values})
    width = max([len("metric"), *(len(n) for n in names)])
    lines = ["metric".ljust(width) + "".join(f"{d:>12}" for d in datasets)]
    lines.append("-" * len(lines[0]))
    for name in names:
        cells = []
        for d in datasets:
            value = metrics[d].get(name)
            if value is None:
                cells.append(f"{'-':>12}")
            elif name == "rows":
                cells.append(f"{int(value):>12d}")
            else:
                cells.append(f"{value:>12.4f}")
        lines.append(name.ljust(width) + "".join(cells))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = args.metrics or load_params(args.params).paths.metrics
    print(format_metrics_table(read_json(path)))
    return 0
