"""`mlpipe audit`: target leakage and label issues of the validated table (report + CSV)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from mlpipe.audit.table import audit_table, sample_positions
from mlpipe.config import load_params
from mlpipe.data.ingest import ROW as UNLABELLED_ROW
from mlpipe.data.ingest import source_rows as ingested_source_rows
from mlpipe.data.schema import check_params, load_schema
from mlpipe.io import (
    InputError,
    parquet_rows,
    read_json,
    read_parquet,
    read_parquet_rows,
    write_json,
    write_text,
)
from mlpipe.model.features import feature_spec

log = logging.getLogger(__name__)


def _source_rows(unlabelled: str, labelled: int) -> np.ndarray | None:
    """Each ingested row's source row when ingest set rows aside (their ``row`` numbers are in
    ``unlabelled``); None when it set none aside (or the file is absent)."""
    if not Path(unlabelled).exists() or parquet_rows(unlabelled) == 0:
        return None
    aside = read_parquet(unlabelled, columns=[UNLABELLED_ROW])[UNLABELLED_ROW].to_numpy()
    try:
        return ingested_source_rows(labelled, aside)
    except ValueError as exc:
        raise InputError(f"{unlabelled}: {exc}; run `dvc repro` to write it again") from None


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema = load_schema(args.schema)
    data, config = params.data, params.audit
    check_params(schema, data, args.schema)
    if not read_json(args.validation).get("ok"):
        raise InputError(f"{args.validation}: the data did not pass validation; run validate")
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    ids = list(
        dict.fromkeys([*data.id_columns, *(c.name for c in schema.columns if c.kind == "id")])
    )
    total = parquet_rows(args.input)
    sources = _source_rows(getattr(args, "unlabelled", None) or params.paths.unlabelled, total)
    positions = sample_positions(total, config.max_rows, config.seed)
    columns = list(dict.fromkeys([*spec.columns, schema.target, *ids]))
    frame = read_parquet_rows(args.input, positions, columns=columns)
    log.info(
        "auditing %d of %d rows of %s (audit.max_rows %d, seed %d): %d features, %s",
        len(frame),
        total,
        args.input,
        config.max_rows,
        config.seed,
        len(spec.columns),
        schema.task,
    )
    result = audit_table(
        frame,
        spec,
        schema.target,
        schema.task,
        schema.classes,
        config,
        positions=positions,
        total_rows=total,
        id_columns=ids,
        excluded=data.exclude_columns,
        sources=sources,
    )
    for message in result.warnings:
        log.warning("%s", message)
    leakage, labels = result.report["leakage"], result.report["label_issues"]
    if leakage["features"]:
        strongest = leakage["features"][0]
        log.info(
            "strongest single feature: '%s' (%s %.4f); %d at or above audit.max_feature_power %g",
            strongest["column"],
            leakage["metric"],
            strongest["power"],
            len(leakage["flagged"]),
            config.max_feature_power,
        )
    if labels["computed"]:
        log.info(
            "label issues: %d of %d audited rows (%.1f %%), listed worst first in %s",
            labels["count"],
            labels["checked_rows"],
            100 * labels["share"],
            args.label_issues,
        )
    else:
        log.info("label issues not computed: %s", labels["reason"])
    write_json(args.report, result.report)
    write_text(args.label_issues, result.label_issues.to_csv(index=False, lineterminator="\n"))
    log.info("wrote %s, %s", args.report, args.label_issues)
    return 0
