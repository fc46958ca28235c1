"""`mlpipe tune` on a small project: the result JSON is byte-identical for the same inputs (the
test split deleted or not, the study run at once or resumed, killed or not), --apply writes the
winning keys only, and bad settings stop it with the reason."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from mlpipe.cli import main
from mlpipe.config import load_params
from mlpipe.data.schema import dump_schema
from mlpipe.model.space import train_values
from mlpipe.params_edit import set_keys
from support.repo import BIN, PROJECT, base_env
from support.tiny import tiny_frame, tiny_schema

# A small, quick study: 3 folds, a linear model or a booster of at most 20 trees.
SETTINGS = {
    "data.target": "y",
    "data.id_columns": ["cid"],
    "data.date_column": None,
    "train.hist_gradient_boosting.max_iter": 10,
    "tune.folds": 3,
    "tune.trials": 3,
    "tune.estimators": ["logistic_regression", "hist_gradient_boosting"],
    "tune.space.hist_gradient_boosting.max_iter": {"low": 5, "high": 20, "log": True},
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """params.yaml (the project's, with SETTINGS), a schema, 240 training and 60 test rows."""
    text = (PROJECT / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(set_keys(text, SETTINGS))
    paths = load_params(tmp_path / "params.yaml").paths
    for rel in (paths.schema, paths.train):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / paths.schema).write_text(dump_schema(tiny_schema()))
    tiny_frame(240, seed=4).to_parquet(tmp_path / paths.train, index=False)
    tiny_frame(60, seed=5).to_parquet(tmp_path / paths.test, index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tune(*args: str) -> bytes:
    assert main(["tune", *args]) == 0
    return Path("data/results/tune.json").read_bytes()


def test_same_inputs_same_bytes_without_the_test_split_and_after_a_resume(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    at_once = _tune("--journal", "a.journal")
    result = json.loads(at_once)
    baseline = train_values(load_params("params.yaml").train)
    assert result["trials"][0]["trial"] == 0
    assert result["trials"][0]["params"] == {
        key: baseline[key] for key in result["trials"][0]["params"]
    }
    assert result["trials"][0]["params"]["train.estimator"] == "hist_gradient_boosting"
    assert result["baseline"]["params"] == baseline
    assert result["train_data"]["rows"] == 240 and result["folds"]["validation_rows"] == [80] * 3
    assert result["reproducible"] is True and len(result["trials"]) == 3
    best = result["best"]
    assert (
        best["value"] == max(t["value"] for t in result["trials"]) >= result["baseline"]["value"]
    )
    # the test split is never opened: without it, the same bytes
    os.remove(load_params("params.yaml").paths.test)
    assert _tune("--journal", "b.journal") == at_once
    # a study stopped after 2 trials resumes: trials 1 and 2 are not rerun. The log counts
    # the trials asked for: 1/2 (the baseline), 2/2, then 3/3 on resuming with 3.
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _tune("--journal", "c.journal", "--trials", "2")
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages if m.startswith("trial ")] == [
        "trial 1/2 (baseline)",
        "trial 2/2",
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _tune("--journal", "c.journal") == at_once
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.endswith("2 finished trial(s) reused") for m in messages), messages
    assert [m.split(":")[0] for m in messages if m.startswith("trial ")] == ["trial 3/3"]


def test_apply_writes_the_winning_keys_and_keeps_the_rest(
    project: Path, capsys: pytest.CaptureFixture
) -> None:
    before = Path("params.yaml").read_text()
    result = json.loads(_tune("--apply"))
    after = Path("params.yaml").read_text()
    changed = {c["key"]: c["to"] for c in result["changes"]}
    assert changed, "the tiny study should find something better than 10 trees"
    assert train_values(load_params("params.yaml").train) == result["tuned_params"]
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    differ = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(differ) == len(changed)  # one line per key, comments and layout kept
    for a, b in differ:
        assert a.split(":")[0] == b.split(":")[0]
        if "#" in a:
            assert a.split("#", 1)[1] == b.split("#", 1)[1]
    out = capsys.readouterr().out
    assert f"applied {len(changed)} key(s) to params.yaml; next: dvc repro" in out
    # tuning again from the applied params: the study starts from them, nothing to apply
    assert main(["tune", "--trials", "1", "--apply"]) == 0
    assert "nothing to apply: params.yaml holds the best values found" in capsys.readouterr().out
    assert Path("params.yaml").read_text() == after


@pytest.mark.parametrize(
    ("settings", "args", "message"),
    [
        (
            {"tune.metric": "rmse"},
            [],
            "tune failed: params.yaml: tune.metric is 'rmse', which is not a metric of a binary "
            "model (the task is from the schema). Use one of: accuracy, precision, recall, f1, "
            "roc_auc, average_precision, log_loss, brier",
        ),
        (
            {},
            ["--trials", "0"],
            "tune failed: --trials must be at least 1 and --timeout above 0 seconds",
        ),
        (
            {},
            ["--output", "params.yaml"],
            "tune failed: --output params.yaml is the same file as --params: writing it would "
            "replace that file. Choose another --output. Nothing was written",
        ),
    ],
)
def test_bad_settings_stop_before_any_trial(
    project: Path, caplog: pytest.LogCaptureFixture, settings: dict, args: list, message: str
) -> None:
    if settings:
        Path("params.yaml").write_text(set_keys(Path("params.yaml").read_text(), settings))
    with caplog.at_level(logging.ERROR):
        assert main(["tune", *args]) == 2
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [message]
    assert not Path("data/results/tune.json").exists()
    assert not Path(load_params("params.yaml").paths.tune_journal).exists()


def _finished(journal: Path) -> int:
    if not journal.exists():
        return 0
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    names = optuna.get_all_study_names(storage)
    if not names:
        return 0
    study = optuna.load_study(study_name=names[0], storage=storage)
    return len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))


@pytest.mark.slow
def test_a_killed_tune_process_resumes_where_it_stopped(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The installed command, killed (SIGKILL) once its journal holds 2 finished trials, then
    resumed: the result is the bytes of a study that ran without interruption."""
    journal = project / "killed.journal"
    env = base_env(PROJECT / "src") | {"PYTHONPATH": str(PROJECT / "src")}
    process = subprocess.Popen(
        [str(BIN / "mlpipe"), "tune", "--trials", "50", "--journal", str(journal)],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _finished(journal) < 2:
            assert process.poll() is None, "mlpipe tune ended before it was killed"
            assert time.monotonic() < deadline, "no 2 finished trials within 120 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    killed_at = _finished(journal)
    assert killed_at >= 2
    trials = str(killed_at + 2)  # two trials after the resume
    with caplog.at_level(logging.INFO):
        resumed = _tune("--trials", trials, "--journal", str(journal))
    assert any(
        r.getMessage().endswith(f"{killed_at} finished trial(s) reused") for r in caplog.records
    )
    assert resumed == _tune("--trials", trials, "--journal", "fresh.journal")
