"""Evaluate's chunk-wise work, the same on every engine.

Each chunk of the test file (a batch of ``memory.chunk_rows`` rows on the local engine, a
Parquet row group on a Dask worker) is scored where it is read, and only what evaluation needs
comes back (``Scored``): the labels and the model's outputs (``Predictions``), the slice and id
columns, each row's hash over all its values, and the rows of the permutation-importance
sample. The training file gives the predictions of its sampled rows only. The chunks' results
are joined in row order, so the metrics are computed on exactly the rows and values a single
pass over the whole file gives, whatever the cut.

The samples are decided per row: a row is in the sample when the seeded hash of its row number
(``mlpipe.rowhash``) is at most ``sample_cut`` (the ``rows``-th lowest hash of the file's row
numbers), so exactly ``rows`` rows are taken, the same ones on every engine.

The model reaches a worker as a ``ModelFile`` (path and md5), loaded there once per process
(``model_of``); the stage's process registers the model it loaded (``remember_model``), so the
local engine never loads it twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.config import Params
from mlpipe.data.schema import Schema
from mlpipe.evaluation.rows import row_hashes
from mlpipe.io import cast_to, parquet_columns, whole_column_dtypes
from mlpipe.model.features import FeatureSpec
from mlpipe.model.predict import predictions
from mlpipe.predictions import Predictions
from mlpipe.rowhash import row_hash

_HASH_BLOCK = 1_000_000  # row numbers hashed at a time by sample_cut


@dataclass(frozen=True)
class ModelFile:
    """A model file a worker loads itself (``path`` absolute; ``md5`` tells versions apart)."""

    path: str
    md5: str


_MODELS: dict[ModelFile, Any] = {}  # this process's loaded model (at most one)
_LOCK = threading.Lock()


def remember_model(ref: ModelFile, model: Any) -> None:
    """Register ``model`` as the one ``ref`` names in this process (no second load)."""
    with _LOCK:
        _MODELS.clear()
        _MODELS[ref] = model


def model_of(model: Any) -> Any:
    """The fitted model: ``model`` itself, or the one a ``ModelFile`` names (loaded once per
    process, kept until another is asked for)."""
    if not isinstance(model, ModelFile):
        return model
    with _LOCK:
        if model not in _MODELS:
            from mlpipe.model.persist import load_model

            _MODELS.clear()
            _MODELS[model] = load_model(model.path)
        return _MODELS[model]


def sample_cut(total: int, rows: int, seed: int) -> int | None:
    """The largest of the ``rows`` lowest seeded hashes of the row numbers ``0 .. total - 1``:
    the rows whose hash is at most this are the sample (``in_sample``); None when
    ``total <= rows`` (every row). Memory: ``rows`` hashes plus a block of row numbers."""
    if total <= rows:
        return None
    lowest = np.zeros(0, dtype=np.uint64)
    for start in range(0, total, _HASH_BLOCK):
        block = row_hash(np.arange(start, min(total, start + _HASH_BLOCK)), seed)
        joined = np.concatenate([lowest, block])
        lowest = np.partition(joined, rows - 1)[:rows] if len(joined) > rows else joined
    return int(lowest.max())


def in_sample(rows: np.ndarray, seed: int, cut: int | None) -> np.ndarray:
    """Which of the row numbers ``rows`` are in the sample ``sample_cut`` decided."""
    if cut is None:
        return np.ones(len(rows), dtype=bool)
    return row_hash(np.asarray(rows, dtype=np.int64), seed) <= np.uint64(cut)


def sample_positions(total: int, rows: int, seed: int) -> np.ndarray | None:
    """The ascending row numbers of the sample of ``rows`` of ``total`` rows (None: every
    row), for a table in memory."""
    cut = sample_cut(total, rows, seed)
    if cut is None:
        return None
    return np.flatnonzero(in_sample(np.arange(total), seed, cut))


@dataclass(frozen=True)
class ScoringPlan:
    """How chunks are scored: the model (fitted, or a ``ModelFile``), its features, the target
    and task, the binary decision (``threshold``, ``positive``), the columns to bring back
    (``slices``, ``ids``), the dtypes to cast to (``mlpipe.io.whole_column_dtypes``), and
    the sample (``seed``, ``cut``: the importance rows of the test file, the scored rows of
    the training file)."""

    model: Any
    spec: FeatureSpec
    target: str
    task: str
    threshold: float = 0.5
    positive: str | None = None
    slices: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    casts: tuple[tuple[str, str], ...] = ()
    seed: int = 0
    cut: int | None = None


@dataclass(frozen=True)
class Scored:
    """What a chunk of the test file (or a join of chunks) gives evaluation, rows aligned:
    the predictions, the slice and id columns, each row's hash over all its values, and the
    features and target of the rows in the importance sample (in row order)."""

    predictions: Predictions
    slices: pd.DataFrame
    ids: pd.DataFrame
    hashes: np.ndarray
    sample: pd.DataFrame


def score_test_chunk(chunk: pd.DataFrame, plan: ScoringPlan) -> Scored:
    """Score one chunk of the test file: ``chunk`` holds every column of the file in order, its
    index the rows' numbers in the file."""
    chunk = cast_to(chunk, dict(plan.casts))
    scored = _predict(chunk, plan)
    picked = in_sample(np.asarray(chunk.index), plan.seed, plan.cut)
    columns = list(dict.fromkeys([*plan.spec.columns, plan.target]))
    return Scored(
        predictions=scored,
        slices=chunk[list(plan.slices)].reset_index(drop=True),
        ids=chunk[list(plan.ids)].reset_index(drop=True),
        hashes=row_hashes([chunk]),
        sample=chunk.loc[picked, columns].reset_index(drop=True),
    )


