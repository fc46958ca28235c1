"""`mlpipe ingest`: read the source table, normalise it, write a typed Parquet table.

Two passes over chunks of ``memory.chunk_rows`` rows, so memory does not grow with the table:
pass 1 profiles every column and fixes its conversion, pass 2 converts and writes each chunk.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator

import pandas as pd

from mlpipe.config import load_params
from mlpipe.data.ingest import (
    check_roles,
    convert_chunk,
    iter_source,
    normalize_chunks,
    report_notes,
    report_warnings,
)
from mlpipe.io import write_json, write_parquet_batches

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    data = params.data

    def chunks() -> Iterator[pd.DataFrame]:
        return iter_source(args.source, data.csv, params.memory.chunk_rows)

    plan = normalize_chunks(
        chunks,
        data.csv.na_values,
        on_header=lambda names: check_roles(names, data, args.source),
        decimal=data.csv.decimal,
        thousands=data.csv.thousands,
        keep_text=data.id_columns,  # ids stay as written: "000123" keeps its zeros
        labels=(data.target,),  # a rare class is not a typo: yes/no only if all values are
    )
    log.info("read %s: %d rows x %d columns", args.source, plan.rows, len(plan.columns))
    for kind, columns in plan.report.as_dict().items():
        if kind in (
            "unparseable_number_to_missing",
            "unparseable_boolean_to_missing",
            "timezone_to_utc",
        ):
            continue  # in report_warnings, with examples / the zone
        for column, count in columns.items():
            log.warning("normalised %s: %s in %d values", column, kind.replace("_", " "), count)
    for message in report_notes(plan.report) + report_warnings(plan.report):
        log.warning("%s", message)
    rows = write_parquet_batches(args.output, (convert_chunk(chunk, plan) for chunk in chunks()))
    write_json(
        args.report,
        {
            "source": str(args.source),
            "rows": rows,
            "columns": len(plan.columns),
            "normalized": plan.report.as_dict(),
        },
    )
    log.info("wrote %s: %d rows x %d columns", args.output, rows, len(plan.columns))
    return 0
