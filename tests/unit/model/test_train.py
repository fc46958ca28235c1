"""Fitting the Pipeline: seeded, transforms fitted on train only, a real model that learns."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from mlpipe.config import TrainConfig
from mlpipe.data.schema import Schema
from mlpipe.model.features import feature_spec, model_frame
from mlpipe.model.train import fit_model, target_values


@pytest.mark.parametrize(
    ("values", "task", "expected"),
    [
        ([True, False], "binary", ["True", "False"]),
        ([1, 2], "multiclass", ["1", "2"]),
        (["1.5", 2], "regression", [1.5, 2.0]),
    ],
)
def test_target_values(values: list[object], task: str, expected: list[object]) -> None:
    assert target_values(pd.DataFrame({"y": values}), "y", task).tolist() == expected


@pytest.mark.parametrize(
    "estimator", ["logistic_regression", "random_forest", "hist_gradient_boosting"]
)
def test_each_estimator_learns_the_churn_signal(
    estimator: str,
    churn_split: tuple[pd.DataFrame, pd.DataFrame],
    schema: Schema,
    quick: TrainConfig,
) -> None:
    train, test = churn_split
    config = dataclasses.replace(
        quick,
        estimator=estimator,
        random_forest=dataclasses.replace(quick.random_forest, n_estimators=30, n_jobs=1),
    )
    spec = feature_spec(schema)
    model = fit_model(train, spec, "churned", "binary", config)
    assert isinstance(model, Pipeline) and list(model.named_steps) == ["features", "model"]
    assert model.classes_.tolist() == ["False", "True"]
    score = model.predict_proba(model_frame(test, spec))[:, 1]
    auc = roc_auc_score(test["churned"], score)
    assert 0.65 < auc < 0.99, auc


def test_same_seed_same_model_and_fitted_on_train_only(
    churn_split: tuple[pd.DataFrame, pd.DataFrame], schema: Schema, quick: TrainConfig
) -> None:
    train, test = churn_split
    spec = feature_spec(schema)
    a = fit_model(train, spec, "churned", "binary", quick)
    b = fit_model(train, spec, "churned", "binary", quick)
    x = model_frame(test, spec)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))
    imputer = a.named_steps["features"].named_transformers_["numeric"].named_steps["impute"]
    expected = model_frame(train, spec)[list(spec.numeric)].median().to_numpy()
    np.testing.assert_allclose(imputer.statistics_, expected)
    # the test rows' medians differ, so a leak would show
    assert not np.allclose(model_frame(test, spec)[list(spec.numeric)].median(), expected)


def test_a_different_seed_gives_a_different_forest(
    churn_split: tuple[pd.DataFrame, pd.DataFrame], schema: Schema
) -> None:
    train, test = churn_split
    spec = feature_spec(schema)
    config = TrainConfig(estimator="random_forest")
    config = dataclasses.replace(
        config, random_forest=dataclasses.replace(config.random_forest, n_estimators=10, n_jobs=1)
    )
    a = fit_model(train, spec, "churned", "binary", config)
    b = fit_model(train, spec, "churned", "binary", dataclasses.replace(config, seed=7))
    x = model_frame(test, spec)
    assert not np.array_equal(a.predict_proba(x), b.predict_proba(x))
