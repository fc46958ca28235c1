"""Batch scoring: new rows in, predictions out, with the pipeline's own data contract.

A file is read in chunks (Parquet row groups / CSV blocks of ``chunk_rows`` rows), each chunk
goes through the ingest normalisation and the validate stage's checks (target optional), is
scored, and is appended to the output, so memory does not grow with the file. The output is
written to a temporary file and renamed at the end: bad input anywhere in the file leaves no
output at all.

Output columns: the id columns present in the input, then ``prediction`` (class label or
value) and, for classifiers, ``proba_<class>`` per class (rows sum to 1).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    LEADING_ZEROS,
    YES_NO,
    NormalizeReport,
    iter_source,
    normalize,
    number_text_warnings,
    yes_no_categories,
)
from mlpipe.data.schema import Schema, category_text
from mlpipe.data.validate import Violation, validate_table
from mlpipe.errors import MlpipeError
from mlpipe.io import InputError, atomic_path, check_outputs_are_not_inputs
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.predict import class_index

log = logging.getLogger(__name__)

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"
OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


class ScoringError(MlpipeError):
    """The input cannot be scored (contract violations, unseen categories under 'fail' ...)."""


@dataclass(frozen=True)
class ScoringRules:
    """How strictly input is checked: the validate stage's settings plus the predict policy;
    and the binary decision (``evaluate.threshold``, ``data.positive_class``) as evaluated."""

    extra_columns: str = "warn"
    max_invalid_fraction: float = 0.0
    unknown_categories: str = "warn"
    id_columns: tuple[str, ...] = ()
    threshold: float = 0.5
    positive_class: str | None = None


@dataclass
class ScoringSummary:
    """What a scoring run did: rows and chunks, unseen categories and warnings, by column."""

    rows: int = 0
    chunks: int = 0
    unseen: dict[str, Counter[str]] = field(default_factory=dict)
    warnings: Counter[str] = field(default_factory=Counter)
    normalized: Counter[str] = field(default_factory=Counter)

    def unseen_counts(self) -> dict[str, int]:
        """Rows with an unseen category, per column."""
        return {column: sum(counts.values()) for column, counts in sorted(self.unseen.items())}


def model_classes(model: Any) -> tuple[str, ...] | None:
    """The classifier's classes as text (as the train stage fitted them), None for regressors."""
    classes = getattr(model, "classes_", None)
    return None if classes is None else tuple(str(c) for c in classes)


def check_model_features(model: Any, spec: FeatureSpec) -> None:
    """Raise ScoringError if the model was fitted on other feature columns than ``spec``."""
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is None:
        return
    fitted_set, spec_set = set(map(str, fitted)), set(spec.columns)
    if fitted_set != spec_set:
        raise ScoringError(
            "the model and the schema disagree on the features: the model needs "
            f"{sorted(fitted_set - spec_set) or 'nothing more'}, the schema/params add "
            f"{sorted(spec_set - fitted_set) or 'nothing more'}. Use the schema and params.yaml "
            "of the commit that trained the model"
        )


def typed_labels(classes: tuple[str, ...], target_kind: str) -> pd.Series:
    """The model's class labels (text) as values of the target's type in the training table:
    bool for a boolean target, integers for whole-number classes of a numeric one, else text."""
    text = pd.Series(classes, dtype=str)
    if target_kind == "boolean" and set(classes) <= {"True", "False"}:
        return text.map({"True": True, "False": False}).astype(bool)
    if target_kind == "numeric":
        numbers = pd.to_numeric(text, errors="coerce")
        if numbers.notna().all():
            whole = bool((numbers == numbers.round()).all())
            return numbers.astype(np.int64) if whole else numbers.astype(np.float64)
    return text


def score_frame(
    model: Any,
    frame: pd.DataFrame,
    spec: FeatureSpec,
    task: str,
    id_columns: tuple[str, ...],
    target_kind: str = "categorical",
    threshold: float = 0.5,
    positive: str | None = None,
) -> pd.DataFrame:
    """Predictions for the rows of ``frame`` (index reset), id columns first.

    ``target_kind`` (the schema's kind of the target) sets the type of a class prediction, so
    a boolean target is predicted as bool in Parquet, as in the training table. A binary
    prediction is the ``positive`` class when its probability reaches ``threshold``.
    """
    x = model_frame(frame, spec)
    out = pd.DataFrame({c: frame[c].to_numpy() for c in id_columns if c in frame.columns})
    if task == "regression":
        out[PREDICTION] = np.asarray(model.predict(x), dtype=np.float64)
        return out
    proba = np.asarray(model.predict_proba(x), dtype=np.float64)
    classes = model_classes(model) or ()
    labels = typed_labels(tuple(classes), target_kind)
    index = class_index(proba, tuple(classes), threshold, positive)
    out[PREDICTION] = labels.iloc[index].reset_index(drop=True)
    for i, label in enumerate(classes):
        out[f"{PROBA_PREFIX}{label}"] = proba[:, i]
    return out


