"""The embedded churn generator: deterministic, realistic mix of features, about 25% churn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.data.generate import (
    BLOCK_ROWS,
    CONTRACTS,
    PAYMENT_METHODS,
    PLANS,
    REGIONS,
    TARGET,
    churn_blocks,
    generate_churn,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_churn(3000, seed=7)


def test_same_seed_gives_an_identical_frame() -> None:
    pd.testing.assert_frame_equal(generate_churn(300, 1), generate_churn(300, 1))


def test_a_different_seed_gives_different_data() -> None:
    a, b = generate_churn(300, 1), generate_churn(300, 2)
    assert not a["monthly_charges"].equals(b["monthly_charges"])
    assert not a[TARGET].equals(b[TARGET])
    # ids depend on the row position only
    assert a["customer_id"].equals(b["customer_id"])


def test_blocks_do_not_depend_on_the_total_row_count() -> None:
    """A block is generated from its own stream: 150k rows start with the 100k-row table."""
    small = generate_churn(BLOCK_ROWS, 3)
    large = generate_churn(BLOCK_ROWS + 50_000, 3)
    assert len(large) == BLOCK_ROWS + 50_000
    pd.testing.assert_frame_equal(large.iloc[:BLOCK_ROWS], small)
    assert large["customer_id"].iloc[-1] == f"C{BLOCK_ROWS + 50_000 - 1:09d}"


def test_blocks_have_at_most_block_rows() -> None:
    sizes = [len(b) for b in churn_blocks(BLOCK_ROWS * 2 + 5, 0)]
    assert sizes == [BLOCK_ROWS, BLOCK_ROWS, 5]


@pytest.mark.parametrize("rows", [0, -5])
def test_rows_must_be_positive(rows: int) -> None:
    with pytest.raises(ValueError, match=f"rows must be positive, got {rows}"):
        list(churn_blocks(rows, 0))


def test_positive_rate_is_between_20_and_30_percent(frame: pd.DataFrame) -> None:
    assert frame[TARGET].dtype == bool
    assert 0.20 <= frame[TARGET].mean() <= 0.30


def test_at_least_twelve_features_of_mixed_kinds(frame: pd.DataFrame) -> None:
    features = [c for c in frame.columns if c not in (TARGET, "customer_id")]
    assert len(features) >= 12
    kinds = {
        "numeric": [
            c
            for c in features
            if pd.api.types.is_float_dtype(frame[c]) or pd.api.types.is_integer_dtype(frame[c])
        ],
        "categorical": [c for c in features if pd.api.types.is_string_dtype(frame[c])],
        "boolean": [c for c in features if pd.api.types.is_bool_dtype(frame[c])],
        "date": [c for c in features if pd.api.types.is_datetime64_any_dtype(frame[c])],
    }
    assert len(kinds["numeric"]) >= 5
    assert sorted(kinds["categorical"]) == ["contract", "payment_method", "plan", "region"]
    assert len(kinds["boolean"]) == 4
    assert kinds["date"] == ["signup_date"]


def test_categories_are_the_documented_ones(frame: pd.DataFrame) -> None:
    assert set(frame["contract"].dropna()) == set(CONTRACTS)
    assert set(frame["plan"].dropna()) == set(PLANS)
    assert set(frame["payment_method"].dropna()) == set(PAYMENT_METHODS)
    assert set(frame["region"].dropna()) == set(REGIONS)


def test_some_columns_have_a_few_percent_missing(frame: pd.DataFrame) -> None:
    missing = frame.isna().mean()
    with_missing = missing[missing > 0]
    assert set(with_missing.index) == {
        "total_charges",
        "age",
        "satisfaction_score",
        "last_login_days",
        "region",
    }
    assert (with_missing < 0.10).all()
    assert missing[TARGET] == 0


def test_numeric_values_are_plausible_and_skewed(frame: pd.DataFrame) -> None:
    assert frame["tenure_months"].between(0, 72).all()
    assert (frame["monthly_charges"] >= 9.99).all()
    assert frame["age"].dropna().between(18, 90).all()
    assert frame["satisfaction_score"].dropna().isin([1, 2, 3, 4, 5]).all()
    # right-skewed: mean above median
    assert frame["tenure_months"].mean() > frame["tenure_months"].median()
    assert frame["data_usage_gb"].mean() > frame["data_usage_gb"].median()
    assert frame["signup_date"].max() <= pd.Timestamp("2025-01-01")


def test_label_depends_on_the_features(frame: pd.DataFrame) -> None:
    by_contract = frame.groupby("contract")[TARGET].mean()
    assert by_contract["month-to-month"] > by_contract["one-year"] > by_contract["two-year"]
    assert (
        frame.loc[frame["tenure_months"] < 6, TARGET].mean()
        > frame.loc[frame["tenure_months"] > 36, TARGET].mean()
    )
    # noisy, not deterministic: some two-year customers still churn
    assert 0 < by_contract["two-year"] < 0.2


def test_ids_are_unique_and_ordered(frame: pd.DataFrame) -> None:
    ids = frame["customer_id"]
    assert ids.is_unique
    assert ids.iloc[0] == "C000000000" and ids.iloc[-1] == "C000002999"
    assert np.all(ids.to_numpy()[:-1] < ids.to_numpy()[1:])
