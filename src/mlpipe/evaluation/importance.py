"""Permutation feature importance on a seeded sample of rows (cost bounded by params)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from mlpipe.evaluation.metrics import DECIMALS

SCORING = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "r2"}


def feature_importance(
    model: object,
    features: pd.DataFrame,
    target: pd.Series,
    task: str,
    rows: int,
    repeats: int,
    seed: int,
) -> list[dict[str, float | str]]:
    """Mean and std of the drop in score when each input column is shuffled.

    Computed on at most ``rows`` rows drawn with ``seed``; sorted by importance, descending.
    """
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(features), size=min(rows, len(features)), replace=False))
    x = features.iloc[take]
    y = target.iloc[take]
    scoring = SCORING[task]
    if task == "binary" and y.nunique() < 2:
        scoring = "accuracy"
    result = permutation_importance(
        model, x, y, scoring=scoring, n_repeats=repeats, random_state=seed, n_jobs=1
    )
    records = [
        {
            "feature": column,
            "importance": round(float(result.importances_mean[i]), DECIMALS),
            "std": round(float(result.importances_std[i]), DECIMALS),
        }
        for i, column in enumerate(features.columns)
    ]
    return sorted(records, key=lambda r: (-float(r["importance"]), str(r["feature"])))
