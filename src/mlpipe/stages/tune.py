"""`mlpipe tune`: search the train section by cross-validation on the training split (Optuna),
write the result JSON, and with --apply set the winning keys in params.yaml.

Not a pipeline stage: the user runs it, reviews the JSON and the params.yaml diff, and
`dvc repro` trains and evaluates the result as usual. The test split is never read.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import yaml

from mlpipe.config import load_params, params_from_dict
from mlpipe.data.schema import check_params, load_schema
from mlpipe.evaluation.card import file_md5
from mlpipe.io import (
    InputError,
    check_outputs_are_not_inputs,
    read_parquet,
    write_json,
    write_text,
)
from mlpipe.model.features import feature_spec
from mlpipe.model.space import search_space, searched_values, train_values, with_values
from mlpipe.model.train import target_values
from mlpipe.params_edit import set_keys
from mlpipe.tune.cv import (
    TrialScore,
    cv_folds,
    direction,
    fold_predictions,
    score_trial,
    tune_metric,
)
from mlpipe.tune.result import Scored, result_document, summary_lines
from mlpipe.tune.study import SAMPLER, run_study, study_name

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    paths, data, tune = params.paths, params.data, params.tune
    train_path, schema_path = args.train or paths.train, args.schema or paths.schema
    output, journal = args.output or paths.tune, args.journal or paths.tune_journal
    check_outputs_are_not_inputs(
        {"--train": train_path, "--schema": schema_path, "--params": args.params},
        {"--output": output, "--journal": journal},
    )
    trials = tune.trials if args.trials is None else args.trials
    if trials < 1 or (args.timeout is not None and args.timeout <= 0):
        raise InputError("--trials must be at least 1 and --timeout above 0 seconds")
    schema = load_schema(schema_path)
    check_params(schema, data, schema_path)
    spec = feature_spec(
        schema, data.numeric_features, data.categorical_features, data.boolean_features
    )
    task, target, positive = schema.task, schema.target, data.positive_class
    metric = tune_metric(tune.metric, task, args.params)
    ordered = params.split.method == "time" and data.date_column is not None
    columns = [*spec.columns, target, *([data.date_column] if ordered else [])]
    train = read_parquet(train_path, columns=list(dict.fromkeys(columns)))
    dates = train[data.date_column] if ordered else None
    folds = cv_folds(target_values(train, target, task), task, tune.folds, tune.seed, dates)
    space = search_space(tune, task)
    threshold_objective = tune.threshold if task == "binary" else None
    method = "time" if ordered else ("kfold" if task == "regression" else "stratified")
    fold_info = {
        "method": method,
        "count": tune.folds,
        "seed": tune.seed,
        "validation_rows": [len(f.valid) for f in folds],
    }
    train_data = {"path": str(train_path), "md5": file_md5(train_path), "rows": len(train)}

    def objective(values: dict[str, Any]) -> TrialScore:
        config = with_values(params.train, values)
        found = fold_predictions(train, spec, target, task, config, folds, positive)
        current = params.train.threshold
        return score_trial(task, found, metric, current, threshold_objective, positive)

    name = study_name(
        {
            "train_md5": train_data["md5"],
            "task": task,
            "target": target,
            "positive_class": positive,
            "features": list(spec.columns),
            "metric": metric,
            "threshold_objective": threshold_objective,
            "folds": fold_info,
            "space": [p.as_dict() | {"key": p.key} for p in space],
            "train": train_values(params.train),
        }
    )
    log.info(
        "tuning on %s (%d rows): %d trials, %d-fold %s CV, %s %s; journal %s (study %s)",
        train_path,
        len(train),
        trials,
        tune.folds,
        method,
        direction(metric),
        metric,
        journal,
        name,
    )
    outcome = run_study(
        objective,
        space,
        searched_values(params.train, space),
        journal=journal,
        name=name,
        direction=direction(metric),
        seed=tune.seed,
        trials=trials,
        timeout=args.timeout,
    )
    import optuna

    baseline = outcome.trials[0].score
    document = result_document(
        trials=[
            Scored(t.index, t.values, t.score.value, t.score.folds, t.score.threshold)
            for t in outcome.trials
        ],
        baseline=params.train,
        baseline_folds=baseline.at_current or baseline.folds,
        space=space,
        settings=tune,
        task=task,
        metric=metric,
        direction=direction(metric),
        folds=fold_info,
        train_data=train_data,
        sampler={**SAMPLER, "seed": tune.seed, "optuna": optuna.__version__},
        trials_requested=trials,
        not_reproducible=outcome.not_reproducible(trials),
        failed=outcome.failed,
    )
    write_json(output, document)
    print("\n".join([*summary_lines(document), f"wrote {output}"]))
    if args.apply:
        _apply(Path(args.params), document)
    return 0


def _apply(params_path: Path, document: dict[str, Any]) -> None:
    """Set the winning keys in params.yaml (comments and layout kept)."""
    values = {c["key"]: c["to"] for c in document["changes"]}
    if not values:
        print(f"nothing to apply: {params_path} holds the best values found")
        return
    text = params_path.read_text(encoding="utf-8")
    new = set_keys(text, values, params_path.name)
    params_from_dict(yaml.safe_load(new))  # still valid (ConfigError naming the key if not)
    write_text(params_path, new)
    print(f"applied {len(values)} key(s) to {params_path}; next: dvc repro")
