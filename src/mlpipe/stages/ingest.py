"""`mlpipe ingest`: read the source table, normalise it, write a typed Parquet table."""

from __future__ import annotations

import argparse
import logging

from mlpipe.config import load_params
from mlpipe.data.ingest import check_roles, normalize, read_source
from mlpipe.io import write_json, write_parquet

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    data = load_params(args.params).data
    raw = read_source(args.source, data.csv)
    log.info("read %s: %d rows x %d columns", args.source, *raw.shape)
    table, report = normalize(raw, data.csv.na_values)
    check_roles(table, data, args.source)
    for kind, columns in report.as_dict().items():
        for column, count in columns.items():
            log.warning("normalised %s: %s in %d values", column, kind.replace("_", " "), count)
    write_parquet(args.output, table)
    write_json(
        args.report,
        {
            "source": str(args.source),
            "rows": len(table),
            "columns": table.shape[1],
            "normalized": report.as_dict(),
        },
    )
    log.info("wrote %s: %d rows x %d columns", args.output, *table.shape)
    return 0
