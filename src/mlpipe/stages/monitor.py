"""`mlpipe monitor`: drift and live metrics of a new batch against the model card.

Exit codes: 0 verdict ok, 3 (``ALERT_EXIT``) verdict alert (a threshold of params.yaml
`monitor:` crossed; the outputs are written), 2 bad input (nothing written).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from mlpipe.config import CsvConfig, Params, load_params
from mlpipe.data.drift import compute_drift
from mlpipe.data.ingest import normalize
from mlpipe.data.schema import Schema, load_schema
from mlpipe.errors import MlpipeError
from mlpipe.evaluation.card import file_md5, read_card
from mlpipe.evaluation.metrics import compute_metrics
from mlpipe.evaluation.monitor import (
    ALERT,
    MonitorResult,
    NoiseEvidence,
    compare_metrics,
    grouped_reasons,
    label_shift,
    live_intervals,
    monitor_figure,
    monitor_markdown,
    monitor_verdict,
    noise_warnings,
    too_few_labelled,
    unavailable_reasons,
    untested_warning,
)
from mlpipe.io import (
    InputError,
    atomic_path,
    check_outputs_are_not_inputs,
    read_json,
    read_parquet,
    write_json,
    write_text,
)
from mlpipe.model.features import FeatureSpec, feature_spec
from mlpipe.model.persist import load_model
from mlpipe.model.predict import predictions
from mlpipe.model.scoring import (
    ScoringRules,
    ScoringSummary,
    check_budgets,
    check_chunk,
    check_model_features,
    iter_input,
    normalize_batch,
    text_columns,
)
from mlpipe.predictions import Predictions
from mlpipe.report.noise import intervals_from_report

log = logging.getLogger(__name__)

ALERT_EXIT = 3


class MonitorError(MlpipeError):
    """The batch cannot be monitored as asked (e.g. --labels without a target column)."""


def _read_reference(
    path: str, csv_config: CsvConfig, keep_text: tuple[str, ...], schema: Schema
) -> pd.DataFrame:
    if not Path(path).is_file():
        raise InputError(
            f"{path}: reference table not found. Fetch the model's training data with "
            "`dvc pull split` (or run `dvc repro`), or pass --reference"
        )
    if path.lower().endswith((".parquet", ".pq")):
        return read_parquet(path)
    from mlpipe.data.ingest import read_source

    frame = read_source(path, csv_config)
    return normalize(
        frame,
        csv_config.na_values,
        csv_config.decimal,
        keep_text,
        thousands=csv_config.thousands,
        booleans=schema.features("boolean"),
        labels=(schema.target,),
    )[0]


def _read_batch(
    path: str,
    schema: Schema,
    spec: FeatureSpec,
    rules: ScoringRules,
    csv_config: CsvConfig,
    chunk_rows: int,
    summary: ScoringSummary,
    keep_text: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The batch, normalised and checked as `mlpipe predict` does: column rules chunk by chunk,
    the budgets on the whole batch (``summary.tests``). Rows within the budgets that break a
    row rule stay in the batch (their values are drift to report)."""
    frames = []
    for raw in iter_input(path, csv_config, chunk_rows):
        first, last = summary.rows + 1, summary.rows + len(raw)
        raw = raw.reset_index(drop=True)
        frame, changes = normalize_batch(raw, schema, csv_config, keep_text, first - 1)
        where = f"{path} rows {first}-{last}"
        check_chunk(frame, schema, spec, rules, where, summary, changes, raw, csv_config.na_values)
        frames.append(frame)
        summary.rows = last
    check_budgets(summary, schema, rules, path)
    return pd.concat(frames, ignore_index=True)


