"""``train.estimator: xgboost`` on the Dask engine, through ``xgboost.dask``.

The training table is read on the workers, one partition per Parquet row group
(``dask.dataframe.from_map``), each turned into the booster's input by the same functions as
on the local engine (mlpipe.model.boosting). The categories and classes come first, from a
pass of ``training_summary`` tasks merged in file order (exact sorted unions). XGBoost then
trains on a ``DaskQuantileDMatrix`` with native categorical splits; early stopping watches
the rows ``validation_mask`` holds out (by row number in the table, so the slice does not
depend on the partitioning). The fitted Pipeline is the local engine's: the same classes, the
same file format, loaded and used on one machine without Dask.

The booster itself is not byte-identical to the local engine's (nor across cluster shapes):
the quantile sketch and the gradient sums are merged across workers. Its quality is the same
(tests/unit/model/test_dask_train.py: test AUC within 0.005 of the local engine's).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from distributed import Client
from sklearn.pipeline import Pipeline
from xgboost import dask as dxgb

from mlpipe.config import TrainConfig
from mlpipe.engine.cluster import DaskExecutor, worker_memory_limits, worker_memory_used
from mlpipe.io import iter_parquet
from mlpipe.model.boosting import (
    LABEL,
    VALIDATION,
    BoostingError,
    TrainingSummary,
    XGBoostFeatures,
    booster_frame,
    booster_params,
    check_classes,
    check_fits_in_memory,
    check_validation_rows,
    label_codes,
    merge_training_summaries,
    training_summary,
    validation_mask,
    xgboost_model,
)
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.train import target_values

log = logging.getLogger(__name__)
_COUNT_BLOCK = 1_000_000  # rows hashed at a time when counting the validation rows
WATCH_S = 1.0  # how often training checks that its workers are still there


def fit_on_dask(
    client: Client,
    path: str,
    spec: FeatureSpec,
    target: str,
    task: str,
    config: TrainConfig,
    chunk_rows: int,
) -> Pipeline:
    """Fit ``train.xgboost`` on the cluster behind ``client`` from the Parquet file ``path``.

    Raises BoostingError before reading any row when the training data cannot fit the
    workers' memory (``check_fits_in_memory``), or when there are too few classes or rows.
    """
    c = config.xgboost
    path = str(Path(path).resolve())  # the workers do not share this process's directory
    with pq.ParquetFile(path) as handle:
        sizes = [handle.metadata.row_group(g).num_rows for g in range(handle.num_row_groups)]
    rows = sum(sizes)
    columns = [*spec.columns, target]
    executor = DaskExecutor(client, chunk_rows)
    empty = TrainingSummary(0, {}, ())
    chunk = functools.partial(training_summary, spec=spec, target=target, task=task)
    # The classes are not known before this pass; the estimate assumes one output per row
    # (binary, regression) and is checked again with the classes' count below.
    limits, used = worker_memory_limits(client), worker_memory_used(client)
    check_fits_in_memory(rows, spec, 1, c.max_bin, limits, used)
    summary = executor.map_merge(path, columns, chunk, merge_training_summaries, empty)
    check_classes(summary.classes, task)
    outputs = len(summary.classes) if len(summary.classes) > 2 else 1
    check_fits_in_memory(rows, spec, outputs, c.max_bin, limits, worker_memory_used(client))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    read = functools.partial(
        _partition,
        path=path,
        names=columns,
        spec=spec,
        target=target,
        task=task,
        summary=summary,
        seed=config.seed,
        fraction=c.validation_fraction,
    )
    meta = read((-1, 0))
    frame = dd.from_map(read, list(enumerate(offsets)), meta=meta, enforce_metadata=False)
    features = list(spec.columns)
    params = booster_params(config, task, len(summary.classes))
    log.info(
        "xgboost.dask: %d rows in %d partitions on %d workers, %d rounds at most",
        rows,
        len(sizes),
        len(worker_memory_limits(client)),
        c.n_estimators,
    )
    with client.as_current():  # xgboost.dask looks the client up even when it is passed
        booster = _train(client, frame, features, params, config, rows)
    step = XGBoostFeatures(spec.numeric, spec.boolean, spec.categorical)
    step.categories_ = summary.categories
    model = xgboost_model(config, task, len(summary.classes))
    if task != "regression":
        model.classes_ = np.asarray(summary.classes, dtype=object)
    model.set_booster(booster, features)
    return Pipeline([("features", step), ("model", model)])


def _train(
    client: Client,
    frame: dd.DataFrame,
    features: list[str],
    params: dict,
    config: TrainConfig,
    rows: int,
):
    """The booster, trained with ``xgboost.dask`` on a ``DaskQuantileDMatrix`` of ``frame``;
    with early stopping, the rounds up to the best one on the rows ``validation_mask`` holds
    out."""
    c = config.xgboost
    matrix = functools.partial(
        dxgb.DaskQuantileDMatrix, client, enable_categorical=True, max_bin=c.max_bin
    )
    if not c.early_stopping_rounds:
        train = matrix(frame[features], frame[LABEL])
        run = functools.partial(dxgb.train, client, params, train, c.n_estimators)
        return _while_workers_stay(client, run, [train])["booster"]
    held = _validation_rows(rows, config.seed, c.validation_fraction)
    check_validation_rows(held, rows, c.validation_fraction)
    fit, valid = frame[~frame[VALIDATION]], frame[frame[VALIDATION]]
    train = matrix(fit[features], fit[LABEL])
    watched = matrix(valid[features], valid[LABEL], ref=train)
    run = functools.partial(
        dxgb.train,
        client,
        params,
        train,
        c.n_estimators,
        evals=[(watched, "validation")],
        early_stopping_rounds=c.early_stopping_rounds,
        verbose_eval=False,
    )
    booster = _while_workers_stay(client, run, [train, watched])["booster"]
    return booster[: booster.best_iteration + 1]


def _while_workers_stay(client: Client, run: Callable[[], Any], matrices: list) -> Any:
    """``run()`` (XGBoost training), stopped with a BoostingError naming the worker and its
    memory limit as soon as a worker holding training data leaves the cluster.

    XGBoost's workers train together: without one the others wait for it, and Dask cannot
    move a training task elsewhere, so training would hang. The scheduler notices a dead
    worker at once (its connection closes; a silent one after Dask's worker TTL), and this
    checks every ``WATCH_S`` seconds. Training runs in a daemon thread, left behind when the
    stage fails: closing the client ends it.
    """
    limits = worker_memory_limits(client)
    workers = sorted({w for m in matrices for w in m.worker_map})
    outcome: dict[str, Any] = {}

    def train() -> None:
        try:
            with client.as_current():  # a new thread: not the caller's current client
                outcome["booster"] = run()
        except BaseException as exc:  # handed to the stage's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=train, name="xgboost.dask train", daemon=True)
    thread.start()
    gone: list[str] = []
    while thread.is_alive() and not gone:
        thread.join(WATCH_S)
        present = worker_memory_limits(client)
        gone = [w for w in workers if w not in present]
    if gone and "booster" not in outcome:  # left, and training did not finish
        limit = limits.get(gone[0], 0)
        memory = f"memory limit {limit / 2**30:.2f} GiB" if limit else "no memory limit"
        raise BoostingError(
            f"Dask worker {gone[0]} ({memory}) left the cluster while XGBoost trained, so "
            f"training stopped ({len(workers)} workers held the training rows). A worker that "
            "exceeds its memory limit is restarted or killed: give the workers more memory or "
            "add workers, or train on fewer rows; `dvc repro` then reruns train only (the "
            "stages before it are cached)"
        ) from outcome.get("error")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["booster"]


def _validation_rows(rows: int, seed: int, fraction: float) -> int:
    """How many of ``rows`` rows ``validation_mask`` holds out (hashing row numbers only)."""
    return sum(
        int(
            validation_mask(
                np.arange(start, min(rows, start + _COUNT_BLOCK)), seed, fraction
            ).sum()
        )
        for start in range(0, rows, _COUNT_BLOCK)
    )


def _partition(
    part: tuple[int, int],
    path: str,
    names: list[str],
    spec: FeatureSpec,
    target: str,
    task: str,
    summary: TrainingSummary,
    seed: int,
    fraction: float,
) -> pd.DataFrame:
    """Row group ``part[0]`` of the table (its first row is row ``part[1]``) as the booster's
    input, the label and the validation flag; row group -1: the empty frame (Dask's meta).
    ``names``: the columns to read (not called ``columns``: Dask would project it away)."""
    group, offset = part
    batches = [] if group < 0 else list(iter_parquet(path, 1 << 30, names, row_groups=[group]))
    if not batches:  # the meta, or an empty row group
        raw = pq.read_schema(path).empty_table().select(names).to_pandas()
    else:
        raw = pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
    frame = booster_frame(model_frame(raw, spec), spec, summary.categories)
    labels = target_values(raw, target, task)
    frame[LABEL] = label_codes(labels, summary.classes, task)
    frame[VALIDATION] = validation_mask(np.arange(offset, offset + len(raw)), seed, fraction)
    return frame.set_axis(pd.RangeIndex(offset, offset + len(raw)))
