"""Small churn tables and a quick training config shared by the model tests."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from mlpipe.config import TrainConfig
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import Schema, load_schema
from mlpipe.data.split import split_table
from support.repo import PROJECT


@pytest.fixture(scope="session")
def schema() -> Schema:
    return load_schema(PROJECT / "data" / "schema.yaml")


@pytest.fixture(scope="session")
def churn_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """600 generated rows split 75/25 (seeded): 150 test rows, enough for each estimator to
    show the churn signal (AUC > 0.65) whichever rows the per-row split picks."""
    return split_table(generate_churn(600, seed=11), "churned", "stratified", 0.25, seed=0)


@pytest.fixture(scope="session")
def quick() -> TrainConfig:
    """The default estimator with few boosting rounds, so tests stay fast."""
    config = TrainConfig()
    return dataclasses.replace(
        config,
        hist_gradient_boosting=dataclasses.replace(config.hist_gradient_boosting, max_iter=20),
    )
