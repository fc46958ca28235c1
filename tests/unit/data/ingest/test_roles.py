"""The column names params.yaml [data] gives, checked against the header of the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.config import DataConfig
from mlpipe.data.ingest import (
    check_roles,
    check_slices,
)
from mlpipe.io import InputError


def test_check_roles_names_the_params_key_and_the_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1], "y": [0]})
    check_roles(frame, DataConfig(target="y", id_columns=()), "src.csv")
    for config, key in [
        (DataConfig(target="label", id_columns=()), "data.target names column 'label'"),
        (DataConfig(target="y", id_columns=("id",)), "data.id_columns names column 'id'"),
        (
            DataConfig(target="y", id_columns=(), date_column="when"),
            "data.date_column names column 'when'",
        ),
        (
            DataConfig(target="y", id_columns=(), numeric_features=("b",)),
            "data.numeric_features names column 'b'",
        ),
        (
            DataConfig(target="y", id_columns=(), exclude_columns=("lwage",)),
            "data.exclude_columns names column 'lwage', which is not in the file",
        ),
    ]:
        with pytest.raises(InputError) as caught:
            check_roles(frame, config, "src.csv")
        assert key in str(caught.value)
        assert "its 2 columns are: a, y" in str(caught.value)


COLUMNS = ["customer_id", "plan", "region", "signup", "churned"]
DATA = DataConfig(target="churned", id_columns=("customer_id",), date_column="signup")


def test_slices_on_categorical_columns_pass() -> None:
    check_slices(COLUMNS, ("plan", "region"), DATA, "src.csv")
    check_slices(COLUMNS, (), DATA, "src.csv")


def test_a_slice_that_is_not_a_column_names_the_key_and_the_columns() -> None:
    with pytest.raises(InputError) as caught:
        check_slices(COLUMNS, ("plan", "regoin"), DATA, "data/raw/src.csv")
    assert str(caught.value) == (
        "data/raw/src.csv: evaluate.slices names column 'regoin', which is not in the file; "
        "its 5 columns are: customer_id, plan, region, signup, churned. Fix evaluate.slices in "
        "params.yaml (categorical or boolean columns, or [] for none)"
    )


@pytest.mark.parametrize(
    ("name", "role"),
    [
        (
            "churned",
            "the target (data.target): each slice would hold one class and its metrics would "
            "be undefined",
        ),
        (
            "customer_id",
            "an id column (data.id_columns): one slice per id, each too small to report",
        ),
        ("signup", "the date column (data.date_column), not a category"),
    ],
)
def test_a_slice_on_the_target_an_id_or_the_date_is_refused(name: str, role: str) -> None:
    with pytest.raises(InputError) as caught:
        check_slices(COLUMNS, (name,), DATA, "src.csv")
    assert str(caught.value) == (
        f"src.csv: evaluate.slices names '{name}', {role}. Remove it from evaluate.slices in "
        "params.yaml (slice by categorical or boolean columns)"
    )
