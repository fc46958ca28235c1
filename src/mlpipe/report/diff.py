"""Differences between two revisions' params, metrics and data, as plain values."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from mlpipe.evaluation.metrics import DIRECTIONS, LOWER

MISSING = object()
# Metrics that describe the data, not the model: shown, never marked better or worse.
INFORMATIONAL = frozenset({"rows", "positive_rate"})


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested params as ``{"train.hist_gradient_boosting.max_iter": 150, ...}``.

    Lists of mappings are flattened by index (``gate.rules[0].min``); other lists are values.
    """
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        for i, value in enumerate(tree):
            out.update(flatten(value, f"{prefix.rstrip('.')}[{i}]."))
    else:
        out[prefix.rstrip(".")] = tree
    return out


@dataclass(frozen=True)
class ParamChange:
    key: str
    old: Any  # MISSING when the key is new
    new: Any  # MISSING when the key was removed


def param_changes(base: dict[str, Any], head: dict[str, Any]) -> list[ParamChange]:
    """Every dotted key whose value differs (added and removed keys included), sorted."""
    old, new = flatten(base), flatten(head)
    keys = sorted(set(old) | set(new))
    return [
        ParamChange(k, old.get(k, MISSING), new.get(k, MISSING))
        for k in keys
        if old.get(k, MISSING) != new.get(k, MISSING)
    ]


@dataclass(frozen=True)
class MetricChange:
    """One metric on both sides; ``verdict`` is better / worse / same / info / new."""

    name: str
    base: float | None
    pr: float | None
    delta: float | None
    relative: float | None
    verdict: str


def metric_changes(base: dict[str, float] | None, pr: dict[str, float]) -> list[MetricChange]:
    """Per metric: values, absolute change (pr - base), relative change (delta / |base|) and
    whether it is an improvement according to ``DIRECTIONS``. Sorted by name."""
    out = []
    for name in sorted(set(pr) | set(base or {})):
        old = None if base is None else base.get(name)
        new = pr.get(name)
        if old is None or new is None:
            out.append(MetricChange(name, old, new, None, None, "new" if old is None else "gone"))
            continue
        delta = new - old
        relative = delta / abs(old) if old != 0 else None
        if name in INFORMATIONAL or name not in DIRECTIONS:
            verdict = "info"
        elif abs(delta) < 1e-12:
            verdict = "same"
        else:
            better = delta < 0 if DIRECTIONS[name] == LOWER else delta > 0
            verdict = "better" if better else "worse"
        out.append(MetricChange(name, old, new, delta, relative, verdict))
    return out


def text_diff(old: str | None, new: str | None, name: str) -> str:
    """A unified diff of two versions of a text file ('' when equal)."""
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            (new or "").splitlines(keepends=True),
            fromfile=f"base/{name}",
            tofile=f"pr/{name}",
        )
    )
