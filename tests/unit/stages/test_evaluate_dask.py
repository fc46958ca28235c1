"""`mlpipe evaluate` on the Dask engine (the session's loopback cluster): the test file's row
groups are scored on the workers, which load the model themselves, and every output (metrics,
slices, plots, figures, card, per-row predictions, intervals) is byte for byte the local
engine's, on one worker and on three; the train metrics and the importance use samples of
exactly the configured size."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from distributed import Client

from mlpipe.config import TrainConfig
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import load_schema
from mlpipe.data.split import split_table
from mlpipe.engine.cluster import DaskExecutor
from mlpipe.model.features import feature_spec
from mlpipe.model.persist import save_model
from mlpipe.model.train import fit_model
from mlpipe.stages import evaluate as evaluate_stage
from support.dask_cluster import LoopbackCluster
from support.repo import PROJECT

pytestmark = pytest.mark.slow

SCHEMA = PROJECT / "data" / "schema.yaml"


def _inputs(tmp_path: Path) -> Path:
    """Train and test files of several row groups (150 rows), a fitted model, params."""
    train, test = split_table(generate_churn(2000, seed=8), "churned", "stratified", 0.3, seed=1)
    for name, frame in (("train", train), ("test", test)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, tmp_path / f"{name}.parquet", row_group_size=150)
    config = TrainConfig()
    config = dataclasses.replace(
        config,
        hist_gradient_boosting=dataclasses.replace(config.hist_gradient_boosting, max_iter=20),
    )
    spec = feature_spec(load_schema(SCHEMA))
    save_model(fit_model(train, spec, "churned", "binary", config), tmp_path / "model.skops")
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["evaluate"].update(importance_rows=120, importance_repeats=1, train_rows=500)
    params["evaluate"]["bootstrap"]["resamples"] = 200
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _evaluate(inputs: Path, name: str) -> dict[str, bytes]:
    out = inputs / name
    args = argparse.Namespace(
        params=str(inputs / "params.yaml"),
        schema=str(SCHEMA),
        model=str(inputs / "model.skops"),
        train=str(inputs / "train.parquet"),
        test=str(inputs / "test.parquet"),
        metrics=str(out / "metrics.json"),
        slices=str(out / "slices.json"),
        plots=str(out / "plots"),
        figures=str(out / "figures"),
        card=str(out / "card.md"),
        ingest_report=None,
        predictions=str(out / "predictions.parquet"),
        intervals=str(out / "intervals.json"),
        audit=None,  # paths.audit: absent here, so the card has no audit section
    )
    assert evaluate_stage.run(args) == 0
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "card.md"
    } | {"card.md": (out / "card.md").read_text().replace(str(inputs), "").encode()}


def test_evaluate_on_the_workers_writes_the_local_engines_bytes(
    dask_cluster: LoopbackCluster,
    dask_client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = _inputs(tmp_path)
    local = _evaluate(inputs, "local")
    metrics = json.loads(local["metrics.json"])
    assert metrics["test"]["rows"] == 600  # every test row, in 4 row groups
    assert metrics["train"]["rows"] == 500  # evaluate.train_rows of 1400, chosen per row
    assert 0.6 < metrics["test"]["roc_auc"] < 0.95
    importance = json.loads(local["plots/importance.json"])
    assert len(importance) == 16 and importance[0]["importance"] > 0
    assert sorted(local) == [
        "card.md",
        "figures/calibration.png",
        "figures/confusion.png",
        "figures/importance.png",
        "figures/precision_recall.png",
        "figures/roc.png",
        "intervals.json",
        "metrics.json",
        "plots/calibration.json",
        "plots/confusion.json",
        "plots/importance.json",
        "plots/precision_recall.json",
        "plots/roc.json",
        "predictions.parquet",
        "slices.json",
    ]
    for n in (1, 3):
        workers = dask_cluster.workers[:n]

        @contextmanager
        def on_workers(
            engine: object, chunk_rows: int, workers: tuple[str, ...] = workers
        ) -> Iterator[DaskExecutor]:
            yield DaskExecutor(dask_client, chunk_rows, workers=workers)

        with monkeypatch.context() as patch:
            patch.setattr(evaluate_stage, "executor", on_workers)
            on_dask = _evaluate(inputs, f"dask-{n}")
        for key, expected in local.items():
            assert on_dask[key] == expected, f"{key} on {n} workers"
