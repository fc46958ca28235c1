"""Budget tests of a batch to score: the binomial p-value, the widened rate, the row rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlpipe.data.budgets import (
    INVALID,
    MISSING,
    BudgetCount,
    evaluate_budgets,
    invalid_rows,
    p_value,
    widened_rate,
)
from mlpipe.data.schema import ColumnSpec


def test_the_issues_census_case_is_noise_not_a_breach() -> None:
    """4 missing values in 100 rows against max_missing 0.038 (1.8 % seen in training)."""
    assert 4 / 100 > 0.038  # the exact rule refused it
    assert p_value(4, 100, 0.038) == pytest.approx(stats.binom.sf(3, 100, 0.038))
    assert p_value(4, 100, 0.038) > 0.5  # as likely as not
    (test,) = evaluate_budgets(
        [BudgetCount("native-country", MISSING, 0.038, "x", 4)], 100, 26000, 1e-3
    )
    assert not test.crossed


def test_a_real_shift_is_crossed_at_any_level() -> None:
    """30 % missing in 100 rows where 2 % is allowed."""
    assert p_value(30, 100, 0.02) < 1e-15
    (test,) = evaluate_budgets([BudgetCount("age", MISSING, 0.02, "x", 30)], 100, 26000, 1e-3)
    assert test.crossed


@pytest.mark.parametrize(("count", "expected"), [(0, 1.0), (1, 0.0), (5, 0.0)])
def test_a_zero_rate_makes_any_bad_value_certain(count: int, expected: float) -> None:
    assert p_value(count, 100, 0.0) == expected


def test_a_zero_budget_is_widened_to_the_rule_of_three_bound() -> None:
    # 0 events in n rows: the exact upper bound is 1 - alpha ** (1 / n) (about -ln(alpha) / n).
    assert widened_rate(0.0, 20000, 0.05) == pytest.approx(1 - 0.05 ** (1 / 20000), rel=1e-9)
    assert widened_rate(0.0, 20000, 0.05) == pytest.approx(3 / 20000, rel=0.01)  # rule of three
    assert widened_rate(0.0, 20000, 1e-3) == pytest.approx(-math.log(1e-3) / 20000, rel=1e-3)
    # one stray missing value in 100 rows is then not a breach; three are
    rate = widened_rate(0.0, 20000, 1e-3)
    assert p_value(1, 100, rate) == pytest.approx(0.0339, abs=1e-4)
    assert p_value(3, 100, rate) < 1e-5


def test_the_widening_shrinks_with_the_training_rows_and_is_none_without_them() -> None:
    assert widened_rate(0.02, None, 1e-3) == 0.02  # a schema without `rows`: exact budget
    bounds = [widened_rate(0.02, n, 1e-3) for n in (1_000, 20_000, 1_000_000)]
    assert bounds[0] > bounds[1] > bounds[2] > 0.02
    assert bounds[2] == pytest.approx(0.02, abs=0.0005)
    assert widened_rate(1.0, 100, 1e-3) == 1.0


def test_the_level_is_shared_by_every_test() -> None:
    counts = [
        BudgetCount("a", MISSING, 0.1, "x", 0),
        BudgetCount("a", INVALID, 0.0, "y", 0),
        BudgetCount("b", MISSING, 0.1, "x", 3),
        BudgetCount("b", INVALID, 0.0, "y", 0),
    ]
    tests = evaluate_budgets(counts, 50, None, 0.01)
    assert [t.level for t in tests] == [0.0025] * 4
    assert [t.p_value for t in tests] == [1.0, 1.0, pytest.approx(0.8883, abs=1e-4), 1.0]
    assert evaluate_budgets([], 50, None, 0.01) == ()


def test_the_message_names_column_count_share_p_value_and_fix() -> None:
    count = BudgetCount(
        "plan",
        INVALID,
        0.0,
        "validate.max_invalid_fraction 0",
        30,
        (("unknown category 'gold'", 30),),
        ("category",),
    )
    (test,) = evaluate_budgets([count], 100, 20000, 1e-3)
    assert test.message() == (
        "plan: 30 invalid values in 100 rows (30.0%: unknown category 'gold' x30); the contract "
        "expects 0% (validate.max_invalid_fraction 0, at most 0.035% for a schema inferred "
        f"from 20000 rows), binomial p-value {test.p_value:.2g} < 0.001: map unknown "
        "categories to known ones, or set predict.unknown_categories: warn to score them as "
        "unknown; validate.max_invalid_fraction tolerates a share"
    )
    assert test.as_dict()["crossed"] is True and test.as_dict()["count"] == 30


def test_invalid_rows_give_one_reason_per_broken_rule() -> None:
    spec = ColumnSpec("age", "numeric", integer=True, min=18, max=90)
    values = pd.Series([20.0, 17.0, 95.5, np.nan, 30.0, 40.0])
    unparsed = pd.Series(["", "", "", "old", "", ""])
    reasons = invalid_rows(values, spec, unparsed)
    assert reasons.tolist() == [
        "",
        "17 < min 18",
        "95.5 > max 90; 95.5 is not whole",
        "'old' is not a number",
        "",
        "",
    ]


def test_unknown_categories_are_invalid_only_under_fail() -> None:
    spec = ColumnSpec("plan", "categorical", categories=("basic", "premium"))
    values = pd.Series(["basic", "gold", None, "premium"])
    assert invalid_rows(values, spec).tolist() == ["", "", "", ""]
    assert invalid_rows(values, spec, unknown_fail=True).tolist() == [
        "",
        "unknown category 'gold'",
        "",
        "",
    ]


def test_unparsed_yes_no_text_is_named() -> None:
    spec = ColumnSpec("tech", "boolean")
    reasons = invalid_rows(pd.Series([True, None]), spec, pd.Series(["", "maybe"]))
    assert reasons.tolist() == ["", "'maybe' is not yes/no"]
