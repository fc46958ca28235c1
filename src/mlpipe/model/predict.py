"""Model outputs for a table, in the task-agnostic Predictions form evaluation uses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpipe.evaluation.metrics import Predictions
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.train import target_values


def predictions(
    model: object, frame: pd.DataFrame, spec: FeatureSpec, target: str, task: str
) -> Predictions:
    """Predict on ``frame`` (which holds the target) and pair outputs with the true values."""
    x = model_frame(frame, spec)
    y = target_values(frame, target, task).to_numpy()
    if task == "regression":
        return Predictions(y_true=y, y_pred=np.asarray(model.predict(x), dtype=float))
    proba = np.asarray(model.predict_proba(x), dtype=float)
    classes = tuple(str(c) for c in model.classes_)
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    return Predictions(y_true=y.astype(object), y_pred=pred, proba=proba, classes=classes)
