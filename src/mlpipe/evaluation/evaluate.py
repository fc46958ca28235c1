"""Everything the evaluate stage computes, as one pure function over in-memory data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import ConfigError, EvaluateConfig
from mlpipe.data.schema import Schema, column_kind
from mlpipe.evaluation import plots as plot_data
from mlpipe.evaluation import rows as row_predictions
from mlpipe.evaluation.bootstrap import intervals_report
from mlpipe.evaluation.importance import feature_importance
from mlpipe.evaluation.metrics import (
    compute_metrics,
    per_class_report,
    positive_class,
    slice_metrics,
    small_slices,
)
from mlpipe.evaluation.partitions import (
    Scored,
    ScoringPlan,
    sample_cut,
    sample_positions,
    score_test_chunk,
    score_train_chunk,
)
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.train import target_values
from mlpipe.predictions import Predictions


@dataclass(frozen=True)
class Evaluation:
    """Metrics (per dataset), slice metrics, per-class report and plot records by plot name;
    the test set's per-row predictions (``mlpipe.evaluation.rows``) and its metrics' bootstrap
    intervals (``mlpipe.evaluation.bootstrap.intervals_report``)."""

    metrics: dict[str, dict[str, float]]
    slices: dict[str, Any]
    plots: dict[str, list[dict[str, Any]]]
    rows: pd.DataFrame | None = field(default=None, compare=False)  # compared by value apart
    intervals: dict[str, Any] | None = None


def train_sample(total: int, rows: int, seed: int) -> np.ndarray | None:
    """Ascending positions of at most ``rows`` of ``total`` training rows, chosen per row with
    ``seed`` (``mlpipe.evaluation.partitions.sample_positions``: the rows whose seeded hash of
    their row number is lowest, the same rows the stage scores on every engine).

    None when the table has no more than ``rows`` rows: every row is used, nothing is drawn.
    The train metrics (the over-fitting check) are computed on these rows only, so their cost
    does not grow with the training set (params ``evaluate.train_rows``).
    """
    return sample_positions(total, rows, seed)


def needed_columns(spec: FeatureSpec, target: str, slices: tuple[str, ...] = ()) -> list[str]:
    """The columns evaluation reads: features, target and the slice columns, each once."""
    return list(dict.fromkeys([*spec.columns, target, *slices]))


def absent_classes(target: pd.Series, classes: Any) -> list[str]:
    """The model's classes that have no row in ``target`` (e.g. a rare class the split put
    entirely in train). Metrics that need every class (multiclass ``roc_auc_ovr_macro`` and
    ``roc_auc_ovr_weighted``) are then left out of that set's metrics."""
    seen = set(target.dropna().astype(str))
    return [str(c) for c in classes if str(c) not in seen]


def check_slices(slices: tuple[str, ...], test: pd.DataFrame, schema: Schema) -> None:
    """Raise ConfigError unless every ``evaluate.slices`` column is a categorical or boolean
    column of ``test`` (metrics are computed per category; a continuous column would give one
    slice per value, each too small to report). The message lists the usable columns."""
    usable = [*schema.features("categorical"), *schema.features("boolean")]
    if usable:
        shown = usable[:20] + (["..."] if len(usable) > 20 else [])
        fix = (
            f"Set evaluate.slices in params.yaml to some of the categorical or boolean columns "
            f"{shown}, or to []"
        )
    else:
        fix = (
            "This data has no categorical or boolean columns to slice by; set evaluate.slices "
            "to [] in params.yaml"
        )
    missing = [c for c in slices if c not in test.columns]
    if missing:
        raise ConfigError(
            f"evaluate.slices names columns that are not in the data: {missing}. {fix}"
        )
    for name in slices:
        kind = schema.column(name).kind if name in schema.names else column_kind(test[name])
        if kind not in ("categorical", "boolean"):
            raise ConfigError(
                f"evaluate.slices: '{name}' is {kind}; slices are per category, use a "
                f"categorical or boolean column. {fix}"
            )


