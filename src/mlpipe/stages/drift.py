"""`mlpipe drift`: per-feature drift of a current table against a reference (JSON + markdown)."""

from __future__ import annotations

import argparse
import functools
import logging
from typing import Any

from mlpipe.config import CsvConfig, load_params
from mlpipe.data.drift import (
    ColumnCounts,
    DriftPlan,
    drift_counts,
    drift_markdown,
    drift_plan,
    drift_report,
    merge_drift_counts,
    table_counts,
)
from mlpipe.data.schema import Schema, load_schema
from mlpipe.engine import Executor, executor
from mlpipe.io import (
    COLUMN_BLOCK_VALUES,
    ParquetColumns,
    check_outputs_are_not_inputs,
    write_json,
    write_text,
)

log = logging.getLogger(__name__)


def _read_table(path: str, csv_config: CsvConfig, schema: Schema) -> Any:
    """Parquet as written by the pipeline, read a block of columns at a time (``ParquetColumns``);
    CSV (or anything else) read whole and normalised as ingest does, the schema's boolean
    columns read as yes/no (values that are not become missing, with a warning) and its
    categorical columns with yes/no categories kept as text."""
    if path.lower().endswith((".parquet", ".pq")):
        return ParquetColumns(path)
    from mlpipe.data.ingest import normalize, read_source, report_warnings, yes_no_categories

    # Categorical columns with yes/no categories ('Y', 'no', 'maybe') stay text as in training.
    text = [
        c.name
        for c in schema.columns
        if c.kind == "categorical" and yes_no_categories(c.categories or ())
    ]
    frame, changes = normalize(
        read_source(path, csv_config),
        csv_config.na_values,
        csv_config.decimal,
        thousands=csv_config.thousands,
        keep_text=text,
        booleans=schema.features("boolean"),
        labels=(schema.target,),
    )
    for message in report_warnings(changes):
        log.warning("%s: %s", path, message)
    return frame


def _counts(engine: Executor, table: Any, plan: DriftPlan) -> dict[str, ColumnCounts]:
    """The counts of ``plan``'s columns in ``table``: a Parquet table through the engine (chunk
    by chunk, a block of columns at a time: ``ParquetColumns``' budget), a table already in
    memory (CSV) in this process."""
    if not isinstance(table, ParquetColumns):
        return table_counts(table, plan)
    names = plan.names
    width = max(1, COLUMN_BLOCK_VALUES // max(1, len(table)))
    out: dict[str, ColumnCounts] = {}
    for start in range(0, len(names), width):
        block = names[start : start + width]
        chunk = functools.partial(drift_counts, plan=plan)
        out |= engine.map_merge(table.path, block, chunk, merge_drift_counts, {})
    return out


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema_path = args.schema or params.paths.schema
    check_outputs_are_not_inputs(
        {"--reference": args.reference, "--current": args.current, "--schema": schema_path},
        {"--output-json": args.output_json, "--output-md": args.output_md},
    )
    schema = load_schema(schema_path)
    reference = _read_table(args.reference, params.data.csv, schema)
    current = _read_table(args.current, params.data.csv, schema)
    plan = drift_plan(reference, current, schema, (args.reference, args.current), params.data)
    with executor(params.engine, params.memory.chunk_rows) as engine:
        counts = [_counts(engine, table, plan) for table in (reference, current)]
    report = drift_report(plan, *counts, (len(reference), len(current)), params.drift)
    markdown = drift_markdown(report)
    if args.output_json:
        write_json(args.output_json, report.as_dict())
    if args.output_md:
        write_text(args.output_md, markdown)
    if not (args.output_json or args.output_md):
        print(markdown, end="")
    drifted = report.drifted
    log.info(
        "compared %d columns (%d vs %d rows): %d drifted%s",
        len(report.features),
        report.reference_rows,
        report.current_rows,
        len(drifted),
        f": {', '.join(drifted)}" if drifted else "",
    )
    untested, min_rows = report.not_tested, params.drift.min_rows
    if untested and len(untested) == len(report.features):
        log.warning(
            "none of the %d columns tested: too few rows for KS / chi-square (drift.min_rows "
            "%d), so none can count as drifted; compare a larger table",
            len(untested),
            min_rows,
        )
    elif untested:
        log.warning(
            "%d of %d columns not tested (too few values for KS / chi-square: drift.min_rows "
            "%d), never counted as drifted: %s",
            len(untested),
            len(report.features),
            min_rows,
            ", ".join(untested),
        )
    for column, why in report.not_compared:
        log.info("not compared: '%s' (%s)", column, why)
    for column in report.missing_columns:
        log.info("not compared: the target '%s' is absent from a table (unlabelled)", column)
    return 0
