"""`mlpipe evaluate`: metrics, slice metrics, plot data and PNG figures for the trained model."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

from mlpipe.config import Params, load_params
from mlpipe.data.schema import Schema, check_params, load_schema
from mlpipe.evaluation.card import FileVersion, file_md5, model_card
from mlpipe.evaluation.evaluate import (
    Evaluation,
    absent_classes,
    evaluate_model,
    needed_columns,
    train_sample,
)
from mlpipe.evaluation.figures import render_figures
from mlpipe.evaluation.rows import row_hashes
from mlpipe.io import (
    atomic_dir,
    iter_parquet,
    parquet_columns,
    parquet_rows,
    read_json,
    read_parquet,
    read_parquet_rows,
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
    model = load_model(args.model)
    config = params.evaluate
    # Only the columns evaluation uses (an unknown slice column is reported by evaluate_model).
    present = set(parquet_columns(args.test))
    wanted = needed_columns(spec, schema.target, (*config.slices, *data.id_columns))
    test = read_parquet(args.test, columns=[c for c in wanted if c in present])
    # Each test row's hash over all its values: pairs the rows of two revisions' predictions.
    hashes = row_hashes(iter_parquet(args.test, params.memory.chunk_rows))
    train_rows = parquet_rows(args.train)
    sample = train_sample(train_rows, config.train_rows, config.seed)
    columns = needed_columns(spec, schema.target)
    if sample is None:
        train = read_parquet(args.train, columns=columns)
    else:
        train = read_parquet_rows(args.train, sample, columns=columns)
    log.info(
        "read %s (%d of %d rows for the train metrics, evaluate.train_rows), %s (%d rows), %s",
        args.train,
        len(train),
        train_rows,
        args.test,
        len(test),
        args.model,
    )
    result = evaluate_model(
        model,
        train,
        test,
        spec,
        schema,
        config,
        data.positive_class,
        params.train.threshold,
        id_columns=data.id_columns,
        row_hashes=hashes,
    )
    absent = absent_classes(test[schema.target], getattr(model, "classes_", ()))
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
            "test": FileVersion(str(args.test), file_md5(args.test), len(test)),
        },
        outputs={
            "plots": args.plots,
            "figures": args.figures,
            "slices": args.slices,
            "metrics": args.metrics,
            "card": args.card,
            "predictions": args.predictions,
            "intervals": args.intervals,
        },
        unlabelled=unlabelled_rows(
            getattr(args, "ingest_report", None) or params.paths.ingest_report
        ),
        audit=read_json(args.audit),
    )
    log.info(
        "wrote %s, %s, %s/ (%d plots), %s/, %s, %s (%d rows), %s",
        args.metrics,
        args.slices,
        args.plots,
        len(result.plots),
        args.figures,
        args.card,
        args.predictions,
        len(test),
        args.intervals,
    )
    return 0


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
