"""`mlpipe predict`: score a CSV/Parquet file with a model file, chunk by chunk.

Exit codes: 0 every row scored, 4 (``SET_ASIDE_EXIT``) scored but some rows set aside
(``predict.bad_rows: skip``; the side file lists them), 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import logging

from tqdm import tqdm

from mlpipe.config import load_params
from mlpipe.data.schema import load_schema
from mlpipe.io import check_outputs_are_not_inputs
from mlpipe.model.features import feature_spec
from mlpipe.model.persist import load_model
from mlpipe.model.scoring import ScoringRules, input_rows, output_format, score_file

log = logging.getLogger(__name__)

SET_ASIDE_EXIT = 4


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema_path = args.schema or params.paths.schema
    output_format(args.output)  # refuse a bad output before any work
    check_outputs_are_not_inputs(
        {"--input": args.input, "--model": args.model, "--schema": schema_path},
        {"--output": args.output},
    )
    schema = load_schema(schema_path)
    data = params.data
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    model = load_model(args.model)
    ids = tuple(data.id_columns) + tuple(
        c.name for c in schema.columns if c.kind == "id" and c.name not in data.id_columns
    )
    rules = ScoringRules(
        extra_columns=params.validate.extra_columns,
        max_invalid_fraction=params.validate.max_invalid_fraction,
        unknown_categories=params.predict.unknown_categories,
        id_columns=ids,
        threshold=params.train.threshold,
        positive_class=data.positive_class,
        contract_alpha=params.predict.contract_alpha,
        bad_rows=params.predict.bad_rows,
    )
    chunk_rows = args.chunk_rows or params.predict.chunk_rows
    with tqdm(total=input_rows(args.input), unit="rows", desc="scoring", disable=None) as bar:
        summary = score_file(
            model,
            args.input,
            args.output,
            schema=schema,
            spec=spec,
            rules=rules,
            csv_config=data.csv,
            chunk_rows=chunk_rows,
            on_chunk=bar.update,
        )
    for change, count in sorted(summary.normalized.items()):
        log.info("normalised %s in %d values (as the ingest stage does)", change, count)
    for message, rows in sorted(summary.warnings.items()):
        log.warning("schema warning: %s (%d rows)", message, rows)
    for column, counts in sorted(summary.unseen.items()):
        shown = ", ".join(f"{k!r} x{v}" for k, v in counts.most_common(5))
        log.warning(
            "unseen categories in '%s': %d rows (%s); scored as unknown (like a missing value)",
            column,
            sum(counts.values()),
            shown,
        )
    scored = summary.rows - summary.set_aside
    log.info("wrote %s: %d rows in %d chunk(s)", args.output, scored, summary.chunks)
    if summary.rejected is None:
        return 0
    if not summary.set_aside:
        log.info("no row set aside (%s has none)", summary.rejected)
        return 0
    log.warning(
        "set aside %d of %d rows that break a row rule (predict.bad_rows: skip): %s lists them "
        "with the reasons; exit code %d",
        summary.set_aside,
        summary.rows,
        summary.rejected,
        SET_ASIDE_EXIT,
    )
    return SET_ASIDE_EXIT
