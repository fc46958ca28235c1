"""Batch scoring: new rows in, predictions out, with the pipeline's own data contract.

A file is read in chunks (Parquet row groups / CSV blocks of ``chunk_rows`` rows), each chunk
goes through the ingest normalisation and the validate stage's column checks (target
optional), is scored, and is appended to the output, so memory does not grow with the file.
The budgets (missing and invalid values) are tested on the counts of the whole file with a
binomial test (``mlpipe.data.budgets``), not chunk by chunk. The output is written to a
temporary file and renamed at the end: bad input anywhere in the file leaves no output at all.

Output columns: ``row`` when the input has it and the schema does not (ingest's table of
unlabelled rows: their source row numbers), the id columns present in the input, then
``prediction`` (class label or value) and, for classifiers, ``proba_<class>`` per class (rows
sum to 1). The side file of ``predict.bad_rows: skip`` (``rejected_rows``) carries the same
``row`` and id columns, then ``input_row`` (the row's position in the input, from 1) and
``reasons``: ``row`` means the source row wherever it appears.
"""

from __future__ import annotations

import contextlib
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
from mlpipe.data.budgets import (
    INVALID,
    MISSING,
    BudgetCount,
    BudgetTest,
    evaluate_budgets,
    invalid_rows,
    rule_of,
)
from mlpipe.data.ingest import (
    LEADING_ZEROS,
    ROW,
    NormalizeReport,
    clean_names,
    convert_chunk,
    iter_source,
    number_text_warnings,
    plan_normalization,
    profile_chunk,
    yes_no_categories,
)
from mlpipe.data.schema import Schema, category_text
from mlpipe.data.validate import validate_table
from mlpipe.errors import MlpipeError
from mlpipe.io import InputError, atomic_path, check_outputs_are_not_inputs
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.predict import class_index

log = logging.getLogger(__name__)

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"
# The side file's column of each rejected row's position in the input (1 = first data row).
INPUT_ROW = "input_row"
REASONS = "reasons"
OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


class ScoringError(MlpipeError):
    """The input cannot be scored (contract violations, unseen categories under 'fail' ...)."""


@dataclass(frozen=True)
class ScoringRules:
    """How strictly input is checked: the validate stage's settings plus the predict policy;
    and the binary decision (``train.threshold``, ``data.positive_class``) as evaluated."""

    extra_columns: str = "warn"
    max_invalid_fraction: float = 0.0
    unknown_categories: str = "warn"
    id_columns: tuple[str, ...] = ()
    threshold: float = 0.5
    positive_class: str | None = None
    contract_alpha: float = 0.001
    bad_rows: str = "fail"


