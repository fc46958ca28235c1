"""Permutation importance, including the bounded path for wide tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from mlpipe.evaluation.importance import feature_importance


def _data(columns: int = 8, rows: int = 300) -> tuple[LogisticRegression, pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    x = pd.DataFrame({f"f{i}": rng.normal(0, 1, rows) for i in range(columns)})
    y = pd.Series(np.where(x["f3"] + 0.3 * rng.normal(0, 1, rows) > 0, "a", "b"))
    return LogisticRegression().fit(x, y), x, y


def test_every_column_is_scored_when_the_table_is_narrow() -> None:
    model, x, y = _data()
    records = feature_importance(model, x, y, "binary", rows=200, repeats=2, seed=0)
    assert records[0]["feature"] == "f3"
    assert len(records) == 8 and records[0]["importance"] > 0.2


def test_wide_tables_score_only_the_top_columns_by_mutual_information() -> None:
    model, x, y = _data()
    records = feature_importance(
        model, x, y, "binary", rows=200, repeats=2, seed=0, max_features=3
    )
    assert len(records) == 3
    assert records[0]["feature"] == "f3" and records[0]["importance"] > 0.2
    again = feature_importance(model, x, y, "binary", rows=200, repeats=2, seed=0, max_features=3)
    assert again == records  # seeded: same result every run