def _noise_evidence(
    path: str, card: dict, scored: Predictions, task: str, params: Params
) -> NoiseEvidence:
    """The card's test intervals (evaluate's intervals file at ``path``) and the batch's own,
    bootstrapped with ``evaluate.bootstrap``'s resamples, seed and row cap at the file's
    confidence (so both intervals have the same level). A missing file, or one describing
    another test set than the card's, leaves the card without intervals and says why."""
    report: dict = {}
    unavailable = ""
    if not Path(path).is_file():
        unavailable = (
            f"{path} not found (a model card from before the intervals, or evaluate has not "
            "run); run `dvc repro` (evaluate writes it) or pass --intervals"
        )
    else:
        try:
            report = read_json(path)
        except ValueError as exc:
            raise InputError(
                f"{path}: not valid JSON ({exc}); run `dvc repro` (evaluate writes it) or "
                "`git checkout` it. Nothing written"
            ) from None
        if not isinstance(report, dict):
            raise InputError(
                f"{path}: not an intervals file (a JSON object written by evaluate); run "
                "`dvc repro` or pass --intervals. Nothing written"
            )
        card_rows = card.get("data", {}).get("test", {}).get("rows")
        if card_rows is not None and report.get("rows") != card_rows:
            unavailable = (
                f"{path} describes {report.get('rows')} test rows, the model card "
                f"{card_rows}: not the card's intervals; run `dvc repro` so both come from one "
                "evaluate run"
            )
    confidence = float(report.get("confidence", params.evaluate.bootstrap.confidence))
    live = live_intervals(
        scored,
        task,
        params.data.positive_class,
        resamples=params.evaluate.bootstrap.resamples,
        confidence=confidence,
        seed=params.evaluate.bootstrap.seed,
        max_rows=params.evaluate.bootstrap.max_rows,
    )
    card_intervals = {} if unavailable else intervals_from_report(report)
    return NoiseEvidence(confidence, card_intervals, live, path, unavailable)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    paths, data = params.paths, params.data
    schema = load_schema(args.schema or paths.schema)
    spec = feature_spec(
        schema,
        data.numeric_features,
        data.categorical_features,
        data.boolean_features,
        exclude=data.exclude_columns,
    )
    card_path, reference_path = args.card or paths.model_card, args.reference or paths.train
    intervals_path = args.intervals or params.paths.intervals
    check_outputs_are_not_inputs(
        {
            "--current": args.current,
            "--reference": reference_path,
            "--card": card_path,
            "--intervals": intervals_path,
            "--model": args.model or paths.model,
            "--schema": args.schema or paths.schema,
        },
        {
            "--output-json": args.output_json,
            "--output-md": args.output_md,
            "--output-png": args.output_png,
        },
    )
    card = read_card(card_path)
    model_path = args.model or paths.model
    model = load_model(model_path) if args.labels else None
    if model is not None:
        check_model_features(model, spec)
        described = card.get("model", {}).get("md5")
        if described != (actual_model := file_md5(model_path)):
            raise MonitorError(
                f"{model_path} (md5 {actual_model}) is not the model {card_path} describes "
                f"(md5 {described}): the live metrics would be compared with another model's "
                "test metrics. Run `dvc checkout` (or `dvc pull`) so the model and the card come "
                "from the same commit. Nothing written"
            )
    rules = ScoringRules(
        extra_columns=params.validate.extra_columns,
        max_invalid_fraction=params.validate.max_invalid_fraction,
        unknown_categories="warn",  # unseen categories are drift to report, not a failure
        contract_alpha=params.predict.contract_alpha,
    )
    summary = ScoringSummary()
    keep_text = text_columns(schema, data.id_columns)
    batch = _read_batch(
        args.current, schema, spec, rules, data.csv, params.predict.chunk_rows, summary, keep_text
    )
    warnings = [
        f"unseen categories in '{column}': {rows} rows"
        for column, rows in summary.unseen_counts().items()
    ]
    reference = _read_reference(reference_path, data.csv, keep_text, schema)
    expected = card.get("data", {}).get("train", {}).get("md5")
    actual = file_md5(reference_path)
    if expected != actual:
        warnings.append(
            f"reference {reference_path} (md5 {actual}) is not the model's training data "
            f"(card {card_path} says md5 {expected}); run `dvc pull` for the model's commit"
        )
    for warning in warnings:
        log.warning("%s", warning)

    drift = compute_drift(
        reference, batch, schema, params.drift, names=(reference_path, args.current), data=data
    )
    shift, labelled_rows, unlabelled_rows = None, None, None
    if schema.target in batch.columns:
        labelled_rows = int(batch[schema.target].notna().sum())
        unlabelled_rows = len(batch) - labelled_rows
        if unlabelled_rows:
            log.info(
                "%d of %d rows have no '%s' label yet: left out of the label shift, the "
                "target's drift and the live metrics",
                unlabelled_rows,
                len(batch),
                schema.target,
            )
    if schema.target in batch.columns and schema.target in reference.columns:
        target_drift = next((f for f in drift.features if f.column == schema.target), None)
        shift = label_shift(
            reference[schema.target],
            batch[schema.target],
            schema.task,
            target_drift,
            params.monitor,
            params.drift,
        )
    held_back_shift = (
        f"the label shift of '{schema.target}'" if shift is not None and shift.not_compared else ""
    )
    metric_changes, unavailable = None, ()
    if args.labels:
        if schema.target not in batch.columns:
            raise MonitorError(
                f"{args.current}: --labels was given but the batch has no '{schema.target}' "
                "column; add the labels or run without --labels (drift only). Nothing written"
            )
        labelled = batch[batch[schema.target].notna()].reset_index(drop=True)
        if labelled.empty:
            raise MonitorError(
                f"{args.current}: every '{schema.target}' value is missing; no live metrics "
                "can be computed. Run without --labels. Nothing written"
            )
        scored = predictions(
            model,
            labelled,
            spec,
            schema.target,
            schema.task,
            threshold=params.train.threshold,
            positive=data.positive_class,
        )
        live = compute_metrics(schema.task, scored, data.positive_class)
        card_metrics = card.get("metrics", {}).get("test", {})
        held_back = too_few_labelled(len(labelled), params.monitor.min_labelled_rows)
        noise = None
        if params.monitor.noise == "significant":
            noise = _noise_evidence(intervals_path, card, scored, schema.task, params)
        metric_changes, missing = compare_metrics(
            card_metrics,
            live,
            params.monitor.metrics,
            params.monitor.max_metric_drop_relative,
            not_compared=held_back,
            noise=noise,
        )
        batch_classes = sorted({str(v) for v in scored.y_true}) if scored.classes else []
        unavailable = unavailable_reasons(
            missing, card_metrics, schema.task, batch_classes, scored.classes
        )
        minimum = params.monitor.min_labelled_rows
        notes = [f"monitor.metrics {line}" for line in grouped_reasons(unavailable)]
        notes += noise_warnings(metric_changes)
        if held_back:
            what = "live metrics" + (f" and {held_back_shift}" if held_back_shift else "")
            notes.insert(
                0,
                f"the batch has {labelled_rows} labelled rows, fewer than "
                f"monitor.min_labelled_rows {minimum}: {what} are reported but not compared, "
                "so they cannot raise an alert; monitor batches of at least "
                f"{minimum} labelled rows",
            )
        for note in notes:
            log.warning("%s", note)
        warnings += notes
    elif held_back_shift:
        note = (
            f"the batch has {shift.labelled_rows} labelled rows, fewer than "
            f"monitor.min_labelled_rows {params.monitor.min_labelled_rows}: {held_back_shift} "
            "is reported but not compared, so it cannot raise an alert"
        )
        log.warning("%s", note)
        warnings.append(note)
    untested = untested_warning(drift, params.drift.min_rows)
    if untested:
        log.warning("%s", untested)
        warnings.append(untested)
    verdict, reasons = monitor_verdict(drift.drifted, metric_changes, params.monitor, shift)
    result = MonitorResult(
        verdict=verdict,
        reasons=reasons,
        drift=drift,
        metrics=metric_changes,
        rows=len(batch),
        thresholds=params.monitor,
        warnings=tuple(warnings),
        unavailable_metrics=unavailable,
        labelled_rows=labelled_rows,
        label_shift=shift,
        unlabelled_rows=unlabelled_rows,
        contract=summary.tests,
        contract_alpha=params.predict.contract_alpha,
    )
    markdown = monitor_markdown(result, Path(args.current).name)
    png = monitor_figure(result) if args.output_png else b""
    if args.output_json:
        write_json(args.output_json, {**result.as_dict(), "batch": str(args.current)})
    if args.output_md:
        write_text(args.output_md, markdown)
    if args.output_png:
        with atomic_path(args.output_png) as tmp:
            tmp.write_bytes(png)
    if not (args.output_json or args.output_md):
        print(markdown, end="")
    log.info("verdict %s%s", verdict, "".join(f"\n  - {r}" for r in reasons))
    return ALERT_EXIT if verdict == ALERT else 0
