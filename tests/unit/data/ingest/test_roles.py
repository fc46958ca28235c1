"""The column names params.yaml [data] gives, checked against the header of the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.config import DataConfig
from mlpipe.data.ingest import (
    check_roles,
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
    ]:
        with pytest.raises(InputError) as caught:
            check_roles(frame, config, "src.csv")
        assert key in str(caught.value)
        assert "its 2 columns are: a, y" in str(caught.value)
