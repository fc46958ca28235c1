"""train.estimator: xgboost on the local engine: seeded, deterministic files, early stopping on
hashed training rows, all three tasks, the up-front memory check (mlpipe.model.boosting)."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from mlpipe.config import TrainConfig, XGBoostConfig
from mlpipe.model.boosting import (
    WORKER_READY,
    WORKER_TRAINING,
    BoostingError,
    TrainingSummary,
    XGBoostClassifierModel,
    booster_params,
    check_fits_in_memory,
    merge_training_summaries,
    training_memory,
    training_summary,
    validation_mask,
    worker_room,
)
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.persist import load_model, model_bytes, save_model
from mlpipe.model.train import fit_model
from support.tiny import tiny_frame, tiny_schema, tiny_spec


def _config(**xgboost: object) -> TrainConfig:
    return TrainConfig(
        estimator="xgboost",
        seed=5,
        xgboost=dataclasses.replace(XGBoostConfig(n_estimators=60), **xgboost),
    )


def _fit(task: str, rows: int = 600, **xgboost: object):
    return fit_model(
        tiny_frame(rows, task), tiny_spec(tiny_schema(task)), "y", task, _config(**xgboost)
    )


def test_validation_rows_are_decided_per_row_by_seed_and_row_number() -> None:
    rows = np.arange(20_000)
    mask = validation_mask(rows, seed=3, fraction=0.1)
    assert 0.09 < mask.mean() < 0.11
    # cut anywhere, the same rows: the choice depends on the row's number only
    parts = [
        validation_mask(rows[a:b], 3, 0.1) for a, b in ((0, 7), (7, 12_345), (12_345, 20_000))
    ]
    np.testing.assert_array_equal(np.concatenate(parts), mask)
    assert not np.array_equal(validation_mask(rows, seed=4, fraction=0.1), mask)
    np.testing.assert_array_equal(validation_mask(rows, 3, 0.2) & mask, mask)  # nested slices


def test_training_summary_merges_to_the_whole_tables_summary() -> None:
    frame = tiny_frame(300, "multiclass")
    frame.loc[::9, "plan"] = None
    spec = tiny_spec(tiny_schema("multiclass"))
    whole = training_summary(frame, spec, "y", "multiclass")
    assert whole == TrainingSummary(
        300, {"plan": ("basic", "premium", "standard")}, ("a", "b", "c")
    )
    chunks = [frame.iloc[:5], frame.iloc[5:5], frame.iloc[5:200], frame.iloc[200:]]
    empty = TrainingSummary(0, {}, ())
    for order in (chunks, chunks[::-1]):
        merged = empty
        for chunk in order:
            merged = merge_training_summaries(
                merged, training_summary(chunk, spec, "y", "multiclass")
            )
        assert merged == whole


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_each_task_learns_and_the_file_is_byte_stable(task: str, tmp_path: Path) -> None:
    model = _fit(task)
    test = tiny_frame(400, task, seed=9)
    x = model_frame(test, tiny_spec(tiny_schema(task)))
    if task == "binary":
        assert model.classes_.tolist() == ["no", "yes"]
        assert roc_auc_score(test["y"] == "yes", model.predict_proba(x)[:, 1]) > 0.85
    elif task == "multiclass":
        proba = model.predict_proba(x)
        assert model.classes_.tolist() == ["a", "b", "c"] and proba.shape == (400, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert accuracy_score(test["y"], model.predict(x)) > 0.6
    else:
        assert r2_score(test["y"], model.predict(x)) > 0.6
    save_model(model, tmp_path / "model.skops")
    assert model_bytes(_fit(task)) == (tmp_path / "model.skops").read_bytes()
    with zipfile.ZipFile(tmp_path / "model.skops") as archive:
        booster = [n for n in archive.namelist() if n.endswith(".bin")]
        assert len(booster) == 1  # the booster, in XGBoost's UBJSON (a '{' object marker)
        assert archive.read(booster[0])[:1] == b"{"
    method = "predict" if task == "regression" else "predict_proba"
    loaded = load_model(tmp_path / "model.skops")
    np.testing.assert_array_equal(getattr(loaded, method)(x), getattr(model, method)(x))


def test_the_booster_does_not_depend_on_the_thread_count() -> None:
    frame = tiny_frame(2000, "binary")
    spec = tiny_spec(tiny_schema("binary"))
    pipeline = fit_model(frame, spec, "y", "binary", _config(subsample=0.8, colsample_bytree=0.8))
    x = pipeline.named_steps["features"].transform(model_frame(frame, spec))
    params = booster_params(_config(subsample=0.8, colsample_bytree=0.8), "binary", 2)
    boosters = []
    for threads in (1, 2, 4):
        step = XGBoostClassifierModel(
            params={**params, "nthread": threads}, n_estimators=60, seed=5
        )
        boosters.append(step.fit(x, frame["y"]).booster_)
    assert boosters[0] == boosters[1] == boosters[2]
    assert boosters[0] == pipeline.named_steps["model"].booster_  # the default thread count


def test_early_stopping_watches_hashed_training_rows_and_keeps_the_best_rounds() -> None:
    frame = tiny_frame(1500, "binary")
    spec = tiny_spec(tiny_schema("binary"))
    config = _config(n_estimators=400, learning_rate=0.3, early_stopping_rounds=5)
    model = fit_model(frame, spec, "y", "binary", config).named_steps["model"]
    assert 5 < model.rounds_ < 400  # stopped, and kept the rounds up to the best one
    # the same booster trained by hand on the rows validation_mask leaves, watching the rest
    import xgboost

    x = fit_model(frame, spec, "y", "binary", config).named_steps["features"]
    matrix = x.transform(model_frame(frame, spec))
    held = validation_mask(np.arange(len(frame)), 5, 0.1)
    labels = (frame["y"] == "yes").to_numpy(dtype=float)
    train = xgboost.QuantileDMatrix(matrix[~held], labels[~held], enable_categorical=True)
    valid = xgboost.QuantileDMatrix(matrix[held], labels[held], enable_categorical=True, ref=train)
    booster = xgboost.train(
        booster_params(config, "binary", 2),
        train,
        400,
        evals=[(valid, "v")],
        early_stopping_rounds=5,
        verbose_eval=False,
    )
    assert booster.best_iteration + 1 == model.rounds_


def test_unknown_categories_and_missing_values_take_the_missing_branch() -> None:
    model = _fit("binary")
    spec = tiny_spec(tiny_schema("binary"))
    rows = tiny_frame(3, "binary", seed=4)
    unseen, missing = rows.copy(), rows.copy()
    unseen["plan"] = ["gold", "platinum", "x"]
    missing["plan"] = None
    np.testing.assert_array_equal(
        model.predict_proba(model_frame(unseen, spec)),
        model.predict_proba(model_frame(missing, spec)),
    )


def test_early_stopping_without_validation_rows_is_refused() -> None:
    frame = tiny_frame(5, "binary")
    with pytest.raises(BoostingError) as error:
        fit_model(
            frame,
            tiny_spec(tiny_schema("binary")),
            "y",
            "binary",
            _config(early_stopping_rounds=3, validation_fraction=0.01),
        )
    assert str(error.value) == (
        "train.xgboost.validation_fraction 0.01 holds out 0 of 5 training rows for early "
        "stopping; both sides need rows. Change the fraction, or set "
        "train.xgboost.early_stopping_rounds: 0"
    )


def test_one_class_is_refused() -> None:
    frame = tiny_frame(50, "binary").assign(y="yes")
    with pytest.raises(BoostingError, match=r"the training rows hold 1 class\(es\) \['yes'\]"):
        fit_model(frame, tiny_spec(tiny_schema("binary")), "y", "binary", _config())


def test_training_that_cannot_fit_the_cluster_is_refused_with_the_estimate() -> None:
    spec = FeatureSpec(numeric=("a", "b"), categorical=("c",), boolean=())
    limits = {"tcp://w1": 2**30, "tcp://w2": 2**30}
    # per row: 8*2 + 2 + 9 = 27 B of partitions, 3 B of bins, 12 B of gradients, 4*3 + 8 = 20 B
    # of XGBoost's buffers; room: 2 x (0.8 GiB - 0.22 GiB held - 0.2 GiB to start) = 0.77 GiB
    assert sum(training_memory(1, spec, 1, 256).values()) == 62
    assert worker_room(limits, {}) == 2 * (int(0.8 * 2**30) - WORKER_READY - WORKER_TRAINING)
    check_fits_in_memory(10**9, spec, 1, 256, {"tcp://w1": 0})  # no limit: no check
    check_fits_in_memory(13_000_000, spec, 1, 256, limits)  # 0.75 GiB <= 0.77 GiB
    with pytest.raises(BoostingError) as error:
        check_fits_in_memory(13_000_000, spec, 1, 256, limits, {"tcp://w1": 400 * 2**20})
    assert str(error.value) == (
        "training on the Dask cluster needs about 0.75 GiB for its rows (13000000 rows x 3 "
        "features: partitions 0.33 GiB, quantile matrix 0.04 GiB, gradients 0.15 GiB, xgboost "
        "buffers 0.24 GiB), more than the 2 workers have room for: 0.60 GiB (80% of a worker's "
        "memory limit, 1.00 GiB, less what it holds, up to 0.39 GiB, and 0.20 GiB to start "
        "XGBoost). Add workers or memory (dask worker --memory-limit, or engine.dask.n_workers "
        "/ memory_limit for a LocalCluster), or train on fewer rows"
    )


def test_booster_frame_codes_categories_on_the_training_vocabulary() -> None:
    model = _fit("binary")
    features = model.named_steps["features"]
    spec = tiny_spec(tiny_schema("binary"))
    x = features.transform(
        model_frame(tiny_frame(4, "binary").assign(plan=["premium", None, "z", "basic"]), spec)
    )
    assert list(x.columns) == list(spec.columns)
    assert list(x["plan"].cat.categories) == ["basic", "premium", "standard"]
    assert x["plan"].cat.codes.tolist() == [1, -1, -1, 0]
    assert x["age"].dtype == np.float64 and x["tech"].dtype == np.float64
    assert isinstance(features.categories_["plan"], tuple)
    assert pd.api.types.is_object_dtype(x["plan"].cat.categories)
