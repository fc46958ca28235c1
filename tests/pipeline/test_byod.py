"""Bring your own data, end to end: datasets that packages ship offline, each put into a fresh
repository the way the README says (file under data/raw, `dvc add`, params.yaml only,
`mlpipe schema infer`, `dvc repro`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn import datasets

from mlpipe.evaluation.metrics import DIRECTIONS
from support.byod import FAST, output_paths, use_own_data, wide_table
from support.repo import Repo, make_repo, ran_stages

pytestmark = pytest.mark.slow

ALL_STAGES = ["generate", "ingest", "validate", "audit", "split", "train", "evaluate", "drift"]
# The default gate and monitor metrics are a binary model's (roc_auc, ...): validate refuses
# them for another task, so a multiclass or regression dataset names its own.
MULTICLASS = {"gate.rules": [{"metric": "f1_macro", "min": 0.5}], "monitor.metrics": ["accuracy"]}
REGRESSION = {
    "gate.rules": [{"metric": "rmse", "max_drop_relative": 0.05}],
    "monitor.metrics": ["mae"],
}


def _run(
    tmp_path: Path, name: str, frame: pd.DataFrame, target: str, **params
) -> tuple[Repo, str]:
    repo = make_repo(tmp_path / "repo")
    csv = params.pop("csv", None)
    log = use_own_data(repo, name, frame, target, csv=csv, **params)
    result = repo.dvc("repro")
    assert ran_stages(result.stdout) == ALL_STAGES
    return repo, log


def _common_checks(repo: Repo, rows: int, test_size: float = 0.2) -> dict:
    metrics = repo.read_json("data/results/metrics.json")
    assert set(metrics["test"]) <= set(DIRECTIONS)  # the report and gate know every metric
    validation = repo.read_json("data/results/validation.json")
    assert validation["ok"] and validation["rows"] == rows and validation["errors"] == []
    assert metrics["test"]["rows"] + metrics["train"]["rows"] == rows
    assert abs(metrics["test"]["rows"] - rows * test_size) <= 3
    drift = repo.read_json("data/results/drift.json")
    assert drift["reference_rows"] == metrics["train"]["rows"]
    assert drift["current_rows"] == metrics["test"]["rows"]
    md = (repo.path / "data/results/drift.md").read_text()
    assert md.startswith(f"**Data drift**: {len(drift['drifted'])} of {len(drift['features'])}")
    return metrics


def test_breast_cancer_csv_is_binary(tmp_path: Path) -> None:
    data = datasets.load_breast_cancer(as_frame=True).frame
    repo, log = _run(tmp_path, "breast_cancer.csv", data, "target")
    assert "data.task is auto: decided 'binary' from target 'target' (2 distinct values" in log
    metrics = _common_checks(repo, 569)["test"]
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


def test_wine_csv_is_multiclass(tmp_path: Path) -> None:
    data = datasets.load_wine(as_frame=True).frame
    repo, log = _run(tmp_path, "wine.csv", data, "target", **MULTICLASS)
    assert "decided 'multiclass' from target 'target' (3 distinct values: [0, 1, 2])" in log
    metrics = _common_checks(repo, 178)["test"]
    assert metrics["accuracy"] > 0.85 and metrics["f1_macro"] > 0.85
    assert metrics["f1_weighted"] > 0.85 and 0.85 < metrics["recall_macro"] <= 1.0
    assert {"roc_auc", "positive_rate", "brier", "roc_auc_ovr"}.isdisjoint(metrics)
    assert 0.85 < metrics["roc_auc_ovr_macro"] <= 1.0
    assert 0.85 < metrics["roc_auc_ovr_weighted"] <= 1.0
    confusion = repo.read_json("data/results/plots/confusion.json")
    assert len(confusion) == 9 and sum(c["count"] for c in confusion) == metrics["rows"]
    per_class = repo.read_json("data/results/slices.json")["per_class"]
    assert sorted(per_class) == ["0", "1", "2"]
    assert sum(c["support"] for c in per_class.values()) == metrics["rows"]
    assert output_paths(repo.path / "data/results/plots") == ["confusion.json", "importance.json"]
    assert output_paths(repo.path / "data/results/figures") == ["confusion.png", "importance.png"]
    # The plots dvc.yaml declares for binary tasks are skipped, not an error.
    shown = repo.dvc("plots", "show", "-o", str(tmp_path / "plots"))
    assert (tmp_path / "plots" / "index.html").is_file(), shown.stdout


def test_diabetes_csv_is_regression(tmp_path: Path) -> None:
    data = datasets.load_diabetes(as_frame=True, scaled=False).frame
    repo, log = _run(
        tmp_path, "diabetes.csv", data, "target", **{"split.method": "random"}, **REGRESSION
    )
    assert "data.task is auto: decided 'regression' from target 'target'" in log
    schema = (repo.path / "data/schema.yaml").read_text()
    assert "task: regression" in schema and "classes:" not in schema
    metrics = _common_checks(repo, 442)["test"]
    assert 0.2 < metrics["r2"] < 0.7
    assert 40 < metrics["rmse"] < 75 and 30 < metrics["mae"] < metrics["rmse"]
    assert 0.2 < metrics["mape"] < 0.6
    points = repo.read_json("data/results/plots/predictions.json")
    assert len(points) == metrics["rows"]  # fewer than evaluate.plot_points
    first = points[0]
    assert first["residual"] == pytest.approx(first["actual"] - first["predicted"], abs=1e-5)
    assert output_paths(repo.path / "data/results/plots") == [
        "importance.json",
        "predictions.json",
    ]
    assert "predictions.png" in output_paths(repo.path / "data/results/figures")
    importance = repo.read_json("data/results/plots/importance.json")
    assert {r["feature"] for r in importance} == set(data.columns) - {"target"}


def test_palmer_penguins_mixed_types_and_missing_values(tmp_path: Path) -> None:
    from palmerpenguins import load_penguins

    data = load_penguins()
    # Exported the way spreadsheets do: semicolons and "NA" for missing values.
    repo, log = _run(
        tmp_path,
        "penguins.csv",
        data,
        "species",
        csv={"sep": ";", "na_rep": "NA"},
        **{"evaluate.slices": ["island"]},
        **MULTICLASS,
    )
    assert "decided 'multiclass' from target 'species' (3 distinct values: " in log
    assert "['Adelie', 'Chinstrap', 'Gentoo']" in log
    ingest = repo.read_json("data/results/ingest.json")
    expected_missing = {c: int(n) for c, n in data.isna().sum().items() if n}
    assert ingest["normalized"]["became_missing"] == expected_missing
    schema = (repo.path / "data/schema.yaml").read_text()
    assert "island:\n    kind: categorical" in schema and "sex:\n    kind: categorical" in schema
    metrics = _common_checks(repo, 344)["test"]
    assert metrics["accuracy"] > 0.9 and metrics["f1_macro"] > 0.9
    islands = repo.read_json("data/results/slices.json")["test"]["island"]
    assert set(islands) == {"Biscoe", "Dream", "Torgersen"}
    assert sum(s["rows"] for s in islands.values()) == metrics["rows"]
    assert all(0.0 <= s["accuracy"] <= 1.0 for s in islands.values())
    drift = json.loads((repo.path / "data/results/drift.json").read_text())
    assert drift["features"]["sex"]["test"] == "chi2"
    assert drift["features"]["body_mass_g"]["test"] == "ks"


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
    metrics = _common_checks(repo, rows)["test"]
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
