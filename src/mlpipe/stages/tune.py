"""`mlpipe tune`: search the train section by cross-validation on the training split (Optuna),
write the result JSON, and with --apply set the winning keys in params.yaml.

Not a pipeline stage: the user runs it, reviews the JSON and the params.yaml diff, and
`dvc repro` trains and evaluates the result as usual. The test split is never read.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import yaml

from mlpipe.config import load_params, params_from_dict
from mlpipe.data.schema import check_params, load_schema
from mlpipe.evaluation.card import file_md5
from mlpipe.io import (
    InputError,
    check_outputs_are_not_inputs,
    read_parquet,
    write_json,
    write_text,
)
from mlpipe.model.features import feature_spec
from mlpipe.params_edit import set_keys
from mlpipe.tune.result import summary_lines
from mlpipe.tune.search import search

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    paths, data = params.paths, params.data
    train_path, schema_path = args.train or paths.train, args.schema or paths.schema
    output, journal = args.output or paths.tune, args.journal or paths.tune_journal
    check_outputs_are_not_inputs(
        {"--train": train_path, "--schema": schema_path, "--params": args.params},
        {"--output": output, "--journal": journal},
    )
    trials = params.tune.trials if args.trials is None else args.trials
    if trials < 1 or (args.timeout is not None and args.timeout <= 0):
        raise InputError("--trials must be at least 1 and --timeout above 0 seconds")
    schema = load_schema(schema_path)
    check_params(schema, data, schema_path)
    spec = feature_spec(
        schema, data.numeric_features, data.categorical_features, data.boolean_features
    )
    ordered = params.split.method == "time" and data.date_column is not None
    date_column = data.date_column if ordered else None
    columns = list(dict.fromkeys([*spec.columns, schema.target, *([date_column] * ordered)]))
    train = read_parquet(train_path, columns=columns)
    train_data = {"path": str(train_path), "md5": file_md5(train_path), "rows": len(train)}
    log.info(
        "tuning on %s (%d rows), %d trials; journal %s", train_path, len(train), trials, journal
    )
    document = search(
        train,
        spec,
        schema,
        tune=params.tune,
        base=params.train,
        positive=data.positive_class,
        date_column=date_column,
        train_data=train_data,
        journal=journal,
        trials=trials,
        timeout=args.timeout,
        where=str(args.params),
    )
    write_json(output, document)
    print("\n".join([*summary_lines(document), f"wrote {output}"]))
    if args.apply:
        _apply(Path(args.params), document)
    return 0


def _apply(params_path: Path, document: dict[str, Any]) -> None:
    """Set the winning keys in params.yaml (comments and layout kept)."""
    values = {c["key"]: c["to"] for c in document["changes"]}
    if not values:
        print(f"nothing to apply: {params_path} holds the best values found")
        return
    text = params_path.read_text(encoding="utf-8")
    new = set_keys(text, values, params_path.name)
    params_from_dict(yaml.safe_load(new))  # still valid (ConfigError naming the key if not)
    write_text(params_path, new)
    print(f"applied {len(values)} key(s) to {params_path}; next: dvc repro")
