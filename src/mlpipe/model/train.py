"""Fitting the model: preprocessing + estimator in one scikit-learn Pipeline."""

from __future__ import annotations

import pandas as pd
from sklearn.pipeline import Pipeline

from mlpipe.config import TrainConfig
from mlpipe.io import release_arrow_memory
from mlpipe.model.estimators import NATIVE_CATEGORICAL, NEEDS_SCALING, build_estimator
from mlpipe.model.features import FeatureSpec, categorical_indices, model_frame, preprocessor


def target_values(frame: pd.DataFrame, target: str, task: str) -> pd.Series:
    """The target as the model sees it: class labels as text, regression values as float."""
    values = frame[target]
    if task == "regression":
        return pd.to_numeric(values).astype(float)
    return values.astype(str)


def fit_model(
    train: pd.DataFrame, spec: FeatureSpec, target: str, task: str, config: TrainConfig
) -> Pipeline:
    """Fit preprocessing and estimator on the training rows only; returns the fitted Pipeline.

    The two steps are fitted one after the other (as ``Pipeline.fit`` would) so that each
    intermediate table is released as soon as the next one exists: a caller that passes the
    frame it read without keeping a name for it (``fit_model(read_parquet(...), ...)``) lets
    the raw rows go before the estimator is fitted. Peak memory is then the estimator's input
    matrix plus what the estimator itself allocates.
    """
    if config.estimator == "xgboost":
        return _fit_xgboost(train, spec, target, task, config)
    native = config.estimator in NATIVE_CATEGORICAL
    features = preprocessor(
        spec,
        scale=config.estimator in NEEDS_SCALING,
        encoding="ordinal" if native else "onehot",
    )
    y = target_values(train, target, task)
    x = model_frame(train, spec)
    del train  # the last reference when the caller passed a temporary
    release_arrow_memory()
    matrix = features.fit_transform(x, y)
    del x
    release_arrow_memory()
    model = build_estimator(config, task, categorical_indices(spec) if native else None)
    model.fit(matrix, y)
    forget_thread_count(model)
    return Pipeline([("features", features), ("model", model)])


def _fit_xgboost(
    train: pd.DataFrame, spec: FeatureSpec, target: str, task: str, config: TrainConfig
) -> Pipeline:
    """``train.estimator: xgboost`` on this machine: ``XGBoostFeatures`` then the booster."""
    from mlpipe.model.boosting import XGBoostFeatures, check_classes, xgboost_model

    y = target_values(train, target, task)
    x = model_frame(train, spec)
    del train
    release_arrow_memory()
    classes = () if task == "regression" else tuple(sorted(y.unique()))
    check_classes(classes, task)
    features = XGBoostFeatures(spec.numeric, spec.boolean, spec.categorical)
    matrix = features.fit_transform(x)
    del x
    model = xgboost_model(config, task, len(classes))
    model.fit(matrix, y)
    return Pipeline([("features", features), ("model", model)])


def forget_thread_count(estimator: object) -> None:
    """Drop the OpenMP thread count a fitted gradient-boosting model recorded.

    scikit-learn's histogram gradient boosting keeps the number of threads it was fitted with
    on its bin mapper (``_bin_mapper.n_threads``), so the same data, code and params gave
    model files with different bytes on machines with different core counts (or
    ``OMP_NUM_THREADS``), and a model fitted on a big runner would bin with that runner's
    thread count elsewhere. ``None`` is the mapper's default: the count of the machine it runs
    on. The predictions do not depend on it.
    """
    mapper = getattr(estimator, "_bin_mapper", None)
    if mapper is not None:
        mapper.n_threads = None
