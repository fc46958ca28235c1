"""Inferring and reading the schema contract; the target checks say what to change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import ConfigError, DataConfig
from mlpipe.data.schema import (
    check_params,
    dump_schema,
    infer_schema,
    infer_task,
    load_schema,
    schema_from_dict,
)


def _frame(target: list) -> pd.DataFrame:
    n = len(target)
    return pd.DataFrame({"x": np.arange(n, dtype=float), "c": ["a", "b"] * (n // 2), "y": target})


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([True, False] * 5, "binary"),
        (["yes", "no"] * 5, "binary"),
        ([0, 1, 2] * 4, "multiclass"),
        (["a", "b", "c", "d"] * 3, "multiclass"),
        (list(np.linspace(0, 10, 12)), "regression"),
        (list(range(40)), "regression"),
    ],
)
def test_auto_task_follows_the_target(values: list, task: str) -> None:
    assert infer_task(pd.Series(values)) == task


@pytest.mark.parametrize(
    ("target", "task", "message"),
    [
        ([None] * 6, "auto", "target 'y' has no values: all 6 rows are empty"),
        (["no"] * 6, "auto", "target 'y' has a single value ('no') in all 6 labelled rows"),
        (["a", "b", "c"] * 2, "binary", "data.task is binary but target 'y' has 3 classes"),
        (
            ["low", "high"] * 3,
            "regression",
            "data.task is regression but target 'y' is not numeric (values such as "
            "['high', 'low'])",
        ),
    ],
)
def test_unlearnable_targets_are_refused(target: list, task: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        infer_schema(_frame(target), "y", task)
    assert message in str(caught.value)


def test_missing_target_id_and_date_columns_name_the_params_key() -> None:
    frame = _frame([0, 1] * 3)
    with pytest.raises(ConfigError, match=r"data.target 'label' is not a column of the data"):
        infer_schema(frame, "label")
    with pytest.raises(ConfigError, match=r"data.id_columns names columns .* \['id'\]"):
        infer_schema(frame, "y", id_columns=("id",))
    with pytest.raises(ConfigError, match=r"data.date_column 'when' is not a column"):
        infer_schema(frame, "y", date_column="when")


def test_inferred_contract_widens_ranges_and_sets_category_policy() -> None:
    n = 40
    frame = pd.DataFrame(
        {
            "amount": np.linspace(10.0, 110.0, n),
            "delta": np.linspace(-5.0, 5.0, n),
            "closed": ["x", "y"] * (n // 2),
            "tail": ["common"] * (n - 2) + ["rare1", "rare2"],
            "y": [0, 1] * (n // 2),
        }
    )
    frame.loc[:3, "amount"] = np.nan
    schema = infer_schema(frame, "y")
    amount, delta = schema.column("amount"), schema.column("delta")
    # Observed [10 + 400/39, 110] (the first 4 rows are missing), widened by 10% of the span.
    low, high = 10 + 400 / 39, 110.0
    pad = (high - low) * 0.1
    assert amount.min == pytest.approx(low - pad, abs=1e-4)
    assert amount.max == pytest.approx(high + pad, abs=1e-4)
    assert (delta.min, delta.max) == (-6.0, 6.0)
    assert amount.max_missing == pytest.approx(0.12)  # 10% observed + 2% slack
    assert schema.column("closed").unknown == "fail"
    assert schema.column("tail").unknown == "warn"  # rare values: new ones are expected
    assert schema.classes == (0, 1) and schema.task == "binary"
    # Non-negative data keeps a floor of 0 even when the padding would cross it.
    small = infer_schema(pd.DataFrame({"v": [0.5, 10.0] * 3, "y": [0, 1] * 3}), "y")
    assert small.column("v").min == 0.0


def test_dump_explains_the_rules_and_round_trips(tmp_path) -> None:
    schema = infer_schema(_frame(["a", "b", "c"] * 4), "y", id_columns=("c",))
    text = dump_schema(schema)
    assert "min, max     numeric range: the observed range widened by 10%" in text
    assert "`unknown` is the policy for a value not listed" in text
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    assert load_schema(path) == schema


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"version": 2}, "'version' must be 1"),
        ({"colums": {}}, "unknown key 'colums'"),
        ({"columns": {"x": {"kind": "number"}}}, "'columns.x.kind' is 'number'"),
        ({"columns": {"x": {"kind": "numeric", "maximum": 3}}}, "unknown key 'columns.x.maximum'"),
        (
            {"columns": {"x": {"kind": "categorical", "unknown": "drop"}}},
            "must be 'fail' or 'warn'",
        ),
        ({"target": "z"}, "'target' is 'z', which is not one of the schema's columns"),
    ],
)
def test_schema_file_errors_name_the_key(raw: dict, message: str) -> None:
    base = {"version": 1, "target": "y", "task": "binary", "columns": {"y": {"kind": "boolean"}}}
    merged = {**base, **raw}
    if "columns" in raw:
        merged["columns"] = {**raw["columns"], "y": {"kind": "boolean"}}
    with pytest.raises(ConfigError, match=message):
        schema_from_dict(merged)


def test_params_that_no_longer_match_the_schema_are_refused() -> None:
    schema = infer_schema(_frame([True, False] * 3), "y")
    check_params(schema, DataConfig(target="y", task="auto"))
    check_params(schema, DataConfig(target="y", task="binary", positive_class="True"))
    cases = [
        (DataConfig(target="z"), "data.target is 'z' but s.yaml is for target 'y'"),
        (DataConfig(target="y", task="regression"), "data.task is regression but s.yaml says"),
        (
            DataConfig(target="y", positive_class="yes"),
            "data.positive_class 'yes' is not one of the target's classes ['False', 'True'] "
            "(yes/no labels are read as booleans)",
        ),
    ]
    for config, message in cases:
        with pytest.raises(ConfigError) as caught:
            check_params(schema, config, "s.yaml")
        assert message in str(caught.value)
