"""The whole pipeline with `dvc repro` on the Dask engine: a scheduler and workers on loopback
(the session's cluster, reached through DASK_SCHEDULER_ADDRESS), train.estimator xgboost.
Every data stage's output is byte for byte what the local engine writes for the same rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from support.dask_cluster import LoopbackCluster
from support.repo import CHEAP_IMPORTANCE, make_repo, ran_stages

pytestmark = pytest.mark.slow

# The data stages' outputs: what must not depend on the engine or the cluster.
DATA_OUTPUTS = (
    "data/interim/ingested.parquet",
    "data/interim/unlabelled.parquet",
    "data/results/ingest.json",
    "data/results/validation.json",
    "data/processed/train.parquet",
    "data/processed/test.parquet",
    "data/results/drift.json",
    "data/results/drift.md",
)


def _digest(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_dvc_repro_on_a_loopback_cluster_writes_the_local_engines_data_files(
    dask_cluster: LoopbackCluster, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", rows=3000)
    repo.set_params(
        **{
            "engine.kind": "dask",
            "train.estimator": "xgboost",
            "train.xgboost.n_estimators": 40,
            "memory.chunk_rows": 1000,  # three chunks of the source: three ingest tasks
            **CHEAP_IMPORTANCE,
        }
    )
    repo.commit("the dask engine")
    cluster = {"DASK_SCHEDULER_ADDRESS": dask_cluster.address}
    result = repo.dvc("repro", env=cluster)
    assert ran_stages(result.stdout) == [
        "generate",
        "ingest",
        "validate",
        "audit",
        "split",
        "train",
        "evaluate",
        "drift",
    ]
    metrics = repo.read_json("data/results/metrics.json")
    assert metrics["test"]["rows"] == 600 and metrics["train"]["rows"] == 2400  # exact 20 %
    assert 0.7 < metrics["test"]["roc_auc"] < 0.95
    on_dask = {rel: _digest(repo.path / rel) for rel in DATA_OUTPUTS}
    # nothing left to do: the engine is not a stage param
    assert ran_stages(repo.dvc("repro", env=cluster).stdout) == []

    # The same stages on the local engine (forced: the engine is not a param): the same bytes.
    repo.set_params(**{"engine.kind": "local"})
    repo.dvc("repro", "--force", "--single-item", "ingest", "validate", "split", "drift")
    assert {rel: _digest(repo.path / rel) for rel in DATA_OUTPUTS} == on_dask
    assert "up to date" in repo.dvc("status").stdout  # what dvc.lock recorded from the cluster
