"""Rows whose target is missing: set aside by ingest (``data.unlabelled: drop``), to score later.

They cannot train or test a model, and the source file stays as delivered (tracked by DVC):
ingest writes them to their own table (``paths.unlabelled``) with a ``row`` column, their
0-based data row in the source (0 = the first data row, after the header), followed by the
table's columns without the target, so `mlpipe predict` can score it as it is. The ingested
table's rows are then the other source rows, in order: ``source_rows`` maps one to the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mlpipe.data.ingest.normalize import Plan, convert_chunk
from mlpipe.io import InputError

# The unlabelled table's column of source row numbers.
ROW = "row"
# A warning names the unlabelled rows when they are more than this share of the source rows.
UNLABELLED_WARN_SHARE = 0.2


def set_aside(
    chunk: pd.DataFrame, target: str, first_row: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labelled rows, unlabelled rows) of one normalised chunk whose first row is the source's
    data row ``first_row`` (0-based). The labelled rows keep every column; the unlabelled ones
    get ``ROW`` first and lose the target (missing in each of them). Both keep the chunk's
    order and dtypes (also when empty), so the written tables do not depend on the chunk size.
    """
    missing = chunk[target].isna().to_numpy(dtype=bool)
    if missing.any() and ROW in chunk.columns and target != ROW:
        raise InputError(
            f"the table has a column named '{ROW}', the name the unlabelled rows' table gives "
            "their source row numbers: rename that column in the source, or set "
            "data.unlabelled: fail"
        )
    labelled = chunk[~missing].reset_index(drop=True)
    rows = (np.flatnonzero(missing) + first_row).astype(np.int64)
    # (a source column named ROW is refused above when a row is set aside: empty here)
    unlabelled = chunk.loc[missing, [c for c in chunk.columns if c not in (target, ROW)]]
    unlabelled = unlabelled.reset_index(drop=True)
    unlabelled.insert(0, ROW, rows)
    return labelled, unlabelled


def ingest_chunk(
    chunk: pd.DataFrame, plan: Plan, target: str, drop: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pass 2 of ingest on one raw chunk (its index: its rows' positions in the source):
    (rows to write, unlabelled rows set aside). ``drop`` (data.unlabelled: drop) sets aside
    the rows without a target; otherwise every row is kept and none set aside."""
    table = convert_chunk(chunk, plan)
    first = int(chunk.index[0]) if len(chunk) else 0
    kept, aside = set_aside(table if drop else table.iloc[:0], target, first)
    return (kept if drop else table.reset_index(drop=True)), aside


def source_rows(labelled_count: int, unlabelled_rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The 0-based source row of each row of the ingested (labelled) table, in its order.

    ``unlabelled_rows`` is the unlabelled table's ``ROW`` column: the source's rows are the
    labelled and the unlabelled ones, so the labelled rows are the complement, in order.
    Raises ValueError when the numbers cannot be the unlabelled rows of such a source
    (negative, repeated, or beyond the source's rows).
    """
    aside = np.asarray(unlabelled_rows, dtype=np.int64)
    total = labelled_count + len(aside)
    if labelled_count < 0 or len(np.unique(aside)) != len(aside):
        raise ValueError("unlabelled row numbers must be distinct and the count non-negative")
    if len(aside) and (aside.min() < 0 or aside.max() >= total):
        raise ValueError(
            f"unlabelled row numbers must lie in 0..{total - 1} "
            f"({labelled_count} labelled + {len(aside)} unlabelled rows)"
        )
    keep = np.ones(total, dtype=bool)
    keep[aside] = False
    return np.flatnonzero(keep).astype(np.int64)


def no_labels_message(target: str, rows: int) -> str:
    """The error for a target missing in every row (nothing to train on)."""
    return (
        f"target '{target}' has no values: all {rows} rows are empty. Choose another "
        "data.target or fill in the labels"
    )


def unlabelled_message(count: int, total: int, target: str, path: str) -> str:
    """The line about the rows set aside: how many, of how many, where they went."""
    share = count / total if total else 0.0
    return (
        f"{count} of {total} rows ({share:.1%}) have no value in target '{target}': set aside "
        f"in {path} (not used to train or test; score them with `mlpipe predict --input {path}`)"
    )


def unlabelled_warning(count: int, total: int, target: str) -> str | None:
    """A warning when the unlabelled rows are more than ``UNLABELLED_WARN_SHARE`` of the rows."""
    if not total or count / total <= UNLABELLED_WARN_SHARE:
        return None
    return (
        f"{count / total:.0%} of the rows have no value in target '{target}' (more than "
        f"{UNLABELLED_WARN_SHARE:.0%}): the model learns from the other {total - count}. Check "
        "data.target, and whether the missing labels are missing at random"
    )
