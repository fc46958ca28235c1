"""`mlpipe schema infer`: write schema.yaml from a table, for review."""

from __future__ import annotations

import argparse
import logging

from mlpipe.config import load_params
from mlpipe.data.contract import infer_contract, read_normalized
from mlpipe.io import write_text

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    data = params.data
    # Default: the source itself, read and normalised exactly as the ingest stage does, so the
    # schema can be written before the first `dvc repro`.
    source = args.input or data.source
    frame, report = read_normalized(source, data, params.memory.chunk_rows)
    inferred = infer_contract(frame, data, report, source, params.paths.unlabelled)
    for level, message in inferred.messages:
        log.log(level, "%s", message)
    output = args.output or params.paths.schema
    write_text(output, inferred.text)
    schema = inferred.schema
    log.info(
        "wrote %s: %d columns, target %s, task %s. Review it and commit it.",
        output,
        len(schema.columns),
        schema.target,
        schema.task,
    )
    return 0
