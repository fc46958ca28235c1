"""Fitting the Pipeline: seeded, transforms fitted on train only, a real model that learns."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from mlpipe.config import EstimatorName, TrainConfig
from mlpipe.data.schema import Schema
from mlpipe.model.features import FeatureSpec, feature_spec, model_frame
from mlpipe.model.persist import model_bytes
from mlpipe.model.train import fit_model, target_values

ESTIMATORS = typing.get_args(EstimatorName)  # every estimator params.yaml accepts


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


def _fit(
    estimator: str, train: pd.DataFrame, spec: FeatureSpec, quick: TrainConfig, trees: int
) -> Pipeline:
    """``estimator`` fitted on ``train`` with the quick config (``trees`` for a random forest)."""
    config = dataclasses.replace(
        quick,
        estimator=estimator,
        random_forest=dataclasses.replace(quick.random_forest, n_estimators=trees, n_jobs=1),
    )
    return fit_model(train, spec, "churned", "binary", config)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_each_estimator_learns_the_churn_signal(
    estimator: str,
    churn_split: tuple[pd.DataFrame, pd.DataFrame],
    schema: Schema,
    quick: TrainConfig,
) -> None:
    train, test = churn_split
    spec = feature_spec(schema)
    model = _fit(estimator, train, spec, quick, trees=30)
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
    linear = fit_model(
        train,
        spec,
        "churned",
        "binary",
        dataclasses.replace(quick, estimator="logistic_regression"),
    )
    imputer = linear.named_steps["features"].named_transformers_["numeric"].named_steps["impute"]
    expected = model_frame(train, spec)[list(spec.numeric)].median().to_numpy()
    np.testing.assert_allclose(imputer.statistics_, expected)
    # the test rows' medians differ, so a leak would show
    assert not np.allclose(model_frame(test, spec)[list(spec.numeric)].median(), expected)


def test_the_model_file_does_not_depend_on_the_thread_count(
    churn_split: tuple[pd.DataFrame, pd.DataFrame], schema: Schema, quick: TrainConfig
) -> None:
    from threadpoolctl import threadpool_limits

    train, test = churn_split
    spec = feature_spec(schema)
    files, scores = [], []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            model = fit_model(train, spec, "churned", "binary", quick)
        files.append(model_bytes(model))
        scores.append(model.predict_proba(model_frame(test, spec)))
    np.testing.assert_array_equal(scores[0], scores[1])
    assert files[0] == files[1]  # before the fix: n_threads 1 vs 2 inside the file


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


def test_gradient_boosting_gets_the_categoricals_as_categorical_features(
    churn_split: tuple[pd.DataFrame, pd.DataFrame], schema: Schema, quick: TrainConfig
) -> None:
    train, _ = churn_split
    spec = feature_spec(schema)
    model = fit_model(train, spec, "churned", "binary", quick)
    features, booster = model.named_steps["features"], model.named_steps["model"]
    assert [name for name, *_ in features.transformers] == ["categorical", "numeric", "boolean"]
    encoder = features.named_transformers_["categorical"]
    assert isinstance(encoder, OrdinalEncoder)
    n_cat = len(spec.categorical)
    assert booster.is_categorical_.tolist() == [True] * n_cat + [False] * (
        len(spec.columns) - n_cat
    )
    names = list(features.get_feature_names_out())
    assert names[:n_cat] == [f"categorical__{c}" for c in spec.categorical]
    assert encoder.categories_[0].tolist() == sorted(train["contract"].unique())
    # the booster is fitted on codes, not on a one-hot matrix
    assert booster.n_features_in_ == len(spec.columns)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_unknown_and_missing_values_score_without_error(
    estimator: str,
    churn_split: tuple[pd.DataFrame, pd.DataFrame],
    schema: Schema,
    quick: TrainConfig,
) -> None:
    train, test = churn_split
    spec = feature_spec(schema)
    model = _fit(estimator, train, spec, quick, trees=10)
    rows = test.head(4).copy()
    rows["contract"] = ["never-seen", None, "month-to-month", "one-year"]
    rows["plan"] = pd.array([None, "platinum", "basic", None], dtype="string")
    rows.loc[rows.index[:2], ["age", "total_charges"]] = np.nan
    rows["tech_support"] = pd.array([None, True, False, None], dtype="boolean")
    proba = model.predict_proba(model_frame(rows, spec))
    assert proba.shape == (4, 2)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)


def test_a_categorical_with_more_than_255_values_fits(
    churn_split: tuple[pd.DataFrame, pd.DataFrame], schema: Schema, quick: TrainConfig
) -> None:
    train, test = churn_split
    spec = feature_spec(schema)
    wide = train.assign(region=[f"city-{i}" for i in range(len(train))])  # 300 distinct values
    assert wide["region"].nunique() > 255
    model = fit_model(wide, spec, "churned", "binary", quick)
    encoder = model.named_steps["features"].named_transformers_["categorical"]
    assert encoder.infrequent_categories_[spec.categorical.index("region")] is not None
    proba = model.predict_proba(model_frame(test, spec))[:, 1]  # test regions: all unknown
    assert proba.shape == (len(test),) and np.isfinite(proba).all()
