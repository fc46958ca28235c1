"""Cross-validated scoring for `mlpipe tune` (pure): folds of the training split, the out-of-fold
predictions of a TrainConfig, the decision threshold chosen on them, a trial's score.

Each fold fits the train stage's own Pipeline (``mlpipe.model.train.fit_model``: preprocessing
fitted inside the fold) and scores it with the evaluate stage's metrics
(``mlpipe.evaluation.metrics.compute_metrics``), so a CV score and a test score mean the same
thing. The Optuna study around it is in ``mlpipe.tune.study``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlpipe.config import THRESHOLD_METRICS, ConfigError, TrainConfig
from mlpipe.errors import MlpipeError
from mlpipe.evaluation.metrics import (
    DECIMALS,
    DIRECTIONS,
    TASK_METRICS,
    Predictions,
    compute_metrics,
    positive_class,
)
from mlpipe.model.features import FeatureSpec
from mlpipe.model.predict import class_index, predictions
from mlpipe.model.train import fit_model

# tune.metric left empty: what each task searches for.
DEFAULT_METRICS = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
# Metrics that describe the data rather than the model; never a search objective.
_NOT_OBJECTIVES = ("rows", "positive_rate")
# Thresholds tried when one is chosen: 0.001 to 0.999 in steps of 0.001 (and the current one).
_THRESHOLD_GRID = np.round(np.arange(1, 1000) / 1000, 3)


class TuneError(MlpipeError):
    """The study cannot run as configured; the message says why and what to change."""


@dataclass(frozen=True)
class Fold:
    """Row positions (ascending) of one fold's training and validation parts."""

    train: np.ndarray
    valid: np.ndarray


@dataclass(frozen=True)
class TrialScore:
    """A trial's result: ``value`` is the mean over the folds of the metric (``folds``, in fold
    order), at ``threshold`` for a binary task (None for the others). ``at_current``: the fold
    scores at the threshold params.yaml has (binary), which ``threshold`` may have replaced."""

    value: float
    folds: tuple[float, ...]
    threshold: float | None = None
    at_current: tuple[float, ...] = ()


def tune_metric(configured: str | None, task: str, where: str = "params.yaml") -> str:
    """The metric the study optimises: ``tune.metric``, else the task's default. ConfigError
    when the task's model does not have it."""
    metric = configured or DEFAULT_METRICS[task]
    allowed = [m for m in TASK_METRICS[task] if m not in _NOT_OBJECTIVES]
    if metric not in allowed:
        raise ConfigError(
            f"{where}: tune.metric is '{metric}', which is not a metric of a {task} model (the "
            f"task is from the schema). Use one of: {', '.join(allowed)}"
        )
    return metric


def direction(metric: str) -> str:
    """ "maximize" or "minimize" (Optuna's words) for ``metric``."""
    return "maximize" if DIRECTIONS[metric] == "higher" else "minimize"


def cv_folds(
    target: pd.Series, task: str, folds: int, seed: int, dates: pd.Series | None = None
) -> list[Fold]:
    """``folds`` folds of the training rows whose target is ``target``.

    ``dates`` given (``split.method: time``): ordered folds, as the train/test split is
    ordered. The rows sorted by date are cut into ``folds + 1`` blocks; fold k trains on the
    blocks before block k + 1 and validates on it (a date is never split between the two).
    Otherwise seeded and shuffled: stratified by class for classification (each class needs at
    least ``folds`` rows), plain K-fold for regression.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(target)
    if dates is not None:
        return _time_folds(dates, folds)
    if n < 2 * folds:
        raise TuneError(
            f"the training split has {n} rows, too few for tune.folds={folds}; lower tune.folds"
        )
    if task == "regression":
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(n))
    else:
        counts = target.astype(str).value_counts()
        rare = counts[counts < folds]
        if len(rare):
            raise TuneError(
                f"class '{rare.index[0]}' has {int(rare.iloc[0])} training rows, fewer than "
                f"tune.folds={folds}: every fold needs rows of every class. Lower tune.folds"
            )
        stratified = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = stratified.split(np.zeros(n), target.astype(str).to_numpy())
    return [Fold(np.sort(a), np.sort(b)) for a, b in splits]


def _time_folds(dates: pd.Series, folds: int) -> list[Fold]:
    values = dates.to_numpy()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    n = len(order)
    cuts = []
    for k in range(1, folds + 1):
        cut = round(n * k / (folds + 1))
        while 0 < cut < n and ordered[cut] == ordered[cut - 1]:
            cut += 1  # keep a date on one side
        cuts.append(cut)
    cuts.append(n)
    out = []
    for k in range(folds):
        train, valid = order[: cuts[k]], order[cuts[k] : cuts[k + 1]]
        if len(train) == 0 or len(valid) == 0:
            raise TuneError(
                f"ordered fold {k + 1} of {folds} (split.method: time) has no "
                f"{'training' if len(train) == 0 else 'validation'} rows: too few distinct "
                f"dates in {dates.name!r} for tune.folds={folds}; lower tune.folds"
            )
        out.append(Fold(np.sort(train), np.sort(valid)))
    return out


def fold_predictions(
    train: pd.DataFrame,
    spec: FeatureSpec,
    target: str,
    task: str,
    config: TrainConfig,
    folds: list[Fold],
    positive: str | None = None,
) -> list[Predictions]:
    """The validation rows' predictions of each fold's model, fitted on the fold's training rows
    with the train stage's Pipeline (binary decisions at ``config.threshold``)."""
    out = []
    for fold in folds:
        part = train.iloc[fold.train].reset_index(drop=True)
        model = fit_model(part, spec, target, task, config)
        held_out = train.iloc[fold.valid].reset_index(drop=True)
        out.append(predictions(model, held_out, spec, target, task, config.threshold, positive))
    return out


