"""The serving smoke test: can this model file be loaded and used by a fresh process?

The parent (``mlpipe smoke-test``) synthesises rows from the schema (seeded), starts a new
Python process running this module (``python -m mlpipe.model.smoke``) that loads the model
and predicts, then checks what came back. The child process imports nothing the parent has
loaded, so a model that only loads thanks to state in the training process fails here.

Checks: the output has one row per input row; classifiers give one probability per class of
the schema, each in [0, 1], rows summing to 1, predicted labels among the classes; regressors
give finite values. Timings: model load time, batch time per row, single-row latency.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.data.schema import ColumnSpec, Schema
from mlpipe.model.features import FeatureSpec

# Single-row predictions timed for the latency percentiles.
LATENCY_CALLS = 50
_PROBA_TOLERANCE = 1e-6


def synthetic_rows(schema: Schema, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` rows that satisfy the schema's kinds, ranges and categories (no target).

    Each feature is missing with half the probability of its ``max_missing`` budget, so
    imputers are exercised and the budget holds. Same schema + rows + seed give the same frame.
    """
    rng = np.random.default_rng(seed)
    data: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if spec.name == schema.target:
            continue
        values = pd.Series(_column(spec, rows, rng), dtype=_DTYPES[spec.kind])
        if spec.kind != "id" and spec.max_missing > 0:
            values = values.mask(rng.random(rows) < spec.max_missing / 2)
        data[spec.name] = values
    return pd.DataFrame(data)


_DTYPES = {
    "id": object,
    "categorical": object,
    "boolean": "boolean",
    "numeric": np.float64,
    "datetime": "datetime64[s]",
}


def _column(spec: ColumnSpec, rows: int, rng: np.random.Generator) -> Any:
    if spec.kind == "id":
        return np.asarray([f"smoke-{i:06d}" for i in range(rows)], dtype=object)
    if spec.kind == "boolean":
        return rng.random(rows) < 0.5
    if spec.kind == "categorical":
        choices = list(spec.categories or ("smoke",))
        return np.asarray(choices, dtype=object)[rng.integers(0, len(choices), rows)]
    if spec.kind == "datetime":
        low = pd.Timestamp(str(spec.min or "2020-01-01")).value // 10**9
        high = pd.Timestamp(str(spec.max or "2024-12-31")).value // 10**9
        seconds = rng.integers(low, max(low, high) + 1, rows)
        return pd.to_datetime(seconds, unit="s").astype("datetime64[s]")
    low = float(spec.min) if spec.min is not None else 0.0
    high = float(spec.max) if spec.max is not None else low + 100.0
    values = rng.uniform(low, high, rows)
    return np.floor(values) if spec.integer else values


def check_outputs(
    task: str,
    output: Any,
    rows: int,
    model_classes: Sequence[str] | None,
    expected_classes: Sequence[str] | None,
) -> list[str]:
    """Problems with a model's output for ``rows`` rows (empty list: all checks pass).

    ``output`` is predict_proba's matrix for classifiers, predict's vector for regressors.
    ``expected_classes`` are the schema's classes as text (None: not checked).
    """
    array = np.asarray(output, dtype=float)
    problems: list[str] = []
    if task == "regression":
        if array.shape != (rows,):
            problems.append(f"output shape {list(array.shape)}, expected [{rows}]")
        elif not np.isfinite(array).all():
            problems.append(f"{int((~np.isfinite(array)).sum())} predictions are not finite")
        return problems
    classes = list(model_classes or [])
    if expected_classes is not None and sorted(classes) != sorted(expected_classes):
        problems.append(
            f"model classes {classes} differ from the schema's {list(expected_classes)}"
        )
    if array.ndim != 2 or array.shape != (rows, len(classes)):
        problems.append(
            f"probability shape {list(array.shape)}, expected [{rows}, {len(classes)}]"
        )
        return problems
    if not np.isfinite(array).all():
        problems.append(f"{int((~np.isfinite(array)).sum())} probabilities are not finite")
        return problems
    outside = int(((array < 0) | (array > 1)).sum())
    if outside:
        problems.append(f"{outside} probabilities outside [0, 1]")
    sums = array.sum(axis=1)
    bad = int((np.abs(sums - 1) > _PROBA_TOLERANCE).sum())
    if bad:
        problems.append(f"{bad} rows of probabilities do not sum to 1 (e.g. {sums.min():.6f})")
    return problems


def latency_summary(
    load_seconds: float, batch_seconds: float, rows: int, single_seconds: Sequence[float]
) -> dict[str, float]:
    """Timings in the report: load (s), batch time per row and single-row percentiles (ms)."""
    single = np.asarray(single_seconds, dtype=float) * 1000
    return {
        "load_seconds": round(load_seconds, 4),
        "batch_ms_per_row": round(batch_seconds * 1000 / max(rows, 1), 4),
        "single_row_ms_p50": round(float(np.percentile(single, 50)), 4) if len(single) else 0.0,
        "single_row_ms_p95": round(float(np.percentile(single, 95)), 4) if len(single) else 0.0,
    }


def _worker(model_path: str, sample_path: str, spec: FeatureSpec, task: str) -> dict[str, Any]:
    """Runs in the fresh process: load, predict, time. Returns what the parent checks."""
    from mlpipe.model.features import model_frame
    from mlpipe.model.persist import load_model
    from mlpipe.model.scoring import check_model_features, model_classes

    start = time.perf_counter()
    model = load_model(model_path)
    load_seconds = time.perf_counter() - start
    check_model_features(model, spec)
    x = model_frame(pd.read_parquet(sample_path), spec)
    predict = model.predict if task == "regression" else model.predict_proba
    start = time.perf_counter()
    output = np.asarray(predict(x), dtype=float)
    batch_seconds = time.perf_counter() - start
    single = []
    for i in range(min(LATENCY_CALLS, len(x))):
        start = time.perf_counter()
        predict(x.iloc[[i]])
        single.append(time.perf_counter() - start)
    return {
        "ok": True,
        "classes": None if task == "regression" else list(model_classes(model) or ()),
        "output": [_finite_or_str(v) for v in output.ravel()],
        "shape": list(output.shape),
        "timings": latency_summary(load_seconds, batch_seconds, len(x), single),
    }


def _finite_or_str(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the child process; writes its result as JSON to --result."""
    parser = argparse.ArgumentParser(prog="python -m mlpipe.model.smoke")
    parser.add_argument("--request", required=True, help="JSON: model, sample, task, features")
    parser.add_argument("--result", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    request = json.loads(Path(args.request).read_text(encoding="utf-8"))
    spec = FeatureSpec(**{k: tuple(v) for k, v in request["features"].items()})
    try:
        result = _worker(request["model"], request["sample"], spec, request["task"])
        code = 0
    except Exception as exc:  # reported to the parent, which explains the failure
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        code = 1
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    return code


if __name__ == "__main__":  # pragma: no cover - runs in the child process
    sys.exit(main())
