"""`mlpipe metrics`: print the metrics table (test and train side by side), with the test
metrics' bootstrap intervals when evaluate wrote them (``paths.intervals``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mlpipe.config import load_params
from mlpipe.io import read_json

_INTERVAL_WIDTH = 20


def format_metrics_table(
    metrics: dict[str, dict[str, float]], intervals: dict[str, Any] | None = None
) -> str:
    """A plain-text table: one row per metric, one column per dataset (test first); with
    ``intervals`` (evaluate's intervals report) the test column is followed by its interval."""
    datasets = sorted(metrics, key=lambda d: (d != "test", d))
    names = sorted({name for values in metrics.values() for name in values})
    width = max([len("metric"), *(len(n) for n in names)])
    bounds = (intervals or {}).get("test") or {}
    shown = bool(bounds) and "test" in metrics
    header = "metric".ljust(width)
    for d in datasets:
        header += f"{d:>12}"
        if d == "test" and shown:
            level = f"{float(intervals.get('confidence', 0.95)):.0%}"  # type: ignore[union-attr]
            header += f"{level + ' interval':>{_INTERVAL_WIDTH}}"
    lines = [header, "-" * len(header)]
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
            if d == "test" and shown:
                bound = bounds.get(name)
                text = "" if bound is None else f"[{bound['low']:.4f}, {bound['high']:.4f}]"
                cells.append(f"{text:>{_INTERVAL_WIDTH}}")
        lines.append(name.ljust(width) + "".join(cells))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    path = args.metrics
    intervals_path = getattr(args, "intervals", None)
    if path is None:
        paths = load_params(args.params).paths
        path = paths.metrics
        intervals_path = intervals_path or paths.intervals
    intervals = None
    if intervals_path is not None and Path(intervals_path).is_file():
        intervals = read_json(intervals_path)
    print(format_metrics_table(read_json(path), intervals))
    return 0