def choose_threshold(
    folds: list[Predictions], objective: str, current: float, positive: str | None = None
) -> float:
    """The threshold whose mean ``objective`` (f1 or accuracy) over the folds is highest, among
    0.001, 0.002, ... 0.999 and ``current``; of equal ones, the closest to ``current`` (then the
    lower). Binary predictions with probabilities only."""
    candidates = np.unique(np.append(_THRESHOLD_GRID, current))
    total = np.zeros(len(candidates))
    for p in folds:
        pos = positive_class(p.classes, positive)
        score = p.proba[:, list(p.classes).index(pos)]
        total += _objective_at(score, p.y_true == pos, candidates, objective)
    mean = total / len(folds)
    ties = candidates[mean == mean.max()]
    return float(ties[np.argmin(np.abs(ties - current))])


def _objective_at(
    score: np.ndarray, positive: np.ndarray, thresholds: np.ndarray, objective: str
) -> np.ndarray:
    """``objective`` of the decisions ``score >= t`` for each ``t`` of ``thresholds``."""
    pos, neg = np.sort(score[positive]), np.sort(score[~positive])
    tp = len(pos) - np.searchsorted(pos, thresholds, side="left")
    fp = len(neg) - np.searchsorted(neg, thresholds, side="left")
    fn, tn = len(pos) - tp, len(neg) - fp
    if objective == "accuracy":
        return (tp + tn) / max(len(score), 1)
    if objective == "f1":
        denominator = 2 * tp + fp + fn
        return np.divide(2 * tp, denominator, out=np.zeros(len(thresholds)), where=denominator > 0)
    raise ValueError(f"unknown threshold objective {objective!r}")  # config validation prevents


def fold_scores(
    task: str,
    folds: list[Predictions],
    metric: str,
    threshold: float | None = None,
    positive: str | None = None,
) -> tuple[float, ...]:
    """``metric`` on each fold's validation rows (binary decisions at ``threshold``)."""
    out = []
    for number, p in enumerate(folds, start=1):
        if task == "binary" and threshold is not None:
            index = class_index(p.proba, p.classes, threshold, positive)
            p = dataclasses.replace(p, y_pred=np.asarray(p.classes, dtype=object)[index])
        values = compute_metrics(task, p, positive)
        if metric not in values:
            raise TuneError(
                f"{metric} is undefined on fold {number}'s {len(p.y_true)} validation rows "
                "(e.g. they hold one class only); lower tune.folds or choose another tune.metric"
            )
        out.append(values[metric])
    return tuple(out)


def score_trial(
    task: str,
    folds: list[Predictions],
    metric: str,
    current_threshold: float,
    objective: str | None,
    positive: str | None = None,
) -> TrialScore:
    """A trial's score from its out-of-fold predictions.

    Binary: the threshold is ``current_threshold``, or with an ``objective`` the one chosen
    on these predictions (``choose_threshold``); a threshold-dependent ``metric`` is scored at
    it, and never below its score at ``current_threshold``.
    """
    if task != "binary":
        scores = fold_scores(task, folds, metric)
        return TrialScore(_mean(scores), scores)
    threshold = current_threshold
    current = scores = fold_scores(task, folds, metric, threshold, positive)
    if objective is not None:
        chosen = choose_threshold(folds, objective, current_threshold, positive)
        at_chosen = fold_scores(task, folds, metric, chosen, positive)
        worse = metric in THRESHOLD_METRICS and _better(_mean(current), _mean(at_chosen), metric)
        if not worse:  # (rounding aside, the chosen threshold is never worse: it was a candidate)
            threshold, scores = chosen, at_chosen
    return TrialScore(_mean(scores), scores, threshold, current)


def _mean(scores: tuple[float, ...]) -> float:
    return round(float(np.mean(scores)), DECIMALS)


def _better(a: float, b: float, metric: str) -> bool:
    """Whether ``a`` is strictly better than ``b`` for ``metric``."""
    return a > b if DIRECTIONS[metric] == "higher" else a < b
