"""Model outputs on one dataset, and which class is positive: shared by model (which makes
predictions) and evaluation (which scores them), so it lives below both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlpipe.config import ConfigError


@dataclass(frozen=True)
class Predictions:
    """Model outputs on one dataset.

    ``y_true``/``y_pred`` are class labels (text) or values; ``proba`` has one column per entry
    of ``classes`` (classification only), rows aligned with ``y_true``.
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    classes: tuple[str, ...] = ()


def positive_class(classes: tuple[str, ...], configured: str | None = None) -> str:
    """The class treated as positive in binary metrics: configured, else the last sorted."""
    if configured is not None:
        if configured not in classes:
            raise ConfigError(
                f"data.positive_class {configured!r} is not one of the classes {list(classes)}; "
                "set it to one of them (as text) or to null"
            )
        return configured
    return sorted(classes)[-1]