def score_train_chunk(chunk: pd.DataFrame, plan: ScoringPlan) -> Predictions:
    """The predictions of the sampled rows of one chunk of the training file (its index: the
    rows' numbers in the file)."""
    chunk = cast_to(chunk, dict(plan.casts))
    picked = in_sample(np.asarray(chunk.index), plan.seed, plan.cut)
    return _predict(chunk[picked] if not picked.all() else chunk, plan)


def _predict(frame: pd.DataFrame, plan: ScoringPlan) -> Predictions:
    return predictions(
        model_of(plan.model),
        frame,
        plan.spec,
        plan.target,
        plan.task,
        threshold=plan.threshold,
        positive=plan.positive,
    )


def merge_predictions(a: Predictions | None, b: Predictions) -> Predictions:
    """``a`` then ``b`` (``b``'s rows after ``a``'s); ``a`` None: nothing yet."""
    if a is None:
        return b
    proba = None
    if a.proba is not None and b.proba is not None:
        proba = np.concatenate([a.proba, b.proba])
    return Predictions(
        y_true=np.concatenate([a.y_true, b.y_true]),
        y_pred=np.concatenate([a.y_pred, b.y_pred]),
        proba=proba,
        classes=a.classes or b.classes,
    )


def merge_scored(a: Scored | None, b: Scored) -> Scored:
    """``a`` then ``b`` (``b``'s rows after ``a``'s); ``a`` None: nothing yet."""
    if a is None:
        return b
    return Scored(
        predictions=merge_predictions(a.predictions, b.predictions),
        slices=_join(a.slices, b.slices),
        ids=_join(a.ids, b.ids),
        hashes=np.concatenate([a.hashes, b.hashes]),
        sample=_join(a.sample, b.sample),
    )


def _join(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    if not len(b):
        return a
    if not len(a):
        return b
    return pd.concat([a, b], ignore_index=True)


def scoring_plans(
    model: Any,
    spec: FeatureSpec,
    schema: Schema,
    params: Params,
    test: tuple[str | Path, int],
    train: tuple[str | Path, int],
) -> tuple[ScoringPlan, ScoringPlan]:
    """How the test file and the training file (each ``(path, rows)``) are scored: the test
    file's importance sample (``evaluate.importance_rows``), the training file's sample
    (``evaluate.train_rows``), both seeded with ``evaluate.seed``."""
    config, data = params.evaluate, params.data
    columns = set(parquet_columns(test[0]))
    plan = ScoringPlan(
        model,
        spec,
        schema.target,
        schema.task,
        threshold=params.train.threshold,
        positive=data.positive_class,
        slices=config.slices,
        ids=tuple(c for c in data.id_columns if c in columns),
        casts=tuple(whole_column_dtypes(test[0]).items()),
        seed=config.seed,
        cut=sample_cut(test[1], config.importance_rows, config.seed),
    )
    train_plan = replace(
        plan,
        casts=tuple(whole_column_dtypes(train[0]).items()),
        cut=sample_cut(train[1], config.train_rows, config.seed),
    )
    return plan, train_plan


MapMerge = Callable[..., Any]


def score_files(
    map_merge: MapMerge,
    test: str | Path,
    train: str | Path,
    test_plan: ScoringPlan,
    train_plan: ScoringPlan,
    empty: Callable[[str | Path], pd.DataFrame],
    columns: Callable[[str | Path], list[str]],
) -> tuple[Scored, Predictions]:
    """The test file scored chunk by chunk (``Scored``) and the predictions of the sampled
    training rows, through ``map_merge`` (an executor's: path, columns, chunk function,
    merge, initial). ``columns(path)``: a file's columns; ``empty(path)``: its columns without
    rows (what a file of no rows is scored on)."""
    import functools

    scored = map_merge(
        test,
        columns(test),
        functools.partial(score_test_chunk, plan=test_plan),
        merge_scored,
        None,
    )
    if scored is None:
        scored = score_test_chunk(empty(test), test_plan)
    wanted = list(dict.fromkeys([*train_plan.spec.columns, train_plan.target]))
    on_train = map_merge(
        train,
        wanted,
        functools.partial(score_train_chunk, plan=train_plan),
        merge_predictions,
        None,
    )
    if on_train is None:
        on_train = score_train_chunk(empty(train)[wanted], train_plan)
    return scored, on_train
