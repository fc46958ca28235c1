"""Every params.yaml key `mlpipe init` sets, decided for small tables of each task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import Params, params_from_dict
from mlpipe.data.roles import RoleError
from mlpipe.init_plan import InitOptions, decide, params_values


def _table(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "order_id": [f"O-{i:05d}" for i in range(rows)],
            "day": pd.date_range("2024-01-01", periods=rows, freq="D"),
            "region": rng.choice(["north", "south"], rows),
            "amount": rng.normal(100, 20, rows).round(2),
            "returned": rng.choice([True, False], rows, p=[0.4, 0.6]),
            "rating": rng.integers(1, 4, rows),
        }
    )


def test_binary_table_every_key() -> None:
    values = params_values(decide(_table(), "data/raw/t.csv", InitOptions("returned"), Params()))
    assert values == {
        "data.source": "data/raw/t.csv",
        "data.target": "returned",
        "data.task": "binary",
        "data.positive_class": "True",
        "data.id_columns": ["order_id"],
        "data.date_column": "day",
        "data.numeric_features": None,
        "data.categorical_features": None,
        "data.boolean_features": None,
        "split.method": "stratified",
        "evaluate.slices": [],  # 2 regions of ~100 rows: fewer than the 150 needed each
        "gate.rules": [
            {"metric": "roc_auc", "min": 0.5, "max_drop": 0.02},
            {"metric": "average_precision", "max_drop_relative": 0.05},
            {"metric": "log_loss", "max_drop_relative": 0.05},
        ],
        "monitor.metrics": ["roc_auc", "average_precision", "log_loss"],
    }


@pytest.mark.parametrize(
    ("target", "task", "rules", "split"),
    [
        ("rating", "multiclass", ["balanced_accuracy", "f1_macro", "log_loss"], "stratified"),
        ("amount", "regression", ["r2", "rmse", "mae"], "random"),
    ],
)
def test_each_task_gets_its_own_metrics(
    target: str, task: str, rules: list[str], split: str
) -> None:
    params = params_from_dict({"evaluate": {"min_slice_rows": 10}})
    decisions = decide(_table(), "t.csv", InitOptions(target), params)
    values = params_values(decisions)
    assert values["data.task"] == task and values["data.positive_class"] is None
    assert [r["metric"] for r in values["gate.rules"]] == rules
    assert values["split.method"] == split
    assert values["evaluate.slices"] == ["region", "returned"]  # 50 rows per value suffice
    assert decisions["evaluate.slices"].reason.startswith("region: categorical, 2 values")


def test_flags_replace_the_rules() -> None:
    options = InitOptions(
        "returned",
        positive_class="False",
        id_columns=(),
        date_column=None,
        date_given=True,
        slices=("region",),
    )
    values = params_values(decide(_table(), "t.csv", options, Params()))
    assert values["data.positive_class"] == "False"
    assert values["data.id_columns"] == [] and values["data.date_column"] is None
    assert values["evaluate.slices"] == ["region"]


def test_rows_without_a_target_are_left_out_and_counted_under_unlabelled_drop() -> None:
    table = _table()
    table["returned"] = table["returned"].astype("boolean")
    table.loc[[3, 7, 50], "returned"] = pd.NA
    decisions = decide(table, "data/raw/t.csv", InitOptions("returned"), Params())
    assert decisions["data.source"].reason == (
        "200 rows x 6 columns; 3 row(s) have no value in the target: data.unlabelled: drop sets "
        "them aside in data/interim/unlabelled.parquet (score them with `mlpipe predict`)"
    )
    assert decisions["data.task"].value == "binary"
    assert decisions["data.id_columns"].value == ("order_id",)  # unique among the 197 rows


def test_a_target_with_missing_labels_is_refused_before_anything_is_decided() -> None:
    table = _table()
    table["returned"] = table["returned"].astype("boolean")
    table.loc[[3, 7], "returned"] = pd.NA
    params = params_from_dict({"data": {"unlabelled": "fail"}})
    with pytest.raises(RoleError, match="target 'returned' has 2 missing labels") as info:
        decide(table, "data/raw/t.csv", InitOptions("returned"), params)
    assert "(ingest sets them aside, to score later), then run mlpipe init again" in str(
        info.value
    )
