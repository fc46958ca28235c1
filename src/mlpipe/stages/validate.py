"""`mlpipe validate`: check the ingested table against schema.yaml; write a report or fail.

The checks run chunk by chunk on the executor (``engine.kind``: in this process, or one Dask
task per row group), a block of columns at a time, and their counts are merged in row order:
the report is the same bytes on every engine and cluster.
"""

from __future__ import annotations

import argparse
import logging

from mlpipe.config import load_params
from mlpipe.data.schema import load_schema
from mlpipe.data.validate import validate_parquet
from mlpipe.engine import executor
from mlpipe.evaluation.metrics import check_metric_settings
from mlpipe.io import ParquetColumns, write_json

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema = load_schema(args.schema)
    # The gate and monitoring read metrics of the schema's task: a name the task does not have
    # fails here, before split and train run.
    check_metric_settings(
        schema.task,
        [rule.metric for rule in params.gate.rules],
        params.monitor.metrics,
        args.params,
    )
    log.info("validating %s: %d rows x %d columns", args.input, *ParquetColumns(args.input).shape)
    with executor(params.engine, params.memory.chunk_rows) as engine:
        result = validate_parquet(
            engine.map_merge,
            args.input,
            schema,
            chunk_rows=params.memory.chunk_rows,
            extra_columns=params.validate.extra_columns,
            tolerance=params.validate.max_invalid_fraction,
            id_columns=params.data.id_columns,
        )
    for warning in result.warnings:
        log.warning("schema warning: %s", warning)
    if not result.ok:
        lines = "\n".join(f"  - {v}" for v in result.errors)
        log.error(
            "%s violates %s in %d place(s):\n%s\nFix the data, or review and update the schema "
            "(`mlpipe schema infer` writes a fresh one to compare).",
            args.input,
            args.schema,
            len(result.errors),
            lines,
        )
        return 1
    write_json(args.report, result.as_dict())
    log.info(
        "wrote %s: %d checks passed, %d warnings", args.report, result.checks, len(result.warnings)
    )
    return 0
