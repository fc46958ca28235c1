"""Target leakage: how well each feature, alone, predicts the target.

A feature that predicts the target almost perfectly on its own is rarely an honest signal: it
is usually computed from the target (``log(wage)`` for ``wage``, a total that sums the target's
parts) or recorded after it (the week of arrest for ``arrested``). Its model's metrics then say
nothing about new data.

The single-feature model is a cross-fitted target encoding of the feature's bins
(scikit-learn's ``TargetEncoder``): a numeric feature is cut into at most ``bins`` quantile
bins, each category is a bin, missing values are a bin of their own, and each row gets the
(smoothed) mean target of its bin learnt on the other folds. That is a one-feature model with
one leaf per bin, cheap at any width (no fitting loop), and it finds a leak whatever its shape
(monotone or not, a missing value that means "no event", one category that means the label).

The power of that prediction is 0 for a useless feature and 1 for a perfect one:

- classification: the gini, 2 AUC - 1 (multiclass: of the mean one-vs-rest AUC);
- regression: the r2 on the target's ranks (percentiles). Ranks make a leak visible whatever
  its scale: ``log(wage)`` explains 0.999 of the ranks of ``wage``, but 0.41 of the raw values
  of a salary table whose few huge salaries dominate the squared error.

Negative scores (worse than the mean) are 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from mlpipe.model.features import FeatureSpec

# The name of the power for each task, as reports show it.
POWER_METRIC = {"binary": "gini", "multiclass": "gini", "regression": "r2"}
# Powers are rounded to this many decimals in reports (byte-stable output).
DECIMALS = 4
_TARGET_TYPE = {"binary": "binary", "multiclass": "multiclass", "regression": "continuous"}


@dataclass(frozen=True)
class FeaturePower:
    """One feature's power alone (0: useless, 1: perfect; see the module docstring)."""

    column: str
    kind: str
    power: float


def bin_codes(values: pd.Series, bins: int) -> np.ndarray:
    """One integer code per row: the quantile bin of a numeric value (at most ``bins`` bins,
    fewer when values repeat), the category of any other value, -1 for a missing value.

    A numeric column with at most ``bins`` distinct values keeps one code per value.
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique(dropna=True) > bins:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        present = numbers[~np.isnan(numbers)]
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
        codes = np.searchsorted(edges, numbers, side="right").astype(np.int64)
        codes[np.isnan(numbers)] = -1
        return codes
    codes, _ = pd.factorize(values, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64)


def feature_power(
    values: pd.Series, target: pd.Series, task: str, *, folds: int, bins: int, seed: int
) -> float:
    """The power of ``values`` alone to predict ``target`` (0 to 1), cross-validated (one
    column of ``powers``)."""
    frame = pd.DataFrame({"x": values.reset_index(drop=True)})
    return float(
        powers(frame, target.reset_index(drop=True), task, folds=folds, bins=bins, seed=seed)[0]
    )


def powers(
    frame: pd.DataFrame, target: pd.Series, task: str, *, folds: int, bins: int, seed: int
) -> np.ndarray:
    """The power of each column of ``frame`` alone to predict ``target`` (0 to 1, rounded to
    ``DECIMALS``), in column order.

    ``target``: class labels (binary, multiclass) or numbers (regression), no missing values,
    aligned with ``frame``'s rows. Every column is encoded in one cross-fitted
    ``TargetEncoder`` call on the same ``folds`` folds (seeded; lowered to the rows of the
    rarest class, at least 2). A column with a single value has power 0.
    """
    codes = np.column_stack([bin_codes(frame[c], bins) for c in frame.columns])
    y = target.to_numpy()
    if task == "regression":
        y = pd.Series(y, dtype=np.float64).rank(pct=True).to_numpy()
        k = min(folds, len(y))
    else:
        smallest = int(pd.Series(y).value_counts().min())
        k = min(folds, max(2, smallest))
    varies = (codes != codes[:1]).any(axis=0)
    if len(y) < 2 * k or not varies.any():
        return np.zeros(codes.shape[1])
    splitter = (KFold if task == "regression" else StratifiedKFold)(
        n_splits=k, shuffle=True, random_state=seed
    )
    encoder = TargetEncoder(target_type=_TARGET_TYPE[task], cv=splitter)
    with warnings.catch_warnings():  # a class with fewer rows than folds: still encoded
        warnings.simplefilter("ignore", UserWarning)
        encoded = encoder.fit_transform(codes, y)
    if task == "regression":
        residual = ((encoded - y[:, None]) ** 2).sum(axis=0)
        total = float(((y - y.mean()) ** 2).sum())
        scores = 1.0 - residual / total
    elif task == "binary":
        scores = 2.0 * _auc(encoded, y == encoder.classes_[1]) - 1.0
    else:
        classes = len(encoder.classes_)
        present = [
            i for i, label in enumerate(encoder.classes_) if 0 < np.sum(y == label) < len(y)
        ]
        aucs = [_auc(encoded[:, i::classes], y == encoder.classes_[i]) for i in present]
        scores = 2.0 * np.mean(aucs, axis=0) - 1.0 if aucs else np.zeros(codes.shape[1])
    scores = np.where(varies, np.clip(scores, 0.0, None), 0.0)
    return np.round(scores, DECIMALS)


def _auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """The ROC AUC of each column of ``scores`` for the boolean labels ``positive`` (the
    Mann-Whitney statistic on average ranks: equal to scikit-learn's ``roc_auc_score``)."""
    ranks = rankdata(scores, axis=0)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return (ranks[positive].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def feature_powers(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    target: pd.Series,
    task: str,
    *,
    folds: int,
    bins: int,
    seed: int,
) -> list[FeaturePower]:
    """The power of every feature of ``spec`` alone, strongest first (ties by name).

    ``frame`` holds the feature columns and ``target`` the labels of the same rows (classes as
    text, or numbers for regression; no missing value). Each feature is scored on the same
    folds (``seed``).
    """
    kinds = {c: "numeric" for c in spec.numeric}
    kinds |= {c: "boolean" for c in spec.boolean}
    kinds |= {c: "categorical" for c in spec.categorical}
    columns = list(spec.columns)
    scores = powers(
        frame[columns].reset_index(drop=True),
        target.reset_index(drop=True),
        task,
        folds=folds,
        bins=bins,
        seed=seed,
    )
    found = [
        FeaturePower(column, kinds[column], float(score))
        for column, score in zip(columns, scores, strict=True)
    ]
    return sorted(found, key=lambda p: (-p.power, p.column))
