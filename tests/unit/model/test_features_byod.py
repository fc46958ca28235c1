"""Feature roles: explicit lists from params are checked against the schema."""

from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import ConfigError
from mlpipe.data.schema import infer_schema
from mlpipe.model.features import feature_spec

FRAME = pd.DataFrame(
    {"a": [1.0, 2.0] * 5, "b": ["x", "y"] * 5, "k": [f"{i}" for i in range(10)], "y": [0, 1] * 5}
)


def test_roles_come_from_the_schema_or_params() -> None:
    schema = infer_schema(FRAME, "y", id_columns=("k",))
    spec = feature_spec(schema)
    assert (spec.numeric, spec.categorical, spec.boolean) == (("a",), ("b",), ())
    explicit = feature_spec(schema, numeric=(), categorical=("a", "b"))
    assert (explicit.numeric, explicit.categorical) == ((), ("a", "b"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"numeric": ("y",)}, "data.numeric_features lists the target 'y'"),
        ({"categorical": ("bb",)}, "data.categorical_features lists 'bb', which is not a column"),
        ({"numeric": ("a",), "categorical": ("a", "b")}, "columns ['a'] are listed in more"),
    ],
)
def test_bad_explicit_lists_are_refused(kwargs: dict, message: str) -> None:
    schema = infer_schema(FRAME, "y", id_columns=("k",))
    with pytest.raises(ConfigError) as caught:
        feature_spec(schema, **kwargs)
    assert message in str(caught.value)


def test_a_table_without_features_is_refused() -> None:
    schema = infer_schema(FRAME[["k", "y"]], "y", id_columns=("k",))
    with pytest.raises(ConfigError, match="no feature columns"):
        feature_spec(schema)


def test_excluded_columns_are_left_out_of_every_role() -> None:
    schema = infer_schema(FRAME, "y", id_columns=("k",))
    spec = feature_spec(schema, exclude=("a",))
    assert (spec.numeric, spec.categorical, spec.boolean) == ((), ("b",), ())
    assert feature_spec(schema, categorical=("b",), exclude=("a",)).columns == ("b",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"exclude": ("y",)},
            "data.exclude_columns lists the target 'y'; the target is never a feature: remove "
            "it from data.exclude_columns",
        ),
        (
            {"exclude": ("aa",)},
            "data.exclude_columns lists 'aa', which is not a column of the schema; check the "
            "spelling (the schema's columns: a, b, k, y)",
        ),
        (
            {"numeric": ("a",), "exclude": ("a",)},
            "'a' is in both data.exclude_columns and data.numeric_features; remove it from one "
            "of them",
        ),
        (
            {"exclude": ("a", "b")},
            "no feature columns: the schema has no numeric, boolean or categorical column "
            "besides the target; set data.*_features or check data.id_columns and "
            "data.exclude_columns",
        ),
    ],
)
def test_bad_exclusions_are_refused_naming_the_key(kwargs: dict, message: str) -> None:
    schema = infer_schema(FRAME, "y", id_columns=("k",))
    with pytest.raises(ConfigError) as caught:
        feature_spec(schema, **kwargs)
    assert str(caught.value) == message
