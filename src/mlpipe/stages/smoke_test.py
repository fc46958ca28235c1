"""`mlpipe smoke-test`: load a model in a fresh process, predict on schema rows, check, time."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mlpipe.config import load_params
from mlpipe.data.schema import load_schema
from mlpipe.evaluation.card import file_md5
from mlpipe.io import InputError, write_json
from mlpipe.model.features import feature_spec
from mlpipe.model.smoke import check_outputs, synthetic_rows

log = logging.getLogger(__name__)
_TIMEOUT_SECONDS = 600


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema = load_schema(args.schema or params.paths.schema)
    model = Path(args.model)
    if not model.is_file():
        raise InputError(
            f"{model}: model file not found. Run `dvc repro`, `dvc pull` or "
            "`dvc artifacts get` first"
        )
    data = params.data
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    rows = args.rows or params.predict.smoke_rows
    sample = synthetic_rows(schema, rows, params.predict.seed)
    with tempfile.TemporaryDirectory(prefix="mlpipe-smoke-") as tmp:
        sample_path, request_path, result_path = (
            Path(tmp) / n for n in ("sample.parquet", "request.json", "result.json")
        )
        sample.to_parquet(sample_path, index=False)
        request = {
            "model": str(model.resolve()),
            "sample": str(sample_path),
            "task": schema.task,
            "features": {
                "numeric": spec.numeric,
                "categorical": spec.categorical,
                "boolean": spec.boolean,
            },
        }
        request_path.write_text(json.dumps(request), encoding="utf-8")
        start = time.perf_counter()
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlpipe.model.smoke",
                "--request",
                str(request_path),
                "--result",
                str(result_path),
            ],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
        process_seconds = time.perf_counter() - start
        result = (
            json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else None
        )
    report = _report(args.model, schema, rows, result, child, process_seconds)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.output:
        write_json(args.output, report)
        log.info("wrote %s", args.output)
    else:
        print(text)
    if not report["ok"]:
        log.error("smoke test FAILED for %s: %s", args.model, "; ".join(report["problems"]))
        return 1
    log.info(
        "smoke test passed: %d rows, load %.3f s, %.3f ms/row in batch, single row p50 %.3f ms",
        rows,
        report["timings"]["load_seconds"],
        report["timings"]["batch_ms_per_row"],
        report["timings"]["single_row_ms_p50"],
    )
    return 0


def _report(
    model: str,
    schema: Any,
    rows: int,
    result: dict[str, Any] | None,
    child: subprocess.CompletedProcess[str],
    process_seconds: float,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "model": model,
        "model_md5": file_md5(model),
        "task": schema.task,
        "rows": rows,
        "process_seconds": round(process_seconds, 4),
    }
    if result is None or not result.get("ok"):
        reason = (
            result["error"]
            if result is not None
            else f"the model process exited {child.returncode}: {child.stderr.strip()[-2000:]}"
        )
        return {**report, "ok": False, "problems": [f"loading or predicting failed: {reason}"]}
    shape = result["shape"]
    values = [float(v) for v in result["output"]]
    if len(shape) == 2:
        output: Any = [values[i * shape[1] : (i + 1) * shape[1]] for i in range(shape[0])]
    else:
        output = values
    expected = None if schema.classes is None else [str(c) for c in schema.classes]
    problems = check_outputs(schema.task, output, rows, result["classes"], expected)
    return {
        **report,
        "ok": not problems,
        "problems": problems,
        "output": {"shape": shape, "classes": result["classes"]},
        "timings": result["timings"],
    }
