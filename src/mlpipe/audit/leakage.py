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
from sklearn.metrics import r2_score, roc_auc_score
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
    """The power of ``values`` alone to predict ``target`` (0 to 1), cross-validated.

    ``target``: class labels (binary, multiclass) or numbers (regression), no missing values,
    aligned with ``values``. ``folds`` is lowered to the rows of the rarest class (at least 2).
    """
    codes = bin_codes(values, bins).reshape(-1, 1)
    y = target.to_numpy()
    if task == "regression":
        y = pd.Series(y, dtype=np.float64).rank(pct=True).to_numpy()
        k = min(folds, len(y))
    else:
        smallest = int(pd.Series(y).value_counts().min())
        k = min(folds, max(2, smallest))
    if len(y) < 2 * k or len(np.unique(codes)) < 2:
        return 0.0
    splitter = (KFold if task == "regression" else StratifiedKFold)(
        n_splits=k, shuffle=True, random_state=seed
    )
    encoder = TargetEncoder(target_type=_TARGET_TYPE[task], cv=splitter)
    with warnings.catch_warnings():  # a class with fewer rows than folds: still encoded
        warnings.simplefilter("ignore", UserWarning)
        encoded = encoder.fit_transform(codes, y)
    if task == "regression":
        score = float(r2_score(y, encoded[:, 0]))
    elif task == "binary":
        positive = np.asarray(y == encoder.classes_[1])
        score = 2.0 * float(roc_auc_score(positive, encoded[:, 0])) - 1.0
    else:
        aucs = [
            float(roc_auc_score(y == label, encoded[:, i]))
            for i, label in enumerate(encoder.classes_)
            if 0 < int(np.sum(y == label)) < len(y)
        ]
        score = 2.0 * float(np.mean(aucs)) - 1.0 if aucs else 0.0
    return round(max(0.0, score), DECIMALS)


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
    target = target.reset_index(drop=True)
    powers = [
        FeaturePower(
            column,
            kinds[column],
            feature_power(
                frame[column].reset_index(drop=True),
                target,
                task,
                folds=folds,
                bins=bins,
                seed=seed,
            ),
        )
        for column in spec.columns
    ]
    return sorted(powers, key=lambda p: (-p.power, p.column))
