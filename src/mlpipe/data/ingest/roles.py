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
    for key, name in named:
        if name not in columns:
            raise InputError(
                f"{source}: {key} names column '{name}', which is not in the file; its "
                f"{len(columns)} columns are: {shown}. Fix {key} in params.yaml"
            )
