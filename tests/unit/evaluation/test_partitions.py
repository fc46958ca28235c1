"""Evaluate's chunk-wise scoring (mlpipe.evaluation.partitions): the samples are decided per row
(exactly the configured count, the same rows however the file is cut), and the scored chunks
joined in order are the whole test set scored at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import TrainConfig
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import load_schema
from mlpipe.engine import LocalExecutor
from mlpipe.evaluation import partitions
from mlpipe.evaluation.partitions import (
    ModelFile,
    ScoringPlan,
    in_sample,
    merge_scored,
    model_of,
    remember_model,
    sample_cut,
    sample_positions,
    score_test_chunk,
)
from mlpipe.io import read_parquet, write_parquet
from mlpipe.model.features import feature_spec
from mlpipe.model.persist import save_model
from mlpipe.model.train import fit_model
from mlpipe.rowhash import row_hash
from support.repo import PROJECT


def test_the_sample_is_exactly_its_size_and_decided_per_row(monkeypatch) -> None:
    cut = sample_cut(1000, 100, seed=3)
    assert cut is not None
    taken = np.flatnonzero(in_sample(np.arange(1000), 3, cut))
    assert len(taken) == 100
    # the 100 lowest hashes of the row numbers, whatever block the hashes were taken in
    assert taken.tolist() == sorted(np.argsort(row_hash(np.arange(1000), 3))[:100].tolist())
    monkeypatch.setattr(partitions, "_HASH_BLOCK", 7)
    assert sample_cut(1000, 100, seed=3) == cut
    pieces = [in_sample(np.arange(s, min(1000, s + 130)), 3, cut) for s in range(0, 1000, 130)]
    assert np.flatnonzero(np.concatenate(pieces)).tolist() == taken.tolist()
    assert sample_positions(1000, 100, 3).tolist() == taken.tolist()
    assert sample_positions(1000, 100, 4).tolist() != taken.tolist()  # seeded
    assert sample_cut(100, 100, 3) is None and sample_positions(50, 100, 3) is None
    assert in_sample(np.arange(5), 3, None).all()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):
    schema = load_schema(PROJECT / "data" / "schema.yaml")
    data = generate_churn(500, 3)
    # Gradient boosting: each row's probability is its own trees' sum, so any cut gives the
    # same bits (a linear model's BLAS product can differ in the last bit by batch size).
    config = TrainConfig()
    config = dataclasses.replace(
        config,
        hist_gradient_boosting=dataclasses.replace(config.hist_gradient_boosting, max_iter=15),
    )
    spec = feature_spec(schema)
    model = fit_model(data.iloc[:300], spec, "churned", "binary", config)
    path = tmp_path_factory.mktemp("model") / "m.skops"
    save_model(model, path)
    return model, path, spec, data.iloc[300:].reset_index(drop=True)


def test_chunks_scored_and_joined_in_order_are_the_whole_test_set(fitted, tmp_path: Path) -> None:
    model, _, spec, frame = fitted
    write_parquet(tmp_path / "test.parquet", frame)
    test = read_parquet(tmp_path / "test.parquet")  # the dtypes the file reads as
    plan = ScoringPlan(
        model,
        spec,
        "churned",
        "binary",
        threshold=0.4,
        slices=("contract",),
        ids=("customer_id",),
        seed=9,
        cut=sample_cut(len(test), 50, 9),
    )
    whole = score_test_chunk(test, plan)
    for rows in (1000, 33):
        joined = LocalExecutor(rows).map_merge(
            tmp_path / "test.parquet",
            list(test.columns),
            lambda chunk: score_test_chunk(chunk, plan),
            merge_scored,
            None,
        )
        for field in ("y_true", "y_pred", "proba"):
            a, b = getattr(joined.predictions, field), getattr(whole.predictions, field)
            assert np.array_equal(a, b), field  # bit for bit
        pd.testing.assert_frame_equal(joined.slices, test[["contract"]])
        assert joined.ids["customer_id"].tolist() == test["customer_id"].tolist()
        assert np.array_equal(joined.hashes, whole.hashes)
        pd.testing.assert_frame_equal(joined.sample, whole.sample)
    columns = [*spec.columns, "churned"]
    expected = test.iloc[sample_positions(len(test), 50, 9)][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(whole.sample, expected)  # 50 rows, chosen per row
    positive = whole.predictions.proba[:, 1] >= 0.4
    assert (whole.predictions.y_pred == "True").tolist() == positive.tolist()


def test_a_model_file_is_loaded_once_per_process(fitted, monkeypatch) -> None:
    model, path, _, _ = fitted
    ref = ModelFile(str(path), "md5-a")
    remember_model(ref, model)
    assert model_of(ref) is model  # registered: not loaded again
    assert model_of(model) is model  # a fitted model is itself
    loaded = model_of(ModelFile(str(path), "md5-b"))  # another version: loaded from the file
    assert loaded is not model and model_of(ModelFile(str(path), "md5-b")) is loaded
    assert type(loaded.steps[-1][1]) is type(model.steps[-1][1])
