"""The pipeline core with real git and dvc: caching, params, experiments, determinism."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from support.repo import CHEAP_IMPORTANCE, PROJECT, Repo, ran_stages

pytestmark = pytest.mark.slow


def _out_hashes(repo: Repo) -> dict[str, str]:
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    return {
        out["path"]: out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }


def test_cold_repro_runs_every_stage_and_lands_in_a_sane_band(reproduced: Repo) -> None:
    # Stages with DVC-cached outputs run (evaluate's per-row test predictions are one);
    # validate, audit and drift, whose small outputs are committed to git, are skipped because
    # the recomputed inputs hash exactly as in dvc.lock.
    assert ran_stages(reproduced.cold_output) == [
        "generate",
        "ingest",
        "split",
        "train",
        "evaluate",
    ]
    for rel in ("data/raw/churn.parquet", "data/processed/test.parquet", "data/model/model.skops"):
        assert (reproduced.path / rel).stat().st_size > 1000
    metrics = reproduced.read_json("data/results/metrics.json")
    assert 0.75 <= metrics["test"]["roc_auc"] <= 0.92
    assert 0.15 <= metrics["test"]["positive_rate"] <= 0.35
    assert metrics["test"]["rows"] == 4000 and metrics["train"]["rows"] == 16000
    # Train scores above test: the over-fitting check has both sides.
    assert metrics["train"]["roc_auc"] > metrics["test"]["roc_auc"]
    validation = reproduced.read_json("data/results/validation.json")
    assert validation["ok"] and validation["rows"] == 20000
    assert validation["checks_passed"] == validation["checks_run"] > 50


def test_committed_lock_is_what_a_fresh_clone_produces(reproduced: Repo) -> None:
    """Determinism: the project's committed dvc.lock matches a cold repro, output by output."""
    committed = yaml.safe_load((PROJECT / "dvc.lock").read_text())
    expected = {
        out["path"]: out["md5"]
        for stage in committed["stages"].values()
        for out in stage.get("outs", [])
    }
    assert _out_hashes(reproduced) == expected
    status = reproduced.dvc("status").stdout
    assert "up to date" in status


def test_second_repro_runs_nothing(work_repo: Repo) -> None:
    result = work_repo.dvc("repro")
    assert ran_stages(result.stdout) == []
    assert "didn't change, skipping" in result.stdout


def test_train_param_reruns_exactly_train_and_evaluate(work_repo: Repo) -> None:
    before = work_repo.read_json("data/results/metrics.json")["test"]
    work_repo.set_params(**{"train.hist_gradient_boosting.max_iter": 20, **CHEAP_IMPORTANCE})
    result = work_repo.dvc("repro")
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    after = work_repo.read_json("data/results/metrics.json")["test"]
    assert after["roc_auc"] != before["roc_auc"]
    assert after["log_loss"] != before["log_loss"]


def test_split_param_reruns_split_train_evaluate_and_drift(work_repo: Repo) -> None:
    work_repo.set_params(**{"split.test_size": 0.25, **CHEAP_IMPORTANCE})
    result = work_repo.dvc("repro")
    assert ran_stages(result.stdout) == ["split", "train", "evaluate", "drift"]
    assert work_repo.read_json("data/results/metrics.json")["test"]["rows"] == 5000


def test_a_parsing_option_reruns_ingest_and_nothing_after_an_identical_table(
    work_repo: Repo,
) -> None:
    """The review's case: a new NA marker the data does not contain retrained the model,
    because every stage depended on the whole `data` section."""
    before = _out_hashes(work_repo)
    work_repo.set_params(**{"data.csv.na_values": ["", "NA", "N/A", "NaN", "null", "?", "n.a."]})
    result = work_repo.dvc("repro")
    assert ran_stages(result.stdout) == ["ingest"]  # same table: validate, split... skipped
    assert _out_hashes(work_repo) == before
    work_repo.set_params(**{"data.date_column": None})  # a key split and drift read
    changed = json.loads(work_repo.dvc("status", "--json").stdout)
    assert sorted(changed) == ["drift", "ingest", "split"]  # ingest reads all of data
    assert "data.date_column" in json.dumps(changed["split"])


