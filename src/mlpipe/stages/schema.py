"""`mlpipe schema infer`: write schema.yaml from a table, for review."""

from __future__ import annotations

import argparse
import logging
from collections import Counter

from mlpipe.config import load_params
from mlpipe.data.ingest import (
    check_roles,
    normalize,
    read_source,
    report_notes,
    report_warnings,
)
from mlpipe.data.schema import column_hints, dump_schema, infer_schema, missing_labels_warning
from mlpipe.data.split import date_column_problem
from mlpipe.io import write_text

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    data = params.data
    # Default: the source itself, read and normalised exactly as the ingest stage does, so the
    # schema can be written before the first `dvc repro`.
    source = args.input or data.source
    frame, changes = normalize(
        read_source(source, data.csv),
        data.csv.na_values,
        data.csv.decimal,
        thousands=data.csv.thousands,
        keep_text=data.id_columns,
        labels=(data.target,),
    )
    for message in report_notes(changes) + report_warnings(changes):
        log.warning("%s", message)
    check_roles(frame, data, source)
    schema = infer_schema(
        frame, data.target, data.task, id_columns=data.id_columns, date_column=data.date_column
    )
    if data.task == "auto":
        log.info(
            "data.task is auto: decided '%s' from target '%s' (%d distinct values%s)",
            schema.task,
            data.target,
            frame[data.target].nunique(),
            "" if schema.classes is None else f": {list(schema.classes)[:10]}",
        )
    labels = missing_labels_warning(frame[data.target])
    if labels is not None:
        log.warning("%s (max_missing: 0 in the schema)", labels)
    if data.date_column is not None:
        problem = date_column_problem(frame[data.date_column])
        if problem is not None:
            log.warning("%s", problem)
    for hint in column_hints(frame, schema, data.id_columns):
        log.warning("%s", hint)
    kinds = Counter(spec.kind for spec in schema.columns if spec.name != schema.target)
    log.info("column kinds: %s", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    write_text(args.output or params.paths.schema, dump_schema(schema))
    log.info(
        "wrote %s: %d columns, target %s, task %s. Review it and commit it.",
        args.output or params.paths.schema,
        len(schema.columns),
        schema.target,
        schema.task,
    )
    return 0
