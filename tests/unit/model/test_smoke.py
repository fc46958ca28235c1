"""The serving smoke test: synthetic rows from the schema, output checks, the CLI end to end."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.cli import main
from mlpipe.data.schema import dump_schema
from mlpipe.data.validate import validate_table
from mlpipe.model.persist import save_model
from mlpipe.model.smoke import check_outputs, latency_summary, synthetic_rows
from support.repo import BIN, PROJECT, base_env
from support.tiny import tiny_model, tiny_schema


def test_synthetic_rows_satisfy_the_schema_and_are_seeded() -> None:
    schema = tiny_schema()
    rows = synthetic_rows(schema, 500, seed=7)
    assert len(rows) == 500
    assert list(rows.columns) == ["cid", "age", "plan", "tech"]  # no target
    result = validate_table(rows, schema, require_target=False)
    assert result.ok, result.errors
    assert rows["age"].dropna().between(18, 90).all()
    assert (rows["age"].dropna() % 1 == 0).all()
    assert set(rows["plan"]) == {"basic", "premium", "standard"}
    assert 0 < rows["age"].isna().mean() <= 0.2  # missing values within the budget
    pd.testing.assert_frame_equal(rows, synthetic_rows(schema, 500, seed=7))
    assert not rows.equals(synthetic_rows(schema, 500, seed=8))


def test_synthetic_rows_of_the_project_schema_pass_validation() -> None:
    from mlpipe.data.schema import load_schema

    schema = load_schema(PROJECT / "data" / "schema.yaml")
    rows = synthetic_rows(schema, 300, seed=1)
    result = validate_table(rows, schema, require_target=False)
    assert result.ok, result.errors
    assert (
        rows["signup_date"].between(pd.Timestamp("2010-01-01"), pd.Timestamp("2025-01-01")).all()
    )


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (np.full((4, 2), 0.5), None),
        (np.full((3, 2), 0.5), "probability shape [3, 2], expected [4, 2]"),
        (np.array([[0.5, 0.6]] * 4), "4 rows of probabilities do not sum to 1"),
        (np.array([[1.2, -0.2]] * 4), "8 probabilities outside [0, 1]"),
        (np.array([[np.nan, 1.0]] * 4), "4 probabilities are not finite"),
    ],
)
def test_check_outputs_classifier(output: np.ndarray, problem: str | None) -> None:
    problems = check_outputs("binary", output, 4, ["no", "yes"], ["no", "yes"])
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith(problem)


def test_check_outputs_reports_class_mismatch_and_regression_values() -> None:
    assert check_outputs("binary", np.full((2, 2), 0.5), 2, ["0", "1"], ["no", "yes"]) == [
        "model classes ['0', '1'] differ from the schema's ['no', 'yes']"
    ]
    assert check_outputs("regression", np.array([1.0, 2.0]), 2, None, None) == []
    assert check_outputs("regression", np.array([1.0, np.inf]), 2, None, None) == [
        "1 predictions are not finite"
    ]
    assert check_outputs("regression", np.zeros((2, 1)), 2, None, None) == [
        "output shape [2, 1], expected [2]"
    ]


def test_latency_summary_units() -> None:
    timings = latency_summary(0.25, 0.5, 1000, [0.001, 0.002, 0.003])
    assert timings == {
        "load_seconds": 0.25,
        "batch_ms_per_row": 0.5,
        "single_row_ms_p50": 2.0,
        "single_row_ms_p95": 2.9,
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a real model file, its schema and a params file."""
    root = tmp_path_factory.mktemp("smoke")
    save_model(tiny_model("binary", max_iter=20), root / "model.skops")
    (root / "schema.yaml").write_text(dump_schema(tiny_schema()))
    (root / "params.yaml").write_text("predict:\n  smoke_rows: 64\n  seed: 3\n")
    return root


