"""`mlpipe schema infer`: write schema.yaml from a table, for review."""

from __future__ import annotations

import argparse
import logging

from mlpipe.config import load_params
from mlpipe.data.schema import dump_schema, infer_schema
from mlpipe.io import read_parquet, write_text

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    source = args.input or params.paths.ingested
    output = args.output or params.paths.schema
    if str(source).lower().endswith(".parquet"):
        frame = read_parquet(source)
    else:
        from mlpipe.data.ingest import normalize, read_source

        frame, _ = normalize(read_source(source, params.data.csv), params.data.csv.na_values)
    data = params.data
    schema = infer_schema(frame, data.target, data.task, id_columns=data.id_columns)
    if data.task == "auto":
        log.info(
            "data.task is auto: decided '%s' from target '%s' (%d distinct values)",
            schema.task,
            data.target,
            frame[data.target].nunique(),
        )
    write_text(output, dump_schema(schema))
    log.info(
        "wrote %s: %d columns, target %s, task %s. Review it and commit it.",
        output,
        len(schema.columns),
        schema.target,
        schema.task,
    )
    return 0
