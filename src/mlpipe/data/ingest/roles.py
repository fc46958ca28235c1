"""Checks of the column names params.yaml gives against a table's columns."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from pathlib import Path

from mlpipe.config import DataConfig
from mlpipe.io import InputError


def check_roles(columns: Iterable[Hashable], data: DataConfig, source: str | Path) -> None:
    """Raise InputError when a column named in params.yaml [data] is not in ``columns``.

    ``columns`` is a table (its column names) or the names themselves. Checked at ingest, on
    the header, so a wrong name stops the pipeline before anything is written or trained.
    """
    columns = [str(c) for c in columns]
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    named = [("data.target", data.target)]
    named += [("data.id_columns", c) for c in data.id_columns]
    if data.date_column is not None:
        named.append(("data.date_column", data.date_column))
    for key, names in (
        ("data.numeric_features", data.numeric_features),
        ("data.categorical_features", data.categorical_features),
        ("data.boolean_features", data.boolean_features),
    ):
        named += [(key, c) for c in names or ()]
    named += [("data.exclude_columns", c) for c in data.exclude_columns]
    for key, name in named:
        if name not in columns:
            raise InputError(
                f"{source}: {key} names column '{name}', which is not in the file; its "
                f"{len(columns)} columns are: {shown}. Fix {key} in params.yaml"
            )


def check_slices(
    columns: Iterable[Hashable], slices: Iterable[str], data: DataConfig, source: str | Path
) -> None:
    """Raise InputError when evaluate.slices names a column evaluate cannot slice by.

    Checked at ingest, on the header, so a wrong slice stops the pipeline before training,
    not after it in evaluate: a name that is not a column of the file; the target (each slice
    would hold one class: its metrics are undefined); an id column (data.id_columns: one slice
    per id, each too small to report; evaluate refuses it) or data.date_column (not a category).
    Whether a slice column is categorical or boolean is checked by evaluate against the schema.
    """
    columns = [str(c) for c in columns]
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    for name in slices:
        if name not in columns:
            raise InputError(
                f"{source}: evaluate.slices names column '{name}', which is not in the file; "
                f"its {len(columns)} columns are: {shown}. Fix evaluate.slices in params.yaml "
                "(categorical or boolean columns, or [] for none)"
            )
        role = (
            "the target (data.target): each slice would hold one class and its metrics would "
            "be undefined"
            if name == data.target
            else "an id column (data.id_columns): one slice per id, each too small to report"
            if name in data.id_columns
            else "the date column (data.date_column), not a category"
            if name == data.date_column
            else None
        )
        if role is not None:
            raise InputError(
                f"{source}: evaluate.slices names '{name}', {role}. Remove it from "
                "evaluate.slices in params.yaml (slice by categorical or boolean columns)"
            )