def unseen_categories(
    frame: pd.DataFrame, schema: Schema, spec: FeatureSpec
) -> dict[str, Counter[str]]:
    """Values of categorical features that the schema (the training contract) does not list."""
    out: dict[str, Counter[str]] = {}
    for column in spec.categorical:
        if column not in frame.columns or column not in schema.names:
            continue
        allowed = schema.column(column).categories
        if allowed is None:
            continue
        present = category_text(frame[column].dropna())
        unknown = present[~present.isin(allowed)]
        if len(unknown):
            out[column] = Counter(unknown.tolist())
    return out


def text_columns(schema: Schema, id_columns: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Columns that batch normalisation must keep as text, whatever one chunk holds.

    ``id_columns`` and ``kind: id`` columns (ids are returned exactly as written), and
    categorical columns whose categories include a number with leading zeros ("00123"): ingest
    kept them as text for those zeros, and a chunk without such a value must not turn them
    into numbers. Likewise categorical columns with yes/no categories such as 'Y', 'no' (see
    ``yes_no_categories``): a chunk of mostly yes/no values must not turn them into booleans.
    """
    out = list(id_columns)
    for spec in schema.columns:
        if spec.name in out:
            continue
        categories = spec.categories or ()
        if spec.kind == "id" or (
            spec.kind == "categorical"
            and (
                any(LEADING_ZEROS.match(str(c)) for c in categories)
                or yes_no_categories(categories)
            )
        ):
            out.append(spec.name)
    return tuple(out)


def relaxed_schema(schema: Schema) -> Schema:
    """The schema with unknown categories as warnings: predict applies its own policy to them."""
    columns = tuple(dataclasses.replace(c, unknown="warn") for c in schema.columns)
    return dataclasses.replace(schema, columns=columns)


def check_chunk(
    frame: pd.DataFrame,
    schema: Schema,
    spec: FeatureSpec,
    rules: ScoringRules,
    where: str,
    summary: ScoringSummary,
    changes: NormalizeReport | None = None,
) -> None:
    """Validate one normalised chunk; raise ScoringError listing every violation.

    Warnings and unseen categories are added to ``summary``. ``where`` names the file and rows
    for the message. ``changes`` is what ``normalize`` did to the chunk: text that is not a
    number in a numeric schema column became a missing value there, and is an invalid value
    here (an error above ``rules.max_invalid_fraction`` of the rows, else a warning).
    """
    result = validate_table(
        frame,
        relaxed_schema(schema),
        extra_columns=rules.extra_columns,
        require_target=False,
        max_invalid_fraction=rules.max_invalid_fraction,
        check_duplicates=False,  # scoring a record twice leaks nothing
    )
    errors, unparsed = _with_unparsed(result.errors, changes, schema)
    for issue in unparsed:
        if len(frame) and issue.rows / len(frame) > rules.max_invalid_fraction:
            errors.append(issue)
        else:
            summary.warnings[f"{issue.column}: {issue.rule} — {issue.observed}"] += issue.rows
    if errors:
        lines = "\n".join(f"  - {v}" for v in errors)
        hint = ""
        if unparsed:
            kinds = {issue.rule for issue in unparsed}
            invalid = " or ".join(
                text
                for rule, text in (
                    ("parseable numbers", "text in a numeric column"),
                    ("yes/no values", "a value other than yes/no in a boolean column"),
                )
                if rule in kinds
            )
            hint += (
                f" {invalid[0].upper()}{invalid[1:]} is an invalid value: correct it, or leave "
                "the cell empty for a missing value (validate.max_invalid_fraction tolerates a "
                "share)."
            )
        if changes is not None and (changes.other_decimal or changes.ambiguous):
            hint += " " + _decimal_hint(changes)
        if changes is not None:
            hint += "".join(f" {message}." for message in number_text_warnings(changes))
        raise ScoringError(
            f"{where} violates the schema in {len(errors)} place(s):\n{lines}\n"
            f"Fix the input (it must follow the same contract as the training data).{hint} "
            "No output was written"
        )
    for warning in result.warnings:
        if warning.rule != "allowed categories":
            summary.warnings[f"{warning.column}: {warning.rule} — {warning.observed}"] += (
                warning.rows
            )
    for column, counts in unseen_categories(frame, schema, spec).items():
        if rules.unknown_categories == "fail":
            shown = ", ".join(f"{k!r} x{v}" for k, v in counts.most_common(5))
            raise ScoringError(
                f"{where}: column '{column}' has categories the model never saw: {shown}. "
                "Map them to known categories, or set predict.unknown_categories: warn in "
                "params.yaml to score them as unknown. No output was written"
            )
        summary.unseen.setdefault(column, Counter()).update(counts)


def _with_unparsed(
    errors: tuple[Violation, ...], changes: NormalizeReport | None, schema: Schema
) -> tuple[list[Violation], list[Violation]]:
    """The validation errors with unparseable text named, and one violation per column of it.

    A missing-value budget error on a column where ``normalize`` turned text into missing values
    says how many of them were that text, with examples.
    """
    if changes is None:
        return list(errors), []
    unparsed: dict[str, Violation] = {}
    what: dict[str, str] = {}
    for rule, counts, name in (
        ("parseable numbers", changes.unparsed_numeric, "numbers"),
        ("yes/no values", changes.unparsed_boolean, YES_NO),
    ):
        for column, count in counts.items():
            if column in schema.names and column != schema.target:
                examples = ", ".join(repr(v) for v in changes.unparsed_examples.get(column, ()))
                observed = f"{count} value(s) that are not {name}: {examples}"
                unparsed[column] = Violation(column, rule, observed, count)
                what[column] = "a number" if rule == "parseable numbers" else "yes/no"
    out = []
    for error in errors:
        found = unparsed.get(error.column)
        if found is not None and error.rule.startswith("missing fraction"):
            error = dataclasses.replace(
                error,
                observed=f"{error.observed}; {found.rows} of them were text that is not "
                f"{what[error.column]} ({found.observed.split(': ', 1)[1]})",
            )
        out.append(error)
    return out, list(unparsed.values())


def _decimal_hint(changes: NormalizeReport) -> str:
    other = "," if changes.decimal == "." else "."
    hints = []
    if changes.other_decimal:
        hints.append(
            f"Column(s) {', '.join(changes.other_decimal)} hold numbers written with the decimal "
            f"mark {other!r}: set data.csv.decimal: {other!r} in params.yaml."
        )
    for column, examples in changes.ambiguous.items():
        shown = ", ".join(repr(v) for v in examples)
        hints.append(
            f"Column '{column}' stays text: {shown} may use {other!r} for thousands or as the "
            f"decimal mark; if it is the decimal mark set data.csv.decimal: {other!r} in "
            "params.yaml."
        )
    return " ".join(hints)


def iter_input(path: str | Path, csv_config: CsvConfig, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Raw chunks of a CSV or Parquet file (CSV values as text, like the ingest stage)."""
    path = Path(path)
    _check_file(path)
    yield from iter_source(path, csv_config, chunk_rows)


def input_rows(path: str | Path) -> int | None:
    """Row count from Parquet metadata (for a progress bar); None for CSV (unknown up front)."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # an unreadable file is reported by iter_input
        return None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: input file not found; pass the table to score with --input")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; --input must name a .csv or .parquet file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected a header and rows")


class _TableWriter:
    """Appends frames to a CSV or Parquet file (the schema of the first frame is kept)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._parquet: Any = None
        self._schema: Any = None
        self._started = False

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "csv":
            mode, header = ("a", False) if self._started else ("w", True)
            frame.to_csv(self.path, mode=mode, header=header, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="snappy")
            self._parquet.write_table(table)
        self._started = True

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


def output_format(path: str | Path) -> str:
    """'csv' or 'parquet' from the output file's suffix; InputError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(
            f"{path}: unsupported output type '{suffix}'; name the file .csv or .parquet"
        )
    return "csv" if suffix == ".csv" else "parquet"


def check_output(source: str | Path, output: str | Path) -> str:
    """The output's format ('csv' or 'parquet'); InputError for a bad suffix or for the input
    file itself as the output (the scores would replace the batch)."""
    fmt = output_format(output)
    check_outputs_are_not_inputs({"--input": source}, {"--output": output})
    return fmt


def score_file(
    model: Any,
    source: str | Path,
    output: str | Path,
    *,
    schema: Schema,
    spec: FeatureSpec,
    rules: ScoringRules,
    csv_config: CsvConfig,
    chunk_rows: int,
    on_chunk: Callable[[int], None] | None = None,
) -> ScoringSummary:
    """Score ``source`` into ``output`` chunk by chunk; nothing is written unless all succeed.

    ``on_chunk(rows)`` is called after each chunk (the CLI advances a progress bar with it).
    """
    fmt = check_output(source, output)
    check_model_features(model, spec)
    summary = ScoringSummary()
    keep_text = text_columns(schema, rules.id_columns)
    target_kind = schema.column(schema.target).kind if schema.target in schema.names else ""
    with atomic_path(output) as tmp:
        writer = _TableWriter(tmp, fmt)
        try:
            for raw in iter_input(source, csv_config, chunk_rows):
                first, last = summary.rows + 1, summary.rows + len(raw)
                frame, changes = normalize(
                    raw.reset_index(drop=True),
                    csv_config.na_values,
                    csv_config.decimal,
                    thousands=csv_config.thousands,
                    keep_text=keep_text,
                    booleans=schema.features("boolean"),
                    labels=(schema.target,),
                )
                for kind, columns in changes.as_dict().items():
                    for column, count in columns.items():
                        summary.normalized[f"{column}: {kind.replace('_', ' ')}"] += count
                where = f"{source} rows {first}-{last}"
                check_chunk(frame, schema, spec, rules, where, summary, changes)
                writer.write(
                    score_frame(
                        model,
                        frame,
                        spec,
                        schema.task,
                        rules.id_columns,
                        target_kind,
                        rules.threshold,
                        rules.positive_class,
                    )
                )
                summary.rows, summary.chunks = last, summary.chunks + 1
                if on_chunk is not None:
                    on_chunk(len(raw))
        finally:
            writer.close()
    return summary