@dataclass
class ScoringSummary:
    """What a scoring run did: rows and chunks, unseen categories and warnings, by column.

    ``counts``: per (column, budget kind) the bad values seen, by reason, over the chunks
    checked so far (``rows_checked`` rows); ``tests``: the budget tests on the whole file
    (``check_budgets``); ``set_aside``: rows written to the side file (``bad_rows: skip``).
    """

    rows: int = 0
    chunks: int = 0
    unseen: dict[str, Counter[str]] = field(default_factory=dict)
    warnings: Counter[str] = field(default_factory=Counter)
    normalized: Counter[str] = field(default_factory=Counter)
    rows_checked: int = 0
    counts: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    tests: tuple[BudgetTest, ...] = ()
    set_aside: int = 0
    rejected: str | None = None

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
    """Predictions for the rows of ``frame`` (index reset), ``id_columns`` first (copied from
    ``frame``, so they always line up with the predictions).

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
    """The schema for the column-level checks of a chunk (``check_chunk``: columns present,
    types, extra columns, datetime ranges as warnings), without what predict decides itself:
    no missing-value budget (tested on the whole file, see ``check_budgets``), and no numeric
    range, integer rule or category list (checked row by row by ``invalid_rows``, unseen
    categories by ``unseen_categories``), so they are not computed twice per chunk."""
    columns = tuple(
        dataclasses.replace(c, max_missing=1.0, unknown="warn", categories=None)
        if c.kind != "numeric"
        else dataclasses.replace(c, max_missing=1.0, min=None, max=None, integer=False)
        for c in schema.columns
    )
    return dataclasses.replace(schema, columns=columns)


def budget_columns(
    schema: Schema, frame: pd.DataFrame, rules: ScoringRules
) -> tuple[tuple[str, str], ...]:
    """The (column, kind) budgets tested on a batch with ``frame``'s columns: every checked
    column's missing values, and the invalid values of numeric and boolean columns and of
    categorical ones under ``predict.unknown_categories: fail``."""
    out: list[tuple[str, str]] = []
    for spec in schema.columns:
        if spec.kind == "id" or spec.name == schema.target or spec.name not in frame.columns:
            continue
        out.append((spec.name, MISSING))
        if spec.kind in ("numeric", "boolean") or (
            spec.kind == "categorical"
            and spec.categories is not None
            and rules.unknown_categories == "fail"
        ):
            out.append((spec.name, INVALID))
    return tuple(out)


def check_chunk(
    frame: pd.DataFrame,
    schema: Schema,
    spec: FeatureSpec,
    rules: ScoringRules,
    where: str,
    summary: ScoringSummary,
    changes: NormalizeReport | None = None,
    raw: pd.DataFrame | None = None,
    na_values: tuple[str, ...] = (),
) -> pd.Series:
    """Check one normalised chunk; per row, why it breaks a row-level rule ("" if it does not).

    Column-level violations (a missing column, a wrong type, an unknown column under
    ``extra_columns: fail``) raise ScoringError at once. Budgets are not decided here: the
    chunk's missing and invalid values are added to ``summary`` and ``check_budgets`` tests
    them on the whole file, so the result does not depend on the chunk size. Invalid values
    (see ``invalid_rows``) include text that ``normalize_batch`` turned into a missing value in
    a numeric or boolean column (``raw`` is the chunk before it, read with ``na_values``, to
    find those rows); ``changes`` (its report) names the decimal-mark fix in a type error.
    ``where`` names the file and rows.
    """
    result = validate_table(
        frame,
        relaxed_schema(schema),
        extra_columns=rules.extra_columns,
        require_target=False,
        max_invalid_fraction=rules.max_invalid_fraction,
        check_duplicates=False,  # scoring a record twice leaks nothing
    )
    errors = result.errors
    if errors:
        lines = "\n".join(f"  - {v}" for v in errors)
        hint = ""
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
    unparsed = _unparsed_text(frame, raw, schema, na_values)
    reasons = pd.Series("", index=frame.index, dtype=object)
    summary.rows_checked += len(frame)
    for column, kind in budget_columns(schema, frame, rules):
        summary.counts.setdefault((column, kind), Counter())
        if kind == MISSING:
            missing = frame[column].isna()
            if column in unparsed:
                missing &= unparsed[column] == ""
            if count := int(missing.sum()):
                summary.counts[(column, kind)]["missing"] += count
            continue
        why = invalid_rows(
            frame[column],
            schema.column(column),
            unparsed.get(column),
            unknown_fail=rules.unknown_categories == "fail",
        )
        bad = why != ""
        if bad.any():
            summary.counts[(column, kind)].update(why[bad].tolist())
            joined = reasons.where(reasons == "", reasons + "; ") + column + ": " + why
            reasons = reasons.where(~bad, joined)
    for column, counts in unseen_categories(frame, schema, spec).items():
        summary.unseen.setdefault(column, Counter()).update(counts)
    return reasons


def check_budgets(
    summary: ScoringSummary, schema: Schema, rules: ScoringRules, where: str
) -> None:
    """Test the budgets on the counts of the whole file (see ``mlpipe.data.budgets``).

    Sets ``summary.tests``; raises ScoringError naming every budget crossed significantly;
    adds a warning for every budget exceeded or invalid value tolerated by chance.
    """
    counts = []
    for (column, kind), found in summary.counts.items():
        budget = schema.column(column).max_missing if kind == MISSING else None
        counts.append(
            BudgetCount(
                column=column,
                kind=kind,
                budget=rules.max_invalid_fraction if budget is None else budget,
                setting=f"max_missing {budget:g} in the schema"
                if budget is not None
                else f"validate.max_invalid_fraction {rules.max_invalid_fraction:g}",
                count=sum(found.values()),
                examples=tuple(found.most_common(5)) if kind == INVALID else (),
                rules=tuple(sorted({rule_of(r) for r in found})) if kind == INVALID else (),
            )
        )
    rows = summary.rows_checked
    summary.tests = evaluate_budgets(counts, rows, schema.rows, rules.contract_alpha)
    crossed = [t for t in summary.tests if t.crossed]
    if crossed:
        lines = "\n".join(f"  - {t.message()}" for t in crossed)
        raise ScoringError(
            f"{where} ({rows} rows) breaks the data contract: {len(crossed)} of "
            f"{len(summary.tests)} budget(s) crossed beyond chance (one-sided binomial test at "
            f"predict.contract_alpha {rules.contract_alpha:g} over {len(summary.tests)} tests):"
            f"\n{lines}\nFix the input (it must follow the same contract as the training "
            "data). No output was written"
        )
    for test in summary.tests:
        c = test.count
        if not c.count:
            continue
        chance = f"binomial p-value {test.p_value:.2g} >= {test.level:.2g}"
        if c.kind == INVALID and rules.bad_rows == "fail":
            shown = ", ".join(f"{reason} x{n}" for reason, n in c.examples)
            summary.warnings[
                f"{c.column}: invalid values within the contract for {rows} rows ({chance}), "
                f"scored as they are (text as a missing value): {shown}"
            ] += c.count
        elif c.kind == MISSING and c.count / rows > c.budget:
            summary.warnings[
                f"{c.column}: {c.count / rows:.1%} missing, above max_missing {c.budget:g} but "
                f"within chance for {rows} rows ({chance})"
            ] += c.count


def _unparsed_text(
    frame: pd.DataFrame, raw: pd.DataFrame | None, schema: Schema, na_values: tuple[str, ...]
) -> dict[str, pd.Series]:
    """Per numeric or boolean schema column that was text in ``raw``: the raw text of the
    values that normalisation could not read (they became missing), "" elsewhere."""
    if raw is None:
        return {}
    raw = raw.reset_index(drop=True).set_axis(clean_names(raw.columns), axis=1)
    markers = {m.strip().lower() for m in na_values} | {""}
    out = {}
    for spec in schema.columns:
        column = spec.name
        if spec.kind not in ("numeric", "boolean") or column not in frame.columns:
            continue
        if column not in raw.columns or not _is_text(raw[column]):
            continue
        text = raw[column].astype("string").str.strip()
        present = (text.notna() & ~text.str.lower().isin(markers)).fillna(False).to_numpy()
        lost = present & frame[column].isna().to_numpy()
        if lost.any():
            values = np.where(lost, text.fillna("").to_numpy(dtype=object), "")
            out[column] = pd.Series(values, index=frame.index, dtype=object)
    return out


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def normalize_batch(
    raw: pd.DataFrame,
    schema: Schema,
    csv_config: CsvConfig,
    keep_text: tuple[str, ...],
    first_row: int = 0,
) -> tuple[pd.DataFrame, NormalizeReport]:
    """One chunk of a batch to score, normalised as the ingest stage does (``normalize``), with
    one difference: a column the schema declares numeric or boolean is read as numbers / yes-no
    whatever share of its values are (ingest keeps a column with over 5 % text as text). The
    values that are not become missing, and ``check_chunk`` counts them as invalid values, so
    the outcome does not depend on how the file is cut into chunks. A column whose numbers use
    the other decimal mark or an ambiguous thousands mark, or that mixes currency / percent
    signs, stays text: its type error names the fix (data.csv.decimal, one unit).
    A date column is read in ISO or in the form the schema records for it (``format``), as
    ingest read the training data; a saved row index (the chunk starts at the file's 0-based
    data row ``first_row``) is left out.
    """
    forms = {c.name: c.format for c in schema.columns if c.kind == "datetime" and c.format}
    profile = profile_chunk(
        raw,
        csv_config.na_values,
        decimal=csv_config.decimal,
        thousands=csv_config.thousands,
        forms=tuple(dict.fromkeys(forms.values())),
        first_row=first_row,
    )
    plan = plan_normalization(
        profile,
        csv_config.na_values,
        keep_text,
        booleans=schema.features("boolean"),
        labels=(schema.target,),
        date_formats=forms,
    )
    report = plan.report
    forced: dict[str, Any] = {}
    for column, conversion in plan.conversions.items():
        if conversion != "text" or column in keep_text or column not in schema.names:
            continue
        if column == schema.target or column in report.other_decimal or column in report.ambiguous:
            continue
        if len(report.mixed_signs.get(column, ((), 0, ()))[0]) > 1:
            continue  # '$' and '€' in one column: amounts in two units, refused with the fix
        kind = schema.column(column).kind
        if kind in ("numeric", "boolean"):
            forced[column] = "float" if kind == "numeric" else "boolean"
    if forced:
        plan = dataclasses.replace(plan, conversions={**plan.conversions, **forced})
    return convert_chunk(raw, plan), report


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


def carried_columns(frame: pd.DataFrame, schema: Schema, id_columns: tuple[str, ...]) -> list[str]:
    """The input columns copied to the output as they are, in order: ``row`` when it is not a
    schema column (ingest's table of unlabelled rows: each row's 0-based row in the source),
    then the id columns present in ``frame``. They stay in the chunk's frame, so every filter
    on the rows (``bad_rows: skip``) keeps them aligned with the rows scored."""
    source = [ROW] if ROW in frame.columns and ROW not in schema.names else []
    return list(dict.fromkeys([*source, *(c for c in id_columns if c in frame.columns)]))


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

    @property
    def started(self) -> bool:
        return self._started

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


def rejected_path(output: str | Path) -> Path:
    """The side file of rows set aside under ``predict.bad_rows: skip``: next to the output,
    in its format (``scores.csv`` -> ``scores.rejected.csv``)."""
    output = Path(output)
    return output.with_name(f"{output.stem}.rejected{output.suffix}")


def rejected_rows(
    frame: pd.DataFrame, reasons: pd.Series, first_row: int, carried: list[str]
) -> pd.DataFrame:
    """The side file's rows: the ``carried`` columns (``carried_columns``: the source ``row``
    of ingest's unlabelled table, the id columns), ``input_row`` (the row's position among the
    input's data rows, from 1; ``first_row`` is the chunk's first) and ``reasons`` (why, "; "
    between them). Empty ``reasons`` give the header (with ``frame``'s dtypes) and no row."""
    bad = (reasons != "").to_numpy(dtype=bool)
    out = pd.DataFrame({c: frame[c].to_numpy()[bad] for c in carried})
    out[INPUT_ROW] = (np.flatnonzero(bad) + first_row).astype(np.int64)
    out[REASONS] = reasons.to_numpy()[bad].astype(str)
    return out


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

    The chunks are scored into a temporary file; the budgets are tested on the counts of the
    whole file (``check_budgets``) before it replaces ``output``, so the outcome does not depend
    on ``chunk_rows``. With ``rules.bad_rows == "skip"`` the rows that break a row-level rule
    are not scored but written with their reasons to ``rejected_path(output)`` (always written,
    header only when none; see ``rejected_rows``); ``summary.set_aside`` counts them.
    ``on_chunk(rows)`` is called after each chunk (the CLI advances a progress bar with it).
    """
    fmt = check_output(source, output)
    skip = rules.bad_rows == "skip"
    side = rejected_path(output) if skip else None
    check_outputs_are_not_inputs({"--input": source}, {"--output": output, "rejected rows": side})
    check_model_features(model, spec)
    summary = ScoringSummary(rejected=None if side is None else str(side))
    keep_text = text_columns(schema, rules.id_columns)
    target_kind = schema.column(schema.target).kind if schema.target in schema.names else ""
    side_context = atomic_path(side) if side is not None else contextlib.nullcontext(None)
    with atomic_path(output) as tmp, side_context as side_tmp:
        writer = _TableWriter(tmp, fmt)
        rejected = _TableWriter(side_tmp, fmt) if side_tmp is not None else None
        side_header: pd.DataFrame | None = None
        try:
            for raw in iter_input(source, csv_config, chunk_rows):
                first, last = summary.rows + 1, summary.rows + len(raw)
                raw = raw.reset_index(drop=True)
                frame, changes = normalize_batch(raw, schema, csv_config, keep_text, first - 1)
                carried = carried_columns(frame, schema, rules.id_columns)
                # the source row numbers are carried, not checked: no schema column, no warning
                source_rows = ROW in frame.columns and ROW not in schema.names
                checked = frame.drop(columns=[ROW]) if source_rows else frame
                for kind, columns in changes.as_dict().items():
                    for column, count in columns.items():
                        summary.normalized[f"{column}: {kind.replace('_', ' ')}"] += count
                where = f"{source} rows {first}-{last}"
                reasons = check_chunk(
                    checked,
                    schema,
                    spec,
                    rules,
                    where,
                    summary,
                    changes,
                    raw,
                    csv_config.na_values,
                )
                if rejected is not None and side_header is None:
                    side_header = rejected_rows(frame.iloc[:0], reasons.iloc[:0], first, carried)
                bad = (reasons != "").to_numpy(dtype=bool)
                if rejected is not None and bad.any():
                    rejected.write(rejected_rows(frame, reasons, first, carried))
                    frame = frame[~bad].reset_index(drop=True)  # the carried columns with it
                    summary.set_aside += int(bad.sum())
                if len(frame):
                    scored = score_frame(
                        model,
                        frame,
                        spec,
                        schema.task,
                        tuple(carried),
                        target_kind,
                        rules.threshold,
                        rules.positive_class,
                    )
                    writer.write(scored)
                summary.rows, summary.chunks = last, summary.chunks + 1
                if on_chunk is not None:
                    on_chunk(len(raw))
            check_budgets(summary, schema, rules, str(source))
            if not writer.started:
                raise ScoringError(
                    f"{source}: every one of its {summary.rows} rows breaks a row-level rule, "
                    "so nothing is left to score (see the warnings). No output was written"
                )
            if rejected is not None and not rejected.started and side_header is not None:
                rejected.write(side_header)
        finally:
            writer.close()
            if rejected is not None:
                rejected.close()
    return summary
