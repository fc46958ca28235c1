"""`mlpipe evaluate`: metrics, slice metrics, plot data and PNG figures for the trained model.

The test file is scored chunk by chunk on the executor (``engine.kind``: in this process, or
one Dask task per row group, the model loaded on each worker), and so are the sampled training
rows; only the labels, the model's outputs, the slice and id columns, the row hashes and the
importance sample come back (``mlpipe.evaluation.partitions``). Every output is the same bytes
on every engine and cluster.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.config import Params, load_params
from mlpipe.data.schema import Schema, check_params, load_schema
from mlpipe.engine import executor
from mlpipe.evaluation.card import FileVersion, file_md5, model_card
from mlpipe.evaluation.evaluate import Evaluation, absent_classes, check_slices, evaluation_of
from mlpipe.evaluation.figures import render_figures
from mlpipe.evaluation.partitions import ModelFile, remember_model, score_files, scoring_plans
from mlpipe.io import (
    ROW_GROUP_ROWS,
    atomic_dir,
    empty_table,
    parquet_columns,
    parquet_rows,
    read_json,
    write_json,
    write_parquet,
    write_text,
)
from mlpipe.model.features import FeatureSpec, feature_spec
from mlpipe.model.persist import load_model
from mlpipe.predictions import positive_class

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    schema = load_schema(args.schema)
    data = params.data
    check_params(schema, data, args.schema)
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    # The per-row predictions and the intervals go to paths.* unless the options say otherwise.
    predictions = getattr(args, "predictions", None) or params.paths.test_predictions
    intervals = getattr(args, "intervals", None) or params.paths.intervals
    model = load_model(args.model)
    config = params.evaluate
    # Workers load the model by path (their own directory differs); this process reuses it.
    ref = ModelFile(str(Path(args.model).resolve()), file_md5(args.model))
    remember_model(ref, model)
    test_rows, train_rows = parquet_rows(args.test), parquet_rows(args.train)
    check_slices(config.slices, empty_table(args.test), schema)
    plan, train_plan = scoring_plans(
        ref, spec, schema, params, (args.test, test_rows), (args.train, train_rows)
    )
    # Whole row groups on both engines (the executors cut files alike): a model's probabilities
    # have the same bits whatever memory.chunk_rows (BLAS's last bit depends on the batch).
    with executor(params.engine, ROW_GROUP_ROWS) as engine:
        log.info("scoring %s and %s (%s engine)", args.test, args.train, engine.name)
        scored, on_train = score_files(
            engine.map_merge,
            args.test,
            args.train,
            plan,
            train_plan,
            empty_table,
            parquet_columns,
        )
    check_slices(config.slices, scored.slices, schema)  # a text column of too many values
    log.info(
        "scored %s (%d rows) and %d of %d rows of %s (the train metrics, evaluate.train_rows)",
        args.test,
        test_rows,
        len(on_train.y_true),
        train_rows,
        args.train,
    )
    result = evaluation_of(model, on_train, scored, spec, schema, config, data.positive_class)
    absent = absent_classes(pd.Series(scored.predictions.y_true), getattr(model, "classes_", ()))
    if schema.task == "multiclass" and absent:
        log.warning(
            "the test set has no rows of class(es) %s: roc_auc_ovr_macro and "
            "roc_auc_ovr_weighted are left out of its metrics (a gate or monitor rule on them "
            "fails as 'not among the metrics'); use "
            "split.method: stratified, or add rows of those classes",
            absent,
        )
    write_evaluation(
        result,
        model=model,
        schema=schema,
        spec=spec,
        params=params,
        files={
            "model": FileVersion(str(args.model), file_md5(args.model)),
            "train": FileVersion(str(args.train), file_md5(args.train), train_rows),
            "test": FileVersion(str(args.test), file_md5(args.test), test_rows),
        },
        outputs={
            "plots": args.plots,
            "figures": args.figures,
            "slices": args.slices,
            "metrics": args.metrics,
            "card": args.card,
            "predictions": predictions,
            "intervals": intervals,
        },
        unlabelled=unlabelled_rows(
            getattr(args, "ingest_report", None) or params.paths.ingest_report
        ),
        audit=_audit(getattr(args, "audit", None) or params.paths.audit),
    )
    log.info(
        "wrote %s, %s, %s/ (%d plots), %s/, %s, %s (%d rows), %s",
        args.metrics,
        args.slices,
        args.plots,
        len(result.plots),
        args.figures,
        args.card,
        predictions,
        test_rows,
        intervals,
    )
    return 0


def _audit(path: str | Path) -> dict[str, Any] | None:
    """The audit stage's report for the card (None: no report, e.g. before the audit ran)."""
    return read_json(path) if Path(path).exists() else None


def write_evaluation(
    result: Evaluation,
    *,
    model: Any,
    schema: Schema,
    spec: FeatureSpec,
    params: Params,
    files: dict[str, FileVersion],
    outputs: dict[str, str | Path],
    unlabelled: int | None = None,
    audit: dict[str, Any] | None = None,
) -> None:
    """Write every evaluate output: plot JSON, PNG figures, slices, metrics and the model card.

    ``files`` holds the model, train and test ``FileVersion``s the card names; ``outputs`` the
    paths for "plots", "figures" (directories), "slices", "metrics", "card", "predictions"
    (the per-row test predictions, Parquet) and "intervals" (JSON); ``unlabelled`` the rows
    ingest set aside without a target (the card counts them; None: unknown).
    ``audit`` is the audit stage's report (paths.audit), shown in the card.
    """
    with atomic_dir(outputs["plots"]) as plots_dir:
        for name, records in result.plots.items():
            write_json(Path(plots_dir) / f"{name}.json", records)
    with atomic_dir(outputs["figures"]) as figures_dir:
        render_figures(result.plots, figures_dir)
    write_json(outputs["slices"], result.slices)
    write_json(outputs["metrics"], result.metrics)
    if result.rows is not None:
        write_parquet(outputs["predictions"], result.rows)
    if result.intervals is not None:
        write_json(outputs["intervals"], result.intervals)
    classes = tuple(str(c) for c in getattr(model, "classes_", ())) or None
    card = model_card(
        model=files["model"],
        train=files["train"],
        test=files["test"],
        target=schema.target,
        task=schema.task,
        classes=classes,
        features={
            "numeric": spec.numeric,
            "boolean": spec.boolean,
            "categorical": spec.categorical,
        },
        estimator=params.train.estimator,
        train_params=dataclasses.asdict(params.train),
        metrics=result.metrics,
        slices=result.slices,
        min_slice_rows=params.evaluate.min_slice_rows,
        decision=_decision(schema, classes, params),
        unlabelled=unlabelled,
        intervals=result.intervals,
        audit=audit,
        importance=result.plots.get("importance"),
    )
    write_text(outputs["card"], card)


def unlabelled_rows(report: str | Path) -> int | None:
    """The rows ingest set aside without a target, from its report (None: no report, or one
    written before ingest counted them)."""
    if not Path(report).exists():
        return None
    count = read_json(report).get("unlabelled_rows")
    return count if isinstance(count, int) else None


def _decision(
    schema: Schema, classes: tuple[str, ...] | None, params: Params
) -> dict[str, Any] | None:
    """The binary decision rule the metrics used (for the card), None for other tasks."""
    if schema.task != "binary" or not classes:
        return None
    return {
        "positive_class": positive_class(classes, params.data.positive_class),
        "threshold": params.train.threshold,
    }
