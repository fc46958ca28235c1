"""A tiny schema, data and real fitted scikit-learn models for fast in-memory tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from mlpipe.config import (
    HistGradientBoostingConfig,
    RandomForestConfig,
    TrainConfig,
    XGBoostConfig,
)
from mlpipe.data.schema import ColumnSpec, Schema
from mlpipe.model.features import FeatureSpec, feature_spec
from mlpipe.model.train import fit_model

PLANS = ("basic", "premium", "standard")


def tiny_schema(task: str = "binary") -> Schema:
    """id, a numeric, a boolean and a categorical feature, and the target."""
    classes = {"binary": ("no", "yes"), "multiclass": ("a", "b", "c"), "regression": None}[task]
    return Schema(
        target="y",
        task=task,  # type: ignore[arg-type]
        classes=classes,
        columns=(
            ColumnSpec("cid", "id"),
            ColumnSpec("age", "numeric", max_missing=0.2, integer=True, min=18, max=90),
            ColumnSpec("plan", "categorical", categories=PLANS),
            ColumnSpec("tech", "boolean"),
            ColumnSpec(
                "y",
                "numeric" if task == "regression" else "categorical",
                categories=None if classes is None else classes,
            ),
        ),
    )


def tiny_frame(rows: int, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """Rows that satisfy ``tiny_schema(task)``; the target depends on the features."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, rows).astype(float)
    plan = rng.choice(PLANS, rows)
    tech = rng.random(rows) < 0.4
    score = (age - 50) / 20 + (plan == "premium") - tech + rng.normal(0, 0.5, rows)
    if task == "binary":
        y: np.ndarray = np.where(score > 0, "yes", "no")
    elif task == "multiclass":
        y = np.asarray(["a", "b", "c"])[np.digitize(score, [-0.5, 0.5])]
    else:
        y = score * 10
    return pd.DataFrame(
        {
            "cid": [f"c{i:05d}" for i in range(rows)],
            "age": age,
            "plan": plan,
            "tech": tech,
            "y": y,
        }
    )


def tiny_spec(schema: Schema) -> FeatureSpec:
    return feature_spec(schema)


def tiny_model(
    task: str = "binary",
    estimator: str = "hist_gradient_boosting",
    rows: int = 400,
    max_iter: int | None = None,
):
    """A real fitted Pipeline (preprocessing + estimator) on ``tiny_frame``; ``max_iter``: fewer
    boosting rounds than the default, for tests that only need a fitted model of each kind."""
    schema = tiny_schema(task)
    boosting, xgboost = HistGradientBoostingConfig(), XGBoostConfig()
    if max_iter is not None:
        boosting = dataclasses.replace(boosting, max_iter=max_iter)
        xgboost = dataclasses.replace(xgboost, n_estimators=max_iter)
    config = TrainConfig(
        estimator=estimator,  # type: ignore[arg-type]
        random_forest=RandomForestConfig(n_estimators=10, n_jobs=1),
        hist_gradient_boosting=boosting,
        xgboost=xgboost,
    )
    return fit_model(tiny_frame(rows, task), tiny_spec(schema), "y", task, config)