def test_an_audit_setting_reruns_the_audit_and_an_excluded_column_the_feature_stages(
    work_repo: Repo,
) -> None:
    """The audit reads the validated table, not the training split: a train or split param
    does not rerun it (the tests above), an audit param reruns nothing else."""
    work_repo.set_params(**{"audit.bins": 16})
    assert sorted(json.loads(work_repo.dvc("status", "--json").stdout)) == ["audit"]
    work_repo.set_params(**{"audit.bins": 32, "data.exclude_columns": ["age"]})
    changed = json.loads(work_repo.dvc("status", "--json").stdout)
    # ingest reads all of data (and checks the name on the file's header)
    assert sorted(changed) == ["audit", "drift", "evaluate", "ingest", "train"]
    assert "data.exclude_columns" in json.dumps(changed["train"])


def test_chunk_rows_reruns_nothing_and_any_value_gives_the_same_files(work_repo: Repo) -> None:
    before = _out_hashes(work_repo)
    # 20 000 rows in chunks of 1 500: ingest reads 14 chunks, split writes 14 batches per half.
    work_repo.set_params(**{"memory.chunk_rows": 1500})
    assert ran_stages(work_repo.dvc("repro").stdout) == []  # a memory setting, in no stage
    result = work_repo.dvc("repro", "-f", "-s", "ingest", "split")
    assert ran_stages(result.stdout) == ["ingest", "split"]
    assert _out_hashes(work_repo) == before  # byte-identical Parquet files
    assert ran_stages(work_repo.dvc("repro").stdout) == []  # so nothing downstream reruns


def test_time_split_puts_the_latest_signups_in_test(work_repo: Repo) -> None:
    import pandas as pd

    work_repo.set_params(**{"split.method": "time", **CHEAP_IMPORTANCE})
    work_repo.dvc("repro")
    train = pd.read_parquet(work_repo.path / "data/processed/train.parquet")
    test = pd.read_parquet(work_repo.path / "data/processed/test.parquet")
    assert train["signup_date"].max() < test["signup_date"].min()
    assert 0.15 < len(test) / (len(train) + len(test)) < 0.3


def test_experiment_run_and_show(work_repo: Repo) -> None:
    work_repo.commit("reproduced")
    result = work_repo.dvc("exp", "run", "-S", "train.estimator=logistic_regression", "-n", "lr")
    assert ran_stages(result.stdout) == ["train", "evaluate"]
    # -S rewrote params.yaml in the workspace: only the line it set changed (comments kept)
    diff = work_repo.git("diff", "-U0", "--", "params.yaml").stdout.splitlines()
    edits = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(edits) == 2, diff
    assert edits[0].startswith("-  estimator: hist_gradient_boosting  ")
    assert edits[1].startswith("+  estimator: logistic_regression  ")
    assert edits[1].endswith("# logistic_regression | random_forest |")  # the comment kept
    shown = work_repo.dvc("exp", "show", "--csv", "--no-pager").stdout
    header, *rows = list(csv.reader(io.StringIO(shown)))
    lr = next(row for row in rows if "lr" in row)
    record = dict(zip(header, lr, strict=False))
    assert record["train.estimator"] == "logistic_regression"
    records = [dict(zip(header, row, strict=False)) for row in rows]
    base = next(r for r in records if r["rev"] == "main")
    assert base["train.estimator"] == "hist_gradient_boosting"
    assert float(record["test.roc_auc"]) != float(base["test.roc_auc"])
    assert 0.7 < float(record["test.roc_auc"]) < 0.9


@pytest.mark.long(22)
def test_a_forced_repro_in_another_directory_gives_identical_hashes(
    reproduced: Repo, tmp_path: Path
) -> None:
    """Two independent runs of every stage, in two directories: the session's cold repro
    (the ``reproduced`` template) and a forced repro of a copy elsewhere."""
    other = reproduced.copy(tmp_path / "other")
    # The forced repro runs every stage, in order (this is the suite's one forced repro of the
    # default pipeline: it used to have a test of its own on another copy).
    result = other.dvc("repro", "-f")
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
    assert "finished in" in result.stderr + result.stdout  # every stage logs its time
    assert _out_hashes(other) == _out_hashes(reproduced)
    assert other.dvc("status").stdout.strip() == "Data and pipelines are up to date."


def test_params_typo_fails_the_stage_naming_the_key(work_repo: Repo) -> None:
    params = work_repo.params()
    params["train"]["hist_gradient_boosting"]["learnin_rate"] = 0.1
    (work_repo.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = work_repo.dvc("repro", check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "unknown key 'train.hist_gradient_boosting.learnin_rate'" in message
    assert "learning_rate" in message  # the allowed keys are listed