def evaluate_model(
    model: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    spec: FeatureSpec,
    schema: Schema,
    config: EvaluateConfig,
    positive: str | None = None,
    threshold: float = 0.5,
    *,
    id_columns: tuple[str, ...] = (),
    row_hashes: np.ndarray | None = None,
) -> Evaluation:
    """Score ``model`` on test (and train, to spot over-fitting) and build every diagnostic.

    ``train`` may be a sample of the training rows (``train_sample``); the train metrics'
    ``rows`` say how many were scored. Binary decisions: the ``positive`` class when its
    probability reaches ``threshold`` (params ``train.threshold``).
    The per-row test predictions carry the ``id_columns``
    of ``test`` (those it has) and ``row_hashes`` (one per test row, ``rows.row_hashes`` of the
    whole test file; zeros when None). The frames in memory are one chunk of what the stage
    scores chunk by chunk (``mlpipe.evaluation.partitions``): the same result.
    """
    check_slices(config.slices, test, schema)
    plan = ScoringPlan(
        model,
        spec,
        schema.target,
        schema.task,
        threshold=threshold,
        positive=positive,
        slices=config.slices,
        ids=tuple(c for c in id_columns if c in test.columns),
        seed=config.seed,
        cut=sample_cut(len(test), config.importance_rows, config.seed),
    )
    scored = score_test_chunk(test.reset_index(drop=True), plan)
    hashes = np.zeros(len(test), dtype=np.uint64) if row_hashes is None else row_hashes
    scored = replace(scored, hashes=np.asarray(hashes, dtype=np.uint64))
    on_train = score_train_chunk(train.reset_index(drop=True), replace(plan, cut=None))
    return evaluation_of(model, on_train, scored, spec, schema, config, positive)


def evaluation_of(
    model: Any,
    on_train: Predictions,
    scored: Scored,
    spec: FeatureSpec,
    schema: Schema,
    config: EvaluateConfig,
    positive: str | None = None,
) -> Evaluation:
    """Every diagnostic from the predictions on the (sampled) training rows and the scored test
    set (``partitions.Scored``: predictions, slice and id columns, row hashes and the
    importance sample, in the test file's row order)."""
    task = schema.task
    on_test = scored.predictions
    metrics = {
        "test": compute_metrics(task, on_test, positive),
        "train": compute_metrics(task, on_train, positive),
    }
    groups = {c: scored.slices[c] for c in config.slices}
    slices: dict[str, Any] = {
        "test": slice_metrics(task, on_test, groups, config.min_slice_rows, positive),
        # The values each table leaves out, for the reader (a key of its own: readers of
        # "test" see the same columns as before).
        "below_min_rows": {
            "min_rows": config.min_slice_rows,
            "test": small_slices(groups, config.min_slice_rows),
        },
    }
    plots: dict[str, list[dict[str, Any]]] = {}
    if task == "binary":
        pos = positive_class(on_test.classes, positive)
        y = on_test.y_true == pos
        score = on_test.proba[:, list(on_test.classes).index(pos)]
        if len(np.unique(y)) == 2:
            plots["roc"] = plot_data.roc_points(y, score, config.plot_points)
            plots["precision_recall"] = plot_data.pr_points(y, score, config.plot_points)
        plots["calibration"] = plot_data.calibration_points(y, score, config.calibration_bins)
    if task in ("binary", "multiclass"):
        plots["confusion"] = plot_data.confusion_rows(on_test)
        slices["per_class"] = per_class_report(on_test)
    else:
        plots["predictions"] = plot_data.regression_points(
            on_test.y_true, on_test.y_pred, config.plot_points, config.seed
        )
    rows = row_predictions.prediction_rows(on_test, scored.ids, scored.hashes, task)
    boot = config.bootstrap
    intervals = intervals_report(
        row_predictions.scored(rows, positive),
        resamples=boot.resamples,
        confidence=boot.confidence,
        seed=boot.seed,
        max_rows=boot.max_rows,
    )
    # The sample holds at most importance_rows rows, chosen per row (partitions.sample_cut).
    plots["importance"] = feature_importance(
        model,
        model_frame(scored.sample, spec),
        target_values(scored.sample, schema.target, task),
        task,
        rows=config.importance_rows,
        repeats=config.importance_repeats,
        seed=config.seed,
        max_features=config.importance_max_features,
    )
    return Evaluation(metrics=metrics, slices=slices, plots=plots, rows=rows, intervals=intervals)
