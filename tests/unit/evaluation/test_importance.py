"""Permutation importance on a seeded sample: the feature the label depends on comes first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlpipe.evaluation.importance import SCORING, feature_importance


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"signal": rng.normal(size=300), "noise": rng.normal(size=300)})
    y = pd.Series(np.where(x["signal"] > 0, "yes", "no"))
    return x, y


def test_the_informative_feature_ranks_first(data: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    rows = feature_importance(model, x, y, "binary", rows=200, repeats=3, seed=1)
    assert [r["feature"] for r in rows] == ["signal", "noise"]
    assert rows[0]["importance"] > 0.3
    assert abs(rows[1]["importance"]) < 0.05
    assert set(rows[0]) == {"feature", "importance", "std"}


def test_seeded_and_sampled(data: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    a = feature_importance(model, x, y, "binary", rows=50, repeats=2, seed=1)
    assert a == feature_importance(model, x, y, "binary", rows=50, repeats=2, seed=1)
    assert a != feature_importance(model, x, y, "binary", rows=50, repeats=2, seed=2)
    # more rows than available: all rows are used, no error
    assert len(feature_importance(model, x, y, "binary", rows=10_000, repeats=1, seed=1)) == 2


def test_single_class_sample_falls_back_to_accuracy(data: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = data
    model = LogisticRegression().fit(x, y)
    only_yes = y == "yes"
    rows = feature_importance(
        model, x[only_yes], y[only_yes], "binary", rows=50, repeats=2, seed=0
    )
    # roc_auc is undefined on one class; accuracy works. Shuffling among positives keeps every
    # prediction, so nothing matters and ties sort by name.
    assert rows == [
        {"feature": "noise", "importance": 0.0, "std": 0.0},
        {"feature": "signal", "importance": 0.0, "std": 0.0},
    ]


def test_regression_uses_r2() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    y = pd.Series(3 * x["b"])
    rows = feature_importance(LinearRegression().fit(x, y), x, y, "regression", 100, 2, 0)
    assert rows[0]["feature"] == "b" and rows[0]["importance"] > 1.0
    assert SCORING == {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}
