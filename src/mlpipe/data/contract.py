"""A source table read as ingest reads it, and the schema contract inferred from it.

Shared by `mlpipe schema infer` and `mlpipe init`, so both write the same schema.yaml for the
same table and params. ``read_normalized`` reads in chunks of ``chunk_rows`` rows with ingest's
two passes (profile, then convert: the same table ``normalize`` makes of the whole file);
``infer_contract`` is pure: the schema, its text and the messages to show.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlpipe.config import ConfigError, DataConfig, PathsConfig
from mlpipe.data.ingest import (
    NormalizeReport,
    check_roles,
    convert_chunk,
    iter_source,
    no_labels_message,
    normalize_chunks,
    report_notes,
    report_warnings,
    unlabelled_message,
    unlabelled_warning,
)
from mlpipe.data.schema import (
    Schema,
    column_hints,
    dump_schema,
    infer_schema,
    missing_labels_warning,
)
from mlpipe.data.split import date_column_problem


@dataclass(frozen=True)
class InferredContract:
    """A schema, its schema.yaml text, and what to tell the user as (log level, message)."""

    schema: Schema
    text: str
    messages: tuple[tuple[int, str], ...]
    unlabelled: int = 0  # rows without a target, left out (data.unlabelled: drop)


def read_normalized(
    source: str | Path,
    data: DataConfig,
    chunk_rows: int | None,
    on_header: Callable[[list[str]], None] | None = None,
) -> tuple[pd.DataFrame, NormalizeReport]:
    """The whole source, normalised as ingest does (``data.csv`` options, ids kept as text,
    the target's boolean rule), read in chunks of ``chunk_rows`` rows (None: at once).

    ``on_header(names)`` checks the column names before the first chunk is profiled.
    """

    def chunks() -> Iterator[pd.DataFrame]:
        return iter_source(source, data.csv, chunk_rows)

    plan = normalize_chunks(
        chunks,
        data.csv.na_values,
        on_header=on_header,
        decimal=data.csv.decimal,
        thousands=data.csv.thousands,
        keep_text=data.id_columns,
        labels=(data.target,),
        date_format=data.date_format,
        source=str(source),
        date_column=data.date_column,
    )
    parts = [convert_chunk(chunk, plan) for chunk in chunks()]
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return frame, plan.report


def labelled_rows(frame: pd.DataFrame, data: DataConfig) -> tuple[pd.DataFrame, int]:
    """The rows ingest trains and tests on, and how many it sets aside: under
    data.unlabelled ``drop`` the rows whose target is missing are left out (all rows under
    ``fail``, or when the target is not a column). ConfigError when no row has a target."""
    if data.unlabelled != "drop" or data.target not in frame.columns:
        return frame, 0
    missing = frame[data.target].isna().to_numpy(dtype=bool)
    if missing.all():
        raise ConfigError(no_labels_message(data.target, len(frame)))
    if not missing.any():
        return frame, 0
    return frame[~missing].reset_index(drop=True), int(missing.sum())


def infer_contract(
    frame: pd.DataFrame,
    data: DataConfig,
    report: NormalizeReport,
    source: str | Path,
    unlabelled_path: str | None = None,
) -> InferredContract:
    """The schema of ``frame``'s labelled rows (``labelled_rows``) for params.yaml [data], and
    the messages `schema infer` shows: ingest's notes (a saved row index left out first) and
    warnings, the rows without a target set aside, the decided task, missing labels (under
    data.unlabelled: fail), a date column that holds no dates, column hints and the count of
    each kind. Raises InputError / ConfigError when a column named in [data] is missing or the
    target cannot be learned. ``unlabelled_path`` (paths.unlabelled) names the unlabelled rows'
    table in the message."""
    messages = [(logging.WARNING, m) for m in report_notes(report) + report_warnings(report)]
    check_roles(frame, data, source)
    total = len(frame)
    frame, unlabelled = labelled_rows(frame, data)
    if unlabelled:
        where = unlabelled_path or PathsConfig().unlabelled
        messages.append((logging.INFO, unlabelled_message(unlabelled, total, data.target, where)))
        warning = unlabelled_warning(unlabelled, total, data.target)
        messages += [(logging.WARNING, warning)] if warning else []
    schema = infer_schema(
        frame,
        data.target,
        data.task,
        id_columns=data.id_columns,
        date_column=data.date_column,
        date_formats=report.date_formats,
    )
    if data.task == "auto":
        classes = "" if schema.classes is None else f": {list(schema.classes)[:10]}"
        messages.append(
            (
                logging.INFO,
                f"data.task is auto: decided '{schema.task}' from target '{data.target}' "
                f"({frame[data.target].nunique()} distinct values{classes})",
            )
        )
    labels = missing_labels_warning(frame[data.target])
    if labels is not None:
        messages.append((logging.WARNING, f"{labels} (max_missing: 0 in the schema)"))
    if data.date_column is not None:
        problem = date_column_problem(frame[data.date_column])
        if problem is not None:
            messages.append((logging.WARNING, problem))
    messages += [(logging.WARNING, hint) for hint in column_hints(frame, schema, data.id_columns)]
    kinds = Counter(spec.kind for spec in schema.columns if spec.name != schema.target)
    messages.append(
        (logging.INFO, "column kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    )
    return InferredContract(
        schema=schema, text=dump_schema(schema), messages=tuple(messages), unlabelled=unlabelled
    )
