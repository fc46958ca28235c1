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
    max_features: int | None = None,
) -> list[dict[str, float | str]]:
    """Mean and std of the drop in score when each input column is shuffled.

    Computed on at most ``rows`` rows drawn with ``seed``; sorted by importance, descending.
    Each column costs ``repeats`` predictions, so for tables with more than ``max_features``
    columns only the ``max_features`` columns with the highest mutual information with the
    target are shuffled (the others are left out of the result).
    """
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(features), size=min(rows, len(features)), replace=False))
    x = features.iloc[take]
    y = target.iloc[take]
    scoring = SCORING[task]
    if task == "binary" and y.nunique() < 2:
        scoring = "accuracy"
    if max_features is not None and x.shape[1] > max_features:
        return _top_features_importance(model, x, y, task, scoring, repeats, seed, max_features)
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


def _top_features_importance(
    model: object,
    x: pd.DataFrame,
    y: pd.Series,
    task: str,
    scoring: str,
    repeats: int,
    seed: int,
    max_features: int,
) -> list[dict[str, float | str]]:
    """Permutation importance of the ``max_features`` columns ranked first by mutual
    information with the target (a cheap, model-free pre-selection for wide tables)."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression
    from sklearn.metrics import get_scorer

    encoded = {}
    discrete = []
    for column in x.columns:
        values = x[column]
        if pd.api.types.is_numeric_dtype(values):
            numbers = values.astype(float)
            encoded[column] = numbers.fillna(numbers.median() if numbers.notna().any() else 0.0)
            discrete.append(False)
        else:
            encoded[column] = pd.Series(pd.factorize(values, sort=True)[0], index=values.index)
            discrete.append(True)
    matrix = pd.DataFrame(encoded).to_numpy(dtype=float)
    mutual_info = mutual_info_regression if task == "regression" else mutual_info_classif
    scores = mutual_info(
        matrix, y.to_numpy(), discrete_features=np.array(discrete), random_state=seed
    )
    order = sorted(range(x.shape[1]), key=lambda i: (-scores[i], str(x.columns[i])))
    chosen = [x.columns[i] for i in order[:max_features]]
    scorer = get_scorer(scoring)
    base = scorer(model, x, y)
    rng = np.random.default_rng(seed)
    records = []
    for column in chosen:
        drops = []
        for _ in range(repeats):
            shuffled = x.copy()
            shuffled[column] = x[column].to_numpy()[rng.permutation(len(x))]
            drops.append(base - scorer(model, shuffled, y))
        records.append(
            {
                "feature": column,
                "importance": round(float(np.mean(drops)), DECIMALS),
                "std": round(float(np.std(drops)), DECIMALS),
            }
        )
    return sorted(records, key=lambda r: (-float(r["importance"]), str(r["feature"])))
