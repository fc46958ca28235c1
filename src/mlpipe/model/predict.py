"""Model outputs for a table, in the task-agnostic Predictions form evaluation uses."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.train import target_values
from mlpipe.predictions import Predictions, positive_class


def class_index(
    proba: np.ndarray,
    classes: tuple[str, ...],
    threshold: float = 0.5,
    positive: str | None = None,
) -> np.ndarray:
    """Which class each row is predicted as (column of ``proba``).

    Binary: the positive class (``positive_class``) when its probability is at least
    ``threshold`` (params ``train.threshold``), else the other. Multiclass: the most likely.
    """
    if len(classes) != 2:
        return proba.argmax(axis=1)
    pos = classes.index(positive_class(classes, positive))
    return np.where(proba[:, pos] >= threshold, pos, 1 - pos)


def predictions(
    model: object,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    target: str,
    task: str,
    threshold: float = 0.5,
    positive: str | None = None,
) -> Predictions:
    """Predict on ``frame`` (which holds the target) and pair outputs with the true values.

    A binary prediction is the positive class when its probability reaches ``threshold``.
    """
    x = model_frame(frame, spec)
    y = target_values(frame, target, task).to_numpy()
    if task == "regression":
        return Predictions(y_true=y, y_pred=np.asarray(model.predict(x), dtype=float))
    proba = np.asarray(model.predict_proba(x), dtype=float)
    classes = tuple(str(c) for c in model.classes_)
    index = class_index(proba, classes, threshold, positive)
    pred = np.asarray(classes, dtype=object)[index]
    return Predictions(y_true=y.astype(object), y_pred=pred, proba=proba, classes=classes)
