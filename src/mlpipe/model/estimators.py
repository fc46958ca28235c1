"""The estimators a user can choose in params.yaml (train.estimator), built from their config."""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from mlpipe.config import TrainConfig

# Estimators whose inputs should be standardised.
NEEDS_SCALING = frozenset({"logistic_regression"})
# Estimators that take categories as ordinal codes (their own categorical splits, no one-hot)
# and missing values as NaN; see features.preprocessor(encoding="ordinal").
NATIVE_CATEGORICAL = frozenset({"hist_gradient_boosting"})


def build_estimator(
    config: TrainConfig, task: str, categorical_features: list[int] | None = None
) -> BaseEstimator:
    """The configured estimator for ``task`` (binary, multiclass or regression), seeded.

    ``categorical_features``: input column indices that hold category codes (used by the
    estimators in ``NATIVE_CATEGORICAL``, ignored by the others).
    """
    regression = task == "regression"
    if config.estimator == "logistic_regression":
        c = config.logistic_regression
        if regression:
            return Ridge(alpha=1.0 / c.C, random_state=config.seed)
        return LogisticRegression(
            C=c.C, max_iter=c.max_iter, class_weight=c.class_weight, random_state=config.seed
        )
    if config.estimator == "random_forest":
        c = config.random_forest
        common = dict(
            n_estimators=c.n_estimators,
            max_depth=c.max_depth,
            min_samples_leaf=c.min_samples_leaf,
            max_features=c.max_features,
            n_jobs=c.n_jobs,
            random_state=config.seed,
        )
        if regression:
            return RandomForestRegressor(**common)
        return RandomForestClassifier(class_weight=c.class_weight, **common)
    if config.estimator == "hist_gradient_boosting":
        c = config.hist_gradient_boosting
        common = dict(
            learning_rate=c.learning_rate,
            max_iter=c.max_iter,
            max_leaf_nodes=c.max_leaf_nodes,
            min_samples_leaf=c.min_samples_leaf,
            l2_regularization=c.l2_regularization,
            early_stopping=c.early_stopping,
            categorical_features=categorical_features,
            random_state=config.seed,
        )
        if regression:
            return HistGradientBoostingRegressor(**common)
        return HistGradientBoostingClassifier(class_weight=c.class_weight, **common)
    raise ValueError(f"unknown estimator {config.estimator!r}")  # config validation prevents it
