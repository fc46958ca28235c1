"""`mlpipe validate`: the gate's and monitor's metrics are checked against the schema's task."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from mlpipe.config import ConfigError
from mlpipe.data.schema import dump_schema
from mlpipe.io import write_parquet
from mlpipe.stages.validate import run
from support.tiny import tiny_frame, tiny_schema


def _validate(tmp_path: Path, task: str, params: dict) -> int:
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "schema.yaml").write_text(dump_schema(tiny_schema(task)))
    write_parquet(tmp_path / "in.parquet", tiny_frame(60, task))
    args = argparse.Namespace(
        params=str(tmp_path / "params.yaml"),
        input=str(tmp_path / "in.parquet"),
        schema=str(tmp_path / "schema.yaml"),
        report=str(tmp_path / "validation.json"),
    )
    return run(args)


def test_the_default_gate_fits_a_binary_schema(tmp_path: Path) -> None:
    assert _validate(tmp_path, "binary", {"data": {"target": "y", "id_columns": ["cid"]}}) == 0
    assert (tmp_path / "validation.json").exists()


def test_the_default_gate_on_a_regression_schema_fails_validate(tmp_path: Path) -> None:
    params = {"data": {"target": "y", "id_columns": ["cid"], "task": "regression"}}
    with pytest.raises(ConfigError) as caught:
        _validate(tmp_path, "regression", params)
    assert str(caught.value) == (
        f"{tmp_path / 'params.yaml'}: gate.rules names metric 'roc_auc', which a regression "
        "model does not have (the task is from the schema). Metrics of a regression model: "
        f"rows, rmse, mae, r2, mape. Fix gate.rules in {tmp_path / 'params.yaml'}: use one of "
        "them, or remove 'roc_auc'"
    )
    assert not (tmp_path / "validation.json").exists()


def test_a_monitor_metric_of_another_task_fails_validate(tmp_path: Path) -> None:
    params = {
        "data": {"target": "y", "id_columns": ["cid"], "task": "regression"},
        "gate": {"rules": [{"metric": "rmse", "max": 100.0}]},
        "monitor": {"metrics": ["mae", "log_loss"]},
    }
    with pytest.raises(ConfigError) as caught:
        _validate(tmp_path, "regression", params)
    assert "monitor.metrics names metric 'log_loss', which a regression model" in str(caught.value)
