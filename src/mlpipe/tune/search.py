"""One `mlpipe tune` run from loaded inputs to the result document: the folds, the objective
(the train stage's Pipeline fitted per fold), the study in its journal, the JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.config import TrainConfig, TuneConfig
from mlpipe.data.schema import Schema
from mlpipe.model.features import FeatureSpec
from mlpipe.model.space import search_space, searched_values, train_values, with_values
from mlpipe.model.train import target_values
from mlpipe.tune.cv import (
    TrialScore,
    cv_folds,
    direction,
    fold_predictions,
    score_trial,
    tune_metric,
)
from mlpipe.tune.result import Scored, result_document
from mlpipe.tune.study import run_study, sampler_description, study_name


def search(
    train: pd.DataFrame,
    spec: FeatureSpec,
    schema: Schema,
    *,
    tune: TuneConfig,
    base: TrainConfig,
    positive: str | None,
    date_column: str | None,
    train_data: dict[str, Any],
    journal: str | Path,
    trials: int,
    timeout: float | None = None,
    where: str = "params.yaml",
) -> dict[str, Any]:
    """Run (or resume) the study of ``tune`` from ``base`` (the train section as it is) on
    ``train`` (the training split: features, target and ``date_column``) and return the result
    JSON.

    ``positive``: data.positive_class. ``date_column``: orders the folds (given for
    ``split.method: time``, else None). ``train_data``: the split's path, md5 and rows,
    recorded in the JSON and keying the study. ``where`` names the params file in errors.
    """
    task, target = schema.task, schema.target
    metric = tune_metric(tune.metric, task, where)
    ordered = date_column is not None
    dates = train[date_column] if date_column is not None else None
    folds = cv_folds(target_values(train, target, task), task, tune.folds, tune.seed, dates)
    space = search_space(tune, task)
    objective_of_threshold = tune.threshold if task == "binary" else None
    fold_info = {
        "method": "time" if ordered else ("kfold" if task == "regression" else "stratified"),
        "count": tune.folds,
        "seed": tune.seed,
        "validation_rows": [len(f.valid) for f in folds],
    }

    def objective(values: dict[str, Any]) -> TrialScore:
        config = with_values(base, values)
        found = fold_predictions(train, spec, target, task, config, folds, positive)
        return score_trial(task, found, metric, base.threshold, objective_of_threshold, positive)

    state = {
        "train_md5": train_data["md5"],
        "task": task,
        "target": target,
        "positive_class": positive,
        "features": list(spec.columns),
        "metric": metric,
        "threshold_objective": objective_of_threshold,
        "folds": fold_info,
        "space": [p.as_dict() | {"key": p.key} for p in space],
        "train": train_values(base),
    }
    outcome = run_study(
        objective,
        space,
        searched_values(base, space),
        journal=journal,
        name=study_name(state),
        direction=direction(metric),
        seed=tune.seed,
        trials=trials,
        timeout=timeout,
    )
    baseline = outcome.trials[0].score
    return result_document(
        trials=[
            Scored(t.index, t.values, t.score.value, t.score.folds, t.score.threshold)
            for t in outcome.trials
        ],
        baseline=base,
        baseline_folds=baseline.at_current or baseline.folds,
        space=space,
        settings=tune,
        task=task,
        metric=metric,
        direction=direction(metric),
        folds=fold_info,
        train_data=train_data,
        sampler=sampler_description(tune.seed),
        trials_requested=trials,
        not_reproducible=outcome.not_reproducible(trials),
        failed=outcome.failed,
    )
