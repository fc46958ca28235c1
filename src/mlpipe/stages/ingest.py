"""`mlpipe ingest`: read the source table, normalise it, write a typed Parquet table.

Two passes over chunks of ``memory.chunk_rows`` rows, so memory does not grow with the table:
pass 1 profiles every column and fixes its conversion, pass 2 converts and writes each chunk.
Rows without a target go to their own table (``--unlabelled``) under ``data.unlabelled: drop``.
Both passes' work on a chunk runs on the executor (``engine.kind``: here, or as Dask tasks);
this process reads the source and writes the results in the source's order, so the files are
the same bytes on every engine and cluster.
"""

from __future__ import annotations

import argparse
import functools
import logging
from collections.abc import Iterator

import pandas as pd

from mlpipe.config import ConfigError, Params, load_params
from mlpipe.data.ingest import (
    check_roles,
    check_slices,
    ingest_chunk,
    iter_source,
    no_labels_message,
    normalize_chunks,
    positioned,
    report_notes,
    report_warnings,
    unlabelled_message,
    unlabelled_warning,
)
from mlpipe.engine import Executor, executor
from mlpipe.io import ParquetBatchWriter, check_outputs_are_not_inputs, write_json

log = logging.getLogger(__name__)


def _check_names(names: list[str], params: Params, source: str) -> None:
    """Every column params.yaml names, checked on the header before anything is read."""
    check_roles(names, params.data, source)
    check_slices(names, params.evaluate.slices, params.data, source)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    unlabelled_path = args.unlabelled or params.paths.unlabelled
    check_outputs_are_not_inputs(
        {"--source": args.source},
        {"--output": args.output, "--report": args.report, "--unlabelled": unlabelled_path},
    )
    with executor(params.engine, params.memory.chunk_rows) as engine:
        return _ingest(args, params, engine, unlabelled_path)


def _ingest(
    args: argparse.Namespace, params: Params, engine: Executor, unlabelled_path: str
) -> int:
    data = params.data

    def chunks() -> Iterator[pd.DataFrame]:
        return iter_source(args.source, data.csv, params.memory.chunk_rows)

    plan = normalize_chunks(
        chunks,
        data.csv.na_values,
        on_header=lambda names: _check_names(names, params, args.source),
        decimal=data.csv.decimal,
        thousands=data.csv.thousands,
        keep_text=data.id_columns,  # ids stay as written: "000123" keeps its zeros
        labels=(data.target,),  # a rare class is not a typo: yes/no only if all values are
        date_format=data.date_format,
        source=str(args.source),
        date_column=data.date_column,
        map_chunks=engine.map_chunks,
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
    drop = data.unlabelled == "drop"
    convert = functools.partial(ingest_chunk, plan=plan, target=data.target, drop=drop)
    with (
        ParquetBatchWriter(args.output) as labelled,
        ParquetBatchWriter(unlabelled_path) as unlabelled,
    ):
        for kept, aside in engine.map_chunks(positioned(chunks()), convert):
            labelled.write(kept)
            unlabelled.write(aside)
        if not labelled.rows:  # every row unlabelled: nothing to train on, nothing written
            raise ConfigError(no_labels_message(data.target, unlabelled.rows))
    rows, aside_rows = labelled.rows, unlabelled.rows
    if drop:
        log.info(
            "%s", unlabelled_message(aside_rows, rows + aside_rows, data.target, unlabelled_path)
        )
    warning = unlabelled_warning(aside_rows, rows + aside_rows, data.target)
    if warning is not None:
        log.warning("%s", warning)
    write_json(
        args.report,
        {
            "source": str(args.source),
            "rows": rows,
            "columns": len(plan.columns),
            "normalized": plan.report.as_dict(),
            "unlabelled_rows": aside_rows,
            "row_index": plan.report.row_index,
            "date_formats": plan.report.date_formats,
        },
    )
    log.info("wrote %s: %d rows x %d columns", args.output, rows, len(plan.columns))
    return 0
