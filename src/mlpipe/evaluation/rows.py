"""The test set's per-row predictions (evaluate's ``paths.test_predictions``), and how two
revisions' rows are paired.

One row per test row, in the test file's order: the id columns (``data.id_columns`` present in
the test file), ``row`` (the position in the test file), ``row_hash`` (a hash of every value of
the test row, so a changed split or changed data shows), ``y_true`` and ``y_pred`` (class
labels as text, or values), and for classifiers ``proba:<class>`` per class (the model's
classes, in its order). An id column named like one of these is stored as ``id:<name>``.

Two revisions pair when they scored the same rows (``Pairing.reason`` is markdown, data-derived
names escaped): by the id columns when both files have the
same ones and they are unique (then every id must be on both sides, with the same label), else
by position when every ``row_hash`` is equal. Otherwise the test sets differ and comparisons
are unpaired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlpipe.evaluation.bootstrap import Scored
from mlpipe.evaluation.metrics import Predictions, positive_class
from mlpipe.markdown_escape import md_code

ROW, ROW_HASH, Y_TRUE, Y_PRED = "row", "row_hash", "y_true", "y_pred"
PROBA = "proba:"
_OWN = (ROW, ROW_HASH, Y_TRUE, Y_PRED)


def id_name(column: str) -> str:
    """The column an id column is stored as (``id:<name>`` when its name is one of ours)."""
    return f"id:{column}" if column in _OWN or column.startswith(PROBA) else column


def row_hashes(batches: Iterable[pd.DataFrame]) -> np.ndarray:
    """A uint64 hash of each row's values (every column, in order), batch after batch: the
    same rows give the same hashes whatever the batch sizes."""
    parts = [pd.util.hash_pandas_object(b, index=False).to_numpy() for b in batches]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def prediction_rows(
    p: Predictions, ids: pd.DataFrame, hashes: np.ndarray, task: str
) -> pd.DataFrame:
    """The per-row predictions table of one test set.

    ``ids`` holds the id columns of the test rows (possibly none), ``hashes`` one hash per row
    (``row_hashes``), both aligned with ``p``.
    """
    out = {id_name(c): ids[c].to_numpy() for c in ids.columns}
    out[ROW] = np.arange(len(p.y_true), dtype=np.int64)
    out[ROW_HASH] = np.asarray(hashes, dtype=np.uint64)
    if task == "regression":
        out[Y_TRUE] = np.asarray(p.y_true, dtype=float)
        out[Y_PRED] = np.asarray(p.y_pred, dtype=float)
    else:
        out[Y_TRUE] = np.asarray(p.y_true, dtype=object).astype(str)
        out[Y_PRED] = np.asarray(p.y_pred, dtype=object).astype(str)
        for i, label in enumerate(p.classes):
            out[f"{PROBA}{label}"] = np.asarray(p.proba[:, i], dtype=float)  # type: ignore[index]
    return pd.DataFrame(out)


def classes_of(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(c[len(PROBA) :] for c in frame.columns if c.startswith(PROBA))


def id_columns_of(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in _OWN and not c.startswith(PROBA)]


def task_of(frame: pd.DataFrame) -> str:
    """binary / multiclass from the probability columns, regression without them."""
    classes = classes_of(frame)
    if not classes:
        return "regression"
    return "binary" if len(classes) == 2 else "multiclass"


def scored(frame: pd.DataFrame, positive: str | None = None) -> Scored:
    """The arrays the bootstrap needs, from a per-row predictions table; ``positive`` is
    ``data.positive_class`` (binary: None picks the last class in sort order)."""
    task = task_of(frame)
    if task == "regression":
        return Scored(
            task, frame[Y_TRUE].to_numpy(dtype=float), frame[Y_PRED].to_numpy(dtype=float)
        )
    classes = classes_of(frame)
    y = frame[Y_TRUE].astype(str).to_numpy()
    pred = frame[Y_PRED].astype(str).to_numpy()
    proba = frame[[f"{PROBA}{c}" for c in classes]].to_numpy(dtype=float)
    if task == "binary":
        pos = positive_class(classes, positive)
        return Scored(task, y == pos, pred == pos, proba[:, classes.index(pos)], classes)
    return Scored(task, _codes(y, classes), _codes(pred, classes), proba, classes)


def _codes(labels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Each label's index in ``classes``, -1 for a label the model does not know."""
    return pd.Categorical(labels, categories=list(classes)).codes.astype(np.int64)


@dataclass(frozen=True)
class Pairing:
    """How two test sets' rows correspond.

    ``paired``: the same rows; ``base_rows`` / ``pr_rows`` are then positions putting both
    sides in one order. Otherwise both are every row of their side, ``common`` counts the rows
    found on both sides, and ``reason`` says what differs.
    """

    paired: bool
    base_rows: np.ndarray
    pr_rows: np.ndarray
    by: str
    common: int
    reason: str | None = None


def pair(base: pd.DataFrame, pr: pd.DataFrame) -> Pairing:
    """Pair the rows of two per-row predictions tables (see the module's docstring)."""
    ids = id_columns_of(pr)
    if ids and ids == id_columns_of(base) and _unique(base, ids) and _unique(pr, ids):
        return _pair_by_ids(base, pr, ids)
    same = len(base) == len(pr) and np.array_equal(
        base[ROW_HASH].to_numpy(), pr[ROW_HASH].to_numpy()
    )
    all_base, all_pr = np.arange(len(base)), np.arange(len(pr))
    if same:
        return Pairing(True, all_base, all_pr, "position", len(pr))
    common = len(np.intersect1d(base[ROW_HASH].to_numpy(), pr[ROW_HASH].to_numpy()))
    return Pairing(
        False,
        all_base,
        all_pr,
        "position",
        common,
        _differ(len(base), len(pr), common, "the same values"),
    )


def _unique(frame: pd.DataFrame, ids: Sequence[str]) -> bool:
    keys = frame[list(ids)]
    return not keys.isna().any().any() and not keys.duplicated().any()


def _keys(frame: pd.DataFrame, ids: Sequence[str]) -> pd.Index:
    return pd.MultiIndex.from_frame(frame[list(ids)].astype(str))


def _pair_by_ids(base: pd.DataFrame, pr: pd.DataFrame, ids: Sequence[str]) -> Pairing:
    base_keys, pr_keys = _keys(base, ids), _keys(pr, ids)
    at = base_keys.get_indexer(pr_keys)  # each PR row's position in base (-1: absent)
    common = int((at >= 0).sum())
    by = "id " + ", ".join(md_code(c) for c in ids)
    all_base, all_pr = np.arange(len(base)), np.arange(len(pr))
    if common != len(pr) or common != len(base):
        reason = _differ(len(base), len(pr), common, f"the same {by}")
        return Pairing(False, all_base, all_pr, by, common, reason)
    labels_differ = int(
        (base[Y_TRUE].astype(str).to_numpy()[at] != pr[Y_TRUE].astype(str).to_numpy()).sum()
    )
    if labels_differ:
        reason = (
            f"the same rows (by {by}), but {labels_differ} of them have another label: the "
            "target changed"
        )
        return Pairing(False, all_base, all_pr, by, common, reason)
    return Pairing(True, at, all_pr, by, common)


def _differ(base: int, pr: int, common: int, by: str) -> str:
    return (
        f"{base} base rows, {pr} PR rows, {common} with {by} on both sides: the split or the "
        "data changed"
    )
