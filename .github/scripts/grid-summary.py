"""Markdown table of an experiment grid from `dvc exp show --json` (read on stdin).

Usage: dvc exp show --json --hide-queued --hide-workspace |
           python grid-summary.py --experiment NAME "key=value key=value" [--experiment ...]

One row for the baseline commit, then one per named experiment, in the order given: the value
of every overridden param (as the experiment recorded it) and every `test.*` metric (all
metrics when there is no `test` section). An experiment that failed (DVC lists it with an
error; its metrics are the baseline's) or is missing is listed as failed. Exit status: 0, or 1
when an experiment failed.

Param keys and values come from the user and experiment names from the environment: every one
is written through `mlpipe.markdown_escape` (the job summary renders as markdown), so none can
mention anyone, inject HTML or shift the table's columns.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from mlpipe.markdown_escape import md, md_code

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _lookup(tree: Any, key: str) -> Any:
    """`a.b[0].c` in nested dicts/lists; KeyError when absent."""
    for name, index in _TOKEN.findall(key):
        if name:
            if not isinstance(tree, dict) or name not in tree:
                raise KeyError(key)
            tree = tree[name]
        else:
            if not isinstance(tree, list) or int(index) >= len(tree):
                raise KeyError(key)
            tree = tree[int(index)]
    return tree


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _metrics(data: dict) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for file in (data.get("metrics") or {}).values():
        flat.update(_flatten(file.get("data") or {}))
    test = {k: v for k, v in flat.items() if k.startswith("test.")}
    return test or flat


def _params(data: dict) -> dict:
    return ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def summarize(show: list[dict], experiments: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """The markdown table and the names of the experiments that have no result."""
    found: dict[str, dict] = {}
    for commit in show:
        for exp in commit.get("experiments") or []:
            revs = exp.get("revs") or []
            state = (exp.get("executor") or {}).get("state")
            ok = revs and revs[0].get("data") and not revs[0].get("error") and state != "failed"
            if exp.get("name") and ok:
                found.setdefault(exp["name"], revs[0]["data"])
    base = show[0]["data"] if show else {}
    keys: list[str] = []
    for _, spec in experiments:
        for override in spec.split():
            key = override.split("=", 1)[0]
            if key not in keys:
                keys.append(key)
    metric_keys = sorted({k for d in [base, *found.values()] for k in _metrics(d)})

    header = ["experiment", "status", *keys, *metric_keys]
    lines = [
        "## Experiment grid",
        "",
        f"Baseline commit {md_code(str(base.get('rev', '?'))[:7])}; {len(experiments)} "
        "experiment(s).",
        "",
        "| " + " | ".join(md(h) for h in header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]

    def row(label: str, status: str, data: dict | None, spec: str) -> str:
        given = dict(o.split("=", 1) for o in spec.split())
        cells = [label, status]
        for key in keys:
            try:
                cells.append(_cell(_lookup(_params(data), key)) if data else given[key])
            except KeyError:
                cells.append(given.get(key, ""))
        metrics = _metrics(data) if data else {}
        cells += [_cell(metrics[k]) if k in metrics else "" for k in metric_keys]
        return "| " + " | ".join(md(c) for c in cells) + " |"

    lines.append(row("baseline", "", base, ""))
    failed = []
    for name, spec in experiments:
        data = found.get(name)
        if data is None:
            failed.append(name)
        lines.append(row(name, "ok" if data else "FAILED", data, spec))
    if failed:
        names = ", ".join(md(name) for name in failed)
        lines += ["", f"Failed: {names} (see `dvc queue logs <name>`)."]
    return "\n".join(lines) + "\n", failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--experiment", nargs=2, action="append", default=[], metavar=("NAME", "OVERRIDES")
    )
    args = parser.parse_args(argv)
    show = json.load(sys.stdin)
    table, failed = summarize(show, [tuple(e) for e in args.experiment])
    sys.stdout.write(table)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