def _smoke(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`mlpipe smoke-test` through the installed command, in a new process."""
    return subprocess.run(
        [str(BIN / "mlpipe"), "smoke-test", "--params", "params.yaml", *args],
        cwd=root,
        env=base_env(PROJECT / "src"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture
def smoke(
    served: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """`mlpipe smoke-test` through the command's entry point (``mlpipe.cli.main``) in this
    process, run in ``served``: the exit status and stdout. The model is still loaded by the
    fresh worker process the smoke test starts; the log lines are in ``caplog``."""
    monkeypatch.chdir(served)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # main sets it; put back after the test

    def run(*args: str) -> tuple[int, str]:
        code = main(["smoke-test", "--params", "params.yaml", *args])
        return code, capsys.readouterr().out

    return run


@pytest.mark.slow  # the smoke test's worker process imports scikit-learn
def test_smoke_test_passes_and_reports_shape_and_timings(served: Path) -> None:
    """End to end through the installed `mlpipe` command: the JSON report and the exit code."""
    result = _smoke(served, "--model", "model.skops", "--schema", "schema.yaml")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["rows"] == 64 and report["task"] == "binary"
    assert report["output"] == {"shape": [64, 2], "classes": ["no", "yes"]}
    assert set(report["timings"]) == {
        "load_seconds",
        "batch_ms_per_row",
        "single_row_ms_p50",
        "single_row_ms_p95",
    }
    assert all(value > 0 for value in report["timings"].values())
    assert report["process_seconds"] >= report["timings"]["load_seconds"]
    assert "smoke test passed: 64 rows" in result.stderr


@pytest.mark.slow  # the smoke test's worker process imports scikit-learn
def test_smoke_test_writes_report_file_with_rows_option(
    smoke: Callable[..., tuple[int, str]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "smoke.json"
    with caplog.at_level(logging.INFO):
        code, stdout = smoke(
            "--model",
            "model.skops",
            "--schema",
            "schema.yaml",
            "--rows",
            "5",
            "--output",
            str(out),
        )
    assert code == 0, caplog.text
    assert stdout == ""
    assert json.loads(out.read_text())["output"]["shape"] == [5, 2]
    assert "smoke test passed: 5 rows" in caplog.text


@pytest.mark.slow  # the smoke test's worker process imports scikit-learn
def test_smoke_test_fails_when_model_and_schema_disagree(
    served: Path, smoke: Callable[..., tuple[int, str]], caplog: pytest.LogCaptureFixture
) -> None:
    schema = tiny_schema()
    without_tech = dataclasses.replace(
        schema, columns=tuple(c for c in schema.columns if c.name != "tech")
    )
    (served / "other.yaml").write_text(dump_schema(without_tech))
    code, stdout = smoke("--model", "model.skops", "--schema", "other.yaml")
    assert code == 1
    report = json.loads(stdout)
    assert report["ok"] is False
    assert "the model needs ['tech']" in report["problems"][0]
    assert "smoke test FAILED" in caplog.text and "the model needs ['tech']" in caplog.text


@pytest.mark.slow  # the smoke test's worker process imports scikit-learn
def test_smoke_test_fails_on_class_mismatch(
    served: Path, smoke: Callable[..., tuple[int, str]]
) -> None:
    schema = dataclasses.replace(tiny_schema(), classes=("churn", "stay"))
    (served / "classes.yaml").write_text(dump_schema(schema))
    code, stdout = smoke("--model", "model.skops", "--schema", "classes.yaml")
    assert code == 1
    assert json.loads(stdout)["problems"] == [
        "model classes ['no', 'yes'] differ from the schema's ['churn', 'stay']"
    ]


@pytest.mark.slow  # the smoke test's worker process imports scikit-learn
def test_smoke_test_refuses_an_unsafe_file(
    served: Path, smoke: Callable[..., tuple[int, str]]
) -> None:
    (served / "model.pkl").write_bytes(b"\x80\x04N.")
    code, stdout = smoke("--model", "model.pkl", "--schema", "schema.yaml")
    assert code == 1
    assert "refusing to load a pickle file" in json.loads(stdout)["problems"][0]


def test_smoke_test_missing_model_is_a_user_error(
    smoke: Callable[..., tuple[int, str]], caplog: pytest.LogCaptureFixture
) -> None:
    code, _ = smoke("--model", "absent.skops", "--schema", "schema.yaml")
    assert code == 2
    assert "absent.skops: model file not found" in caplog.text
