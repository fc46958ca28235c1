"""`mlpipe train`: fit the configured scikit-learn Pipeline on the training rows."""

from __future__ import annotations

import argparse
import logging
import time

from mlpipe.config import load_params
from mlpipe.data.schema import check_params, load_schema
from mlpipe.io import parquet_rows, read_parquet
from mlpipe.model.features import feature_spec
from mlpipe.model.persist import save_model
from mlpipe.model.train import fit_model

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema = load_schema(args.schema)
    data = params.data
    check_params(schema, data, args.schema)
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    log.info(
        "reading %s: %d rows; %d numeric, %d boolean, %d categorical features; task %s",
        args.train,
        parquet_rows(args.train),
        len(spec.numeric),
        len(spec.boolean),
        len(spec.categorical),
        schema.task,
    )
    start = time.perf_counter()
    # Only the columns the model uses; the frame is passed without a name, so fit_model can
    # release it once the feature matrix exists (peak memory: see fit_model).
    columns = [*spec.columns, schema.target]
    model = fit_model(
        read_parquet(args.train, columns=columns), spec, schema.target, schema.task, params.train
    )
    # Logged, not written: a timing in an output file would make outputs differ between runs.
    log.info("fit took %.2f s", time.perf_counter() - start)
    save_model(model, args.model)
    log.info("wrote %s (%s, seed %d)", args.model, params.train.estimator, params.train.seed)
    return 0
