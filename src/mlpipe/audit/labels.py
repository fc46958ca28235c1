"""Label issues: rows whose given label the rest of the table contradicts (cleanlab).

Every row gets class probabilities from a model that did not see it (``folds``-fold
cross-validation, seeded): the project's own feature preprocessing (what train sees) and a
fixed, cheap histogram gradient boosting, not the user's train settings, so changing those
never reruns the audit. cleanlab's ``find_label_issues`` (confident learning) then says which
labels are likely wrong, ranked by self-confidence (the probability the model gives to the
given label: lowest first). ``find_issues`` is the only place cleanlab is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from mlpipe.model.features import FeatureSpec, categorical_indices, model_frame, preprocessor

# The audit's own model: small and fixed (train params never change it).
ITERATIONS = 50
LEARNING_RATE = 0.1
MAX_LEAF_NODES = 15
MIN_SAMPLES_LEAF = 20
MODEL = (
    f"histogram gradient boosting ({ITERATIONS} iterations, {MAX_LEAF_NODES} leaves) on the "
    "model's features"
)
# Label qualities are rounded to this many decimals in outputs (byte-stable files).
DECIMALS = 6


@dataclass(frozen=True)
class LabelIssues:
    """The rows cleanlab lists, worst first: their positions in the audited frame, the given
    and the suggested (most probable) label, and the label quality (the probability the model
    gives to the given label; 0: surely wrong, 1: surely right)."""

    positions: np.ndarray
    given: tuple[str, ...]
    suggested: tuple[str, ...]
    quality: np.ndarray


def audit_model(spec: FeatureSpec, seed: int) -> Pipeline:
    """The fixed classifier whose out-of-fold probabilities cleanlab reads (unfitted)."""
    model = HistGradientBoostingClassifier(
        max_iter=ITERATIONS,
        learning_rate=LEARNING_RATE,
        max_leaf_nodes=MAX_LEAF_NODES,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        early_stopping=False,
        categorical_features=categorical_indices(spec),
        random_state=seed,
    )
    return Pipeline(
        [("features", preprocessor(spec, scale=False, encoding="ordinal")), ("model", model)]
    )


def out_of_fold_proba(
    frame: pd.DataFrame,
    spec: FeatureSpec,
    labels: np.ndarray,
    classes: int,
    *,
    folds: int,
    seed: int,
) -> np.ndarray:
    """Probabilities (rows x ``classes``) of each row's class from models fitted on the other
    folds. ``labels`` are class codes 0 .. classes - 1, each class with at least ``folds``
    rows; the folds are stratified and seeded."""
    x = model_frame(frame, spec)
    proba = np.zeros((len(x), classes), dtype=np.float64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_out in splitter.split(np.zeros(len(labels)), labels):
        model = audit_model(spec, seed).fit(x.iloc[fit_rows], labels[fit_rows])
        # a class absent from the fitting rows cannot happen (stratified, >= folds rows each),
        # but keep the columns aligned with the class codes whatever the model saw
        proba[np.ix_(held_out, model.classes_)] = model.predict_proba(x.iloc[held_out])
    return proba


def find_issues(labels: np.ndarray, proba: np.ndarray, classes: Sequence[str]) -> LabelIssues:
    """cleanlab's ``find_label_issues`` on given labels (codes into ``classes``) and
    out-of-fold probabilities, ranked by self-confidence (worst first, ties by position)."""
    quality = get_label_quality_scores(labels, proba, method="self_confidence")
    mask = find_label_issues(labels, proba, n_jobs=1)
    positions = np.flatnonzero(mask)
    positions = positions[np.lexsort((positions, quality[positions]))]
    names = np.asarray(classes, dtype=object)
    return LabelIssues(
        positions=positions,
        given=tuple(str(c) for c in names[labels[positions]]),
        suggested=tuple(str(c) for c in names[np.argmax(proba[positions], axis=1)]),
        quality=np.round(quality[positions], DECIMALS),
    )


def source_rows(positions: np.ndarray, sources: np.ndarray | None = None) -> np.ndarray:
    """The source file's data rows (0: the first row after the header) of rows at
    ``positions`` of the ingested table.

    ``sources`` is the source row of every row of the ingested table
    (``mlpipe.data.ingest.source_rows``: ingest sets rows without a target aside, so the table
    skips their numbers); None when ingest kept every source row, in order. This is the one
    place that maps them.
    """
    positions = np.asarray(positions, dtype=np.int64)
    return positions if sources is None else np.asarray(sources, dtype=np.int64)[positions]


def issue_table(issues: LabelIssues, rows: np.ndarray, ids: pd.DataFrame) -> pd.DataFrame:
    """The label-issues table, worst first: ``row`` (the source row), the id columns,
    ``given_label``, ``suggested_label`` and ``label_quality``.

    ``rows`` are the source rows and ``ids`` the id columns of the audited frame's rows (same
    order as the frame); an id column named like one of the table's own columns gets
    `` (id)`` appended.
    """
    own = ("row", "given_label", "suggested_label", "label_quality")
    out: dict[str, object] = {"row": rows[issues.positions]}
    for column in ids.columns:
        name = f"{column} (id)" if column in own else str(column)
        out[name] = ids[column].to_numpy()[issues.positions]
    out["given_label"] = list(issues.given)
    out["suggested_label"] = list(issues.suggested)
    out["label_quality"] = issues.quality
    return pd.DataFrame(out)
