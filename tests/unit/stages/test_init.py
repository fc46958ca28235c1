"""`mlpipe init` on bad input: one clear error (exit 2) and nothing written."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mlpipe.cli import main
from support.repo import PROJECT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with the project's params.yaml and dvc.yaml, as the working directory."""
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    (tmp_path / "data/raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _fails(root: Path, caplog: pytest.LogCaptureFixture, *args: str) -> str:
    """Run init; assert exit 2 and no file changed; return the error line."""
    before = _files(root)
    with caplog.at_level(logging.ERROR):
        assert main(["init", *args]) == 2
    assert _files(root) == before
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    return errors[0]


def _table(root: Path, frame: pd.DataFrame, name: str = "t.csv") -> str:
    frame.to_csv(root / "data/raw" / name, index=False)
    return f"data/raw/{name}"


GOOD = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "x", "y"], "y": [0, 1, 0, 1]})


def test_a_missing_file(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    error = _fails(project, caplog, "--source", "data/raw/nope.csv", "--target", "y")
    assert error == (
        "init failed: --source data/raw/nope.csv: file not found. Put the table in the "
        "project (e.g. under data/raw/) and pass its path"
    )


def test_a_file_outside_the_project(
    project: Path, caplog: pytest.LogCaptureFixture, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "t.csv"
    GOOD.to_csv(outside, index=False)
    error = _fails(project, caplog, "--source", str(outside), "--target", "y")
    assert error.startswith(f"init failed: --source {outside}: outside the project (")
    assert error.endswith("copy it under data/raw/ first")


def test_a_target_that_is_not_a_column_lists_the_columns(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _table(project, GOOD)
    error = _fails(project, caplog, "--source", source, "--target", "label")
    assert error == (
        "init failed: data/raw/t.csv: --target 'label' is not a column; its 3 columns are: a, b, y"
    )


def test_a_target_with_one_value(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = _table(project, GOOD.assign(y=1))
    error = _fails(project, caplog, "--source", source, "--target", "y")
    assert "target 'y' has a single value (1) in all 4 labelled rows" in error


def test_an_unreadable_file(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    (project / "data/raw/t.parquet").write_bytes(b"not parquet at all")
    error = _fails(project, caplog, "--source", "data/raw/t.parquet", "--target", "y")
    assert error.startswith("init failed: data/raw/t.parquet: not a readable Parquet file")


def test_an_empty_file(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    (project / "data/raw/t.csv").write_text("")
    error = _fails(project, caplog, "--source", "data/raw/t.csv", "--target", "y")
    assert error.endswith("the file is empty (0 bytes); expected a header and rows")


def test_a_table_without_a_usable_feature(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(30)],
            "day": pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d"),
            "y": ["a", "b"] * 15,
        }
    )
    source = _table(project, frame)
    error = _fails(project, caplog, "--source", source, "--target", "y")
    assert error.startswith(
        "init failed: no usable feature: every column (order_id, day, y) is the target, an id "
        "or the date"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--positive-class", "2"],
            "--positive-class '2' is not a class of target 'y'; its classes are ['0', '1']",
        ),
        (["--id-columns", "a,zz"], "--id-columns names ['zz'], not columns of the table"),
        (["--date-column", "b"], "--date-column 'b' holds text like 'x', not dates"),
        (["--slices", "c"], "--slices names ['c'], not columns of the table; its columns are"),
        (["--task", "regression", "--positive-class", "1"], "--positive-class is for binary"),
    ],
)
def test_a_flag_that_does_not_fit_the_table(
    project: Path, caplog: pytest.LogCaptureFixture, flags: list[str], message: str
) -> None:
    source = _table(project, GOOD)
    error = _fails(project, caplog, "--source", source, "--target", "y", *flags)
    assert message in error
