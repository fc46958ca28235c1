"""Bring your own data, end to end: tables put into a fresh repository the way the README says
(file under data/raw, `dvc add`, params.yaml only, `mlpipe schema infer`, `dvc repro`).

One full pipeline per dataset in the suite: breast cancer and the wide and long tables take
this route here; wine (multiclass), diabetes (regression) and the penguins (mixed types,
missing values) go from `mlpipe init` to the same outputs in test_init.py, checked the same way
(``support.byod.pipeline_checks`` and each task's plots, slices and drift)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn import datasets

from support.byod import FAST, output_paths, pipeline_checks, use_own_data, wide_table
from support.repo import Repo, make_repo, ran_stages

pytestmark = pytest.mark.slow

ALL_STAGES = ["generate", "ingest", "validate", "audit", "split", "train", "evaluate", "drift"]


def _run(
    tmp_path: Path, name: str, frame: pd.DataFrame, target: str, **params
) -> tuple[Repo, str]:
    repo = make_repo(tmp_path / "repo")
    csv = params.pop("csv", None)
    log = use_own_data(repo, name, frame, target, csv=csv, **params)
    result = repo.dvc("repro")
    assert ran_stages(result.stdout) == ALL_STAGES
    return repo, log


def test_breast_cancer_csv_is_binary(tmp_path: Path) -> None:
    data = datasets.load_breast_cancer(as_frame=True).frame
    repo, log = _run(tmp_path, "breast_cancer.csv", data, "target")
    assert "data.task is auto: decided 'binary' from target 'target' (2 distinct values" in log
    metrics = pipeline_checks(repo, 569)["test"]
    assert metrics["roc_auc"] > 0.95 and metrics["accuracy"] > 0.9
    assert 0.55 < metrics["positive_rate"] < 0.7  # class 1 (benign) is the positive class
    plots = output_paths(repo.path / "data/results/plots")
    assert plots == [
        "calibration.json",
        "confusion.json",
        "importance.json",
        "precision_recall.json",
        "roc.json",
    ]
    drift = repo.read_json("data/results/drift.json")
    assert len(drift["features"]) == 31  # 30 features + the target
    # Nothing changed: a second repro runs nothing.
    repo.commit("own data")
    assert ran_stages(repo.dvc("repro").stdout) == []


@pytest.mark.long(120)
def test_a_thousand_columns_end_to_end(tmp_path: Path) -> None:
    rows = 300
    frame = wide_table(rows)
    assert frame.shape == (rows, 1000)
    # The checks are about width: fewer boosting rounds and importance repeats (support.byod
    # FAST) train and rank the same 1 000 columns in a fraction of the time.
    quick = {k: v for k, v in FAST.items() if k.startswith(("train.", "evaluate.importance"))}
    repo, log = _run(
        tmp_path, "wide.csv", frame, "label", **quick, **{"evaluate.importance_max_features": 10}
    )
    assert "column kinds: boolean 99, categorical 200, numeric 700" in log
    metrics = pipeline_checks(repo, rows)["test"]
    assert metrics["roc_auc"] > 0.75
    validation = repo.read_json("data/results/validation.json")
    assert validation["columns"] == 1000 and validation["checks_run"] > 2000
    importance = repo.read_json("data/results/plots/importance.json")
    assert len(importance) == 10  # the 10 columns most informative about the target
    assert importance[0]["feature"] in {"num_000", "cat_000"}
    assert len(repo.read_json("data/results/drift.json")["features"]) == 1000


def test_a_long_table_through_ingest_and_validate(tmp_path: Path) -> None:
    """200,000 rows of the churn data as a CSV export: read, normalised and validated against
    the committed contract (speed is measured in benchmarks/, not here)."""
    from mlpipe.data.generate import generate_churn

    repo = make_repo(tmp_path / "repo")
    rows = 200_000
    path = repo.path / "data/raw/long.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    generate_churn(rows, seed=5).to_csv(path, index=False)
    repo.set_params(**{"data.source": "data/raw/long.csv"})
    ingested, report = "data/interim/long.parquet", "data/results/long-ingest.json"
    repo.mlpipe(
        "ingest", "--source", "data/raw/long.csv", "--output", ingested, "--report", report
    )
    normalized = repo.read_json(report)
    assert normalized["rows"] == rows and normalized["columns"] == 19
    assert normalized["normalized"]["text_to_boolean"]["churned"] == rows
    # Empty cells of the export are counted, not silently dropped.
    assert 0.02 * rows < normalized["normalized"]["became_missing"]["age"] < 0.04 * rows
    out = repo.mlpipe(
        "validate", "--input", ingested, "--schema", "data/schema.yaml", "--report", "v.json"
    )
    validation = repo.read_json("v.json")
    assert validation["ok"] and validation["rows"] == rows, out.stderr
    assert sum(validation["target_counts"].values()) == rows
