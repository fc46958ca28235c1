"""`mlpipe tune`: search the train section by cross-validation on the training split (Optuna),
write the result JSON, and with --apply set the winning keys in params.yaml.

Not a pipeline stage: the user runs it, reviews the JSON and the params.yaml diff, and
`dvc repro` trains and evaluates the result as usual. The test split is never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path

import yaml

from mlpipe.config import Params, load_params, params_from_dict
from mlpipe.data.schema import check_params, load_schema
from mlpipe.evaluation.card import file_md5
from mlpipe.evaluation.study import SAMPLER, run_study
from mlpipe.evaluation.tune import (
    cv_folds,
    direction,
    fold_predictions,
    score_trial,
    tune_metric,
)
from mlpipe.evaluation.tune_result import Scored, result_document
from mlpipe.io import check_outputs_are_not_inputs, read_parquet, write_json, write_text
from mlpipe.model.features import feature_spec
from mlpipe.model.space import search_space, searched_values, with_values
from mlpipe.model.train import target_values
from mlpipe.params_edit import set_keys

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
    schema = load_schema(schema_path)
    check_params(schema, data, schema_path)
    spec = feature_spec(
        schema, data.numeric_features, data.categorical_features, data.boolean_features
    )
    task, target = schema.task, schema.target
    metric = tune_metric(tune.metric, task, args.params)
    ordered = params.split.method == "time" and data.date_column is not None
    columns = list(dict.fromkeys([*spec.columns, target, *([data.date_column] * ordered)]))
    train = read_parquet(train_path, columns=columns)
    dates = train[data.date_column] if ordered else None
    folds = cv_folds(target_values(train, target, task), task, tune.folds, tune.seed, dates)
    space = search_space(tune, task)
    threshold_objective = tune.threshold if task == "binary" else None

    def objective(values: dict) -> object:
        config = with_values(params.train, values)
        found = fold_predictions(train, spec, target, task, config, folds, data.positive_class)
        current = params.train.threshold
        return score_trial(task, found, metric, current, threshold_objective, data.positive_class)

    train_data = {"path": str(train_path), "md5": file_md5(train_path), "rows": len(train)}
    method = "time" if ordered else ("kfold" if task == "regression" else "stratified")
    fold_info = {
        "method": method,
        "count": tune.folds,
        "seed": tune.seed,
        "validation_rows": [len(f.valid) for f in folds],
    }
    baseline = searched_values(params.train, space)
    key = _study_key(params, train_data["md5"], task, metric, spec.columns, fold_info, space)
    trials = args.trials or tune.trials
    log.info(
        "tuning %s on %s (%d rows, %d-fold %s CV, %s %s): %d trials, journal %s",
        metric,
        train_path,
        len(train),
        tune.folds,
        method,
        direction(metric),
        metric,
        trials,
        journal,
    )
    outcome = run_study(
        objective,  # type: ignore[arg-type]
        space,
        baseline,
        journal=journal,
        name=f"mlpipe-tune-{key}",
        direction=direction(metric),
        seed=tune.seed,
        trials=trials,
        timeout=args.timeout,
    )
    reasons = []
    if outcome.stopped_by_timeout:
        reasons.append(
            f"--timeout stopped the study after {len(outcome.trials)} of {trials} trials "
            f"(`mlpipe tune --trials {len(outcome.trials)}` reproduces these)"
        )
    if outcome.concurrent:
        reasons.append("trials ran in parallel on one journal: the sampler saw another history")
    import optuna

    document = result_document(
        trials=[
            Scored(t.index, t.values, t.score.value, t.score.folds, t.score.threshold)
            for t in outcome.trials
        ],
        baseline=params.train,
        baseline_folds=outcome.trials[0].score.at_current or outcome.trials[0].score.folds,
        space=space,
        settings=tune,
        task=task,
        metric=metric,
        direction=direction(metric),
        folds=fold_info,
        train_data=train_data,
        sampler={**SAMPLER, "seed": tune.seed, "optuna": optuna.__version__},
        trials_requested=trials,
        not_reproducible=reasons,
        failed=outcome.failed,
    )
    write_json(output, document)
    _print_summary(document, output)
    if args.apply:
        _apply(Path(args.params), document)
    return 0


def _study_key(
    params: Params,
    md5: str,
    task: str,
    metric: str,
    columns: tuple[str, ...],
    folds: dict,
    space: tuple,
) -> str:
    """What the trials depend on (not how many are asked for): a study with the same key is
    resumed, any change starts a new one in the same journal."""
    import dataclasses

    state = {
        "train_md5": md5,
        "task": task,
        "target": params.data.target,
        "positive_class": params.data.positive_class,
        "features": list(columns),
        "metric": metric,
        "threshold_objective": params.tune.threshold,
        "folds": folds,
        "space": [p.key for p in space] + [p.as_dict() for p in space],
        "train": dataclasses.asdict(params.train),
    }
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _print_summary(document: dict, output: str) -> None:
    metric, best, base = document["metric"], document["best"], document["baseline"]
    folds = document["folds"]

    def scores(entry: dict) -> str:
        return " ".join(f"{v:.4f}" for v in entry["folds"])

    print(
        f"{document['trials_finished']} trials, {folds['count']}-fold {folds['method']} CV on "
        f"{document['train_data']['rows']} training rows; {metric} ({document['direction']})"
    )
    print(f"baseline (params.yaml): {base['value']:.6f}  folds: {scores(base)}")
    print(f"best (trial {best['trial']}): {best['value']:.6f}  folds: {scores(best)}")
    for change in document["changes"]:
        edge = f"  (at the {change['edge']} end of its range)" if change["edge"] else ""
        print(f"  {change['key']}: {change['from']!r} -> {change['to']!r}{edge}")
    if not document["changes"]:
        print("  no change: params.yaml holds the best values found")
    if not document["reproducible"]:
        print("not reproducible: " + "; ".join(document["not_reproducible"]))
    print(f"wrote {output}")


def _apply(params_path: Path, document: dict) -> None:
    """Set the winning keys in params.yaml (comments and layout kept)."""
    values = {c["key"]: c["to"] for c in document["changes"]}
    if not values:
        print("nothing to apply")
        return
    text = params_path.read_text(encoding="utf-8")
    new = set_keys(text, values, params_path.name)
    params_from_dict(yaml.safe_load(new))  # still valid (raises ConfigError naming the key)
    write_text(params_path, new)
    print(f"applied {len(values)} key(s) to {params_path}; next: dvc repro")
