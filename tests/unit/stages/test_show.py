"""`mlpipe metrics`: the printed table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mlpipe.io import InputError, write_json
from mlpipe.stages.show import format_metrics_table, run


def test_table_has_test_first_rows_as_integers_and_gaps_as_dashes() -> None:
    table = format_metrics_table(
        {
            "train": {"roc_auc": 0.91234, "rows": 16000.0, "brier": 0.1},
            "test": {"roc_auc": 0.85, "rows": 4000.0},
        }
    )
    assert table.splitlines() == [
        "metric         test       train",
        "-------------------------------",
        "brier             -      0.1000",
        "roc_auc      0.8500      0.9123",
        "rows           4000       16000",
    ]


def test_long_metric_names_widen_the_first_column() -> None:
    lines = format_metrics_table({"test": {"average_precision": 0.5}}).splitlines()
    assert lines[0] == "metric                   test"
    assert lines[2] == "average_precision      0.5000"


def test_run_prints_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"test": {"f1": 0.5}})
    assert run(argparse.Namespace(metrics=str(path), params="unused.yaml")) == 0
    assert (
        capsys.readouterr().out == "metric        test\n------------------\nf1          0.5000\n"
    )


def test_run_defaults_to_the_path_in_params(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(f"paths:\n  metrics: {tmp_path / 'nope.json'}\n")
    with pytest.raises(InputError, match=r"nope\.json: file not found"):
        run(argparse.Namespace(metrics=None, params=str(params)))


def test_each_test_metric_with_its_interval(tmp_path: Path, capsys) -> None:
    intervals = {"confidence": 0.9, "test": {"roc_auc": {"low": 0.81, "high": 0.83}}}
    table = format_metrics_table(
        {"test": {"roc_auc": 0.82, "rows": 4000.0}, "train": {"roc_auc": 0.9, "rows": 9.0}},
        intervals,
    )
    assert table.splitlines() == [
        "metric         test        90% interval       train",
        "---------------------------------------------------",
        "roc_auc      0.8200    [0.8100, 0.8300]      0.9000",
        "rows           4000                               9",
    ]
    # The default paths come from params.yaml: the intervals are read when the file exists.
    write_json(tmp_path / "m.json", {"test": {"roc_auc": 0.82}})
    write_json(tmp_path / "i.json", intervals)
    params = tmp_path / "params.yaml"
    params.write_text(
        f"paths:\n  metrics: {tmp_path / 'm.json'}\n  intervals: {tmp_path / 'i.json'}\n"
    )
    assert run(argparse.Namespace(metrics=None, intervals=None, params=str(params))) == 0
    assert "[0.8100, 0.8300]" in capsys.readouterr().out
    (tmp_path / "i.json").unlink()  # an older run without intervals: the plain table
    run(argparse.Namespace(metrics=None, intervals=None, params=str(params)))
    assert (
        capsys.readouterr().out
        == "metric         test\n-------------------\nroc_auc      0.8200\n"
    )
