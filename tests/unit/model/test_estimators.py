"""Each estimator name in params builds the right scikit-learn estimator, seeded."""

from __future__ import annotations

import dataclasses

import pytest
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from mlpipe.config import TrainConfig, params_from_dict
from mlpipe.model.estimators import NEEDS_SCALING, build_estimator


@pytest.mark.parametrize(
    ("name", "task", "cls"),
    [
        ("logistic_regression", "binary", LogisticRegression),
        ("logistic_regression", "multiclass", LogisticRegression),
        ("logistic_regression", "regression", Ridge),
        ("random_forest", "binary", RandomForestClassifier),
        ("random_forest", "regression", RandomForestRegressor),
        ("hist_gradient_boosting", "binary", HistGradientBoostingClassifier),
        ("hist_gradient_boosting", "regression", HistGradientBoostingRegressor),
    ],
)
def test_estimator_class_and_seed(name: str, task: str, cls: type) -> None:
    config = dataclasses.replace(TrainConfig(), estimator=name, seed=123)
    estimator = build_estimator(config, task)
    assert type(estimator) is cls
    assert estimator.get_params()["random_state"] == 123


def test_hyperparameters_come_from_params() -> None:
    train = params_from_dict(
        {
            "train": {
                "estimator": "random_forest",
                "random_forest": {"n_estimators": 7, "max_depth": None, "n_jobs": 1},
                "logistic_regression": {"C": 0.5, "class_weight": "balanced"},
                "hist_gradient_boosting": {"learning_rate": 0.2, "max_leaf_nodes": 4},
            }
        }
    ).train
    forest = build_estimator(train, "binary").get_params()
    assert (forest["n_estimators"], forest["max_depth"], forest["n_jobs"]) == (7, None, 1)
    assert (forest["min_samples_leaf"], forest["max_features"]) == (5, 0.5)
    logistic = build_estimator(
        dataclasses.replace(train, estimator="logistic_regression"), "binary"
    )
    assert (logistic.C, logistic.class_weight, logistic.max_iter) == (0.5, "balanced", 1000)
    ridge = build_estimator(
        dataclasses.replace(train, estimator="logistic_regression"), "regression"
    )
    assert ridge.alpha == 2.0  # alpha = 1 / C
    hgb = build_estimator(dataclasses.replace(train, estimator="hist_gradient_boosting"), "binary")
    assert (hgb.learning_rate, hgb.max_leaf_nodes, hgb.max_iter, hgb.early_stopping) == (
        0.2,
        4,
        150,
        False,
    )


def test_only_linear_models_need_scaling() -> None:
    assert {"logistic_regression"} == NEEDS_SCALING


def test_unknown_estimator_name_is_an_error() -> None:
    config = dataclasses.replace(TrainConfig(), estimator="xgboost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown estimator 'xgboost'"):
        build_estimator(config, "binary")
