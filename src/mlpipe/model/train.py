"""Fitting the model: preprocessing + estimator in one scikit-learn Pipeline."""

from __future__ import annotations

import pandas as pd
from sklearn.pipeline import Pipeline

from mlpipe.config import TrainConfig
from mlpipe.model.estimators import NEEDS_SCALING, build_estimator
from mlpipe.model.features import FeatureSpec, model_frame, preprocessor


def target_values(frame: pd.DataFrame, target: str, task: str) -> pd.Series:
    """The target as the model sees it: class labels as text, regression values as float."""
    values = frame[target]
    if task == "regression":
        return pd.to_numeric(values).astype(float)
    return values.astype(str)


def fit_model(
    train: pd.DataFrame, spec: FeatureSpec, target: str, task: str, config: TrainConfig
) -> Pipeline:
    """Fit preprocessing and estimator on the training rows only; returns the fitted Pipeline."""
    pipeline = Pipeline(
        [
            ("features", preprocessor(spec, scale=config.estimator in NEEDS_SCALING)),
            ("model", build_estimator(config, task)),
        ]
    )
    pipeline.fit(model_frame(train, spec), target_values(train, target, task))
    return pipeline
