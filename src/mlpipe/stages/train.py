"""`mlpipe train`: fit the configured scikit-learn Pipeline on the training rows (on this machine,
or with ``xgboost.dask`` on the Dask engine's cluster)."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from mlpipe.config import ConfigError, Params, load_params
from mlpipe.data.schema import check_params, load_schema
from mlpipe.io import parquet_rows, read_parquet
from mlpipe.model.features import FeatureSpec, feature_spec
from mlpipe.model.persist import save_model
from mlpipe.model.train import fit_model

log = logging.getLogger(__name__)


def _fit_on_dask(path: str, spec: FeatureSpec, target: str, task: str, params: Params) -> Any:
    """``train.estimator: xgboost`` through ``xgboost.dask`` on the engine's cluster."""
    if params.train.estimator != "xgboost":
        raise ConfigError(
            f"train.estimator '{params.train.estimator}' is scikit-learn's and trains on one "
            "machine; on engine.kind: dask set train.estimator: xgboost (trained with "
            "xgboost.dask), or set engine.kind: local"
        )
    from mlpipe.engine.cluster import get_client
    from mlpipe.model.dask_train import fit_on_dask

    with get_client(params.engine.dask) as client:
        return fit_on_dask(
            client, path, spec, target, task, params.train, params.memory.chunk_rows
        )


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
    if params.engine.kind == "dask":
        model = _fit_on_dask(args.train, spec, schema.target, schema.task, params)
    else:
        # Only the columns the model uses; the frame is passed without a name, so fit_model
        # can release it once the feature matrix exists (peak memory: see fit_model).
        columns = [*spec.columns, schema.target]
        model = fit_model(
            read_parquet(args.train, columns=columns),
            spec,
            schema.target,
            schema.task,
            params.train,
        )
    # Logged, not written: a timing in an output file would make outputs differ between runs.
    log.info("fit took %.2f s", time.perf_counter() - start)
    save_model(model, args.model)
    log.info("wrote %s (%s, seed %d)", args.model, params.train.estimator, params.train.seed)
    return 0
