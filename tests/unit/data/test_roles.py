"""`mlpipe init`'s decisions on tiny frames: task, positive class, ids, date, slices, split."""

from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import ConfigError
from mlpipe.data import roles
from mlpipe.data.roles import RoleError


def _frame(rows: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": [f"K{i:04d}" for i in range(rows)],
            "CustomerID": list(range(1000, 1000 + rows)),
            "income": [1000.5 + 7 * i for i in range(rows)],  # unique, a measurement
            "visits": list(range(rows)),  # unique whole numbers, not named like an id
            "price_text": [f"${1000 + i:,}.50" for i in range(rows)],  # unique, a number
            "plan": ["basic", "premium"] * (rows // 2),
            "city": ["Oslo"] * (rows - 2) + ["Lima", "Pune"],
            "member": pd.array([True, False] * (rows // 2), dtype="boolean"),
            "signup": pd.date_range("2022-01-01", periods=rows, freq="D"),
            "label": ["no"] * (rows - 10) + ["yes"] * 10,
        }
    )


@pytest.mark.parametrize(
    ("values", "task", "reason"),
    [
        (["a", "b", "a", "b"], "binary", "target 't' has 2 values: a, b"),
        ([0, 1, 2, 1, 0], "multiclass", "target 't' has 3 distinct whole numbers: 0, 1, 2"),
        (["x", "y", "z", "x"], "multiclass", "target 't' has 3 distinct labels: x, y, z"),
        ([0.5, 1.25, 3.0, 4.5], "regression", "target 't' holds 4 distinct numbers"),
        (list(range(30)), "regression", "target 't' holds 30 distinct numbers"),
    ],
)
def test_task_is_inferred_with_its_reason(values: list, task: str, reason: str) -> None:
    decision = roles.decide_task(pd.Series(values, name="t"))
    assert (decision.value, decision.reason) == (task, reason)


def test_task_flag_wins_and_is_checked() -> None:
    assert roles.decide_task(pd.Series([1, 2, 3, 4], name="t"), "multiclass").value == (
        "multiclass"
    )
    with pytest.raises(ConfigError, match=r"data\.task is binary but target 't' has 3 classes"):
        roles.decide_task(pd.Series([1, 2, 3], name="t"), "binary")


def test_a_target_with_one_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"target 't' has a single value \('a'\) in all 3"):
        roles.decide_task(pd.Series(["a", "a", "a"], name="t"))


@pytest.mark.parametrize(
    ("values", "positive", "reason"),
    [
        (pd.array([True, False, False], dtype="boolean"), "True", "a yes/no target"),
        ([0, 1, 1, 1], "1", "a 0/1 target: 1 is the positive class"),
        (["stay"] * 7 + ["churn"] * 3, "churn", "the rarer class (3 of 10 rows, 30%)"),
        (["a", "b"] * 3, "b", "the classes are equally frequent: the last in sort order"),
    ],
)
def test_positive_class(values: object, positive: str, reason: str) -> None:
    decision = roles.decide_positive_class(pd.Series(values, name="t"), "binary")
    assert decision.value == positive and decision.reason.startswith(reason)


def test_positive_class_flag_must_be_a_class_and_only_for_binary() -> None:
    target = pd.Series(["no", "yes", "no"], name="t")
    assert roles.decide_positive_class(target, "binary", "no").value == "no"
    with pytest.raises(RoleError, match=r"'maybe' is not a class of target 't'; its classes "):
        roles.decide_positive_class(target, "binary", "maybe")
    with pytest.raises(RoleError, match="--positive-class is for binary targets; the task is"):
        roles.decide_positive_class(pd.Series([1, 2, 3], name="t"), "multiclass", "1")
    assert roles.decide_positive_class(pd.Series([1, 2, 3]), "multiclass").value is None


def test_ids_are_unique_and_named_or_written_like_ids_never_measurements() -> None:
    decision = roles.decide_id_columns(_frame(), "label")
    assert decision.value == ("customer", "CustomerID")
    assert decision.reason == (
        "customer: unique text per row; "
        "CustomerID: a different whole number in every row, named like an id"
    )


def test_a_few_unique_text_values_are_not_ids_but_a_named_id_is() -> None:
    small = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "order_key": ["a", "b", "c"]})
    assert roles.decide_id_columns(small, "x").value == ("order_key",)


@pytest.mark.parametrize(
    "name", ["id", "customer_id", "CustomerID", "orderKey", "uuid", "rownames", "Unnamed: 0"]
)
def test_id_names(name: str) -> None:
    assert roles.name_like_id(name)


@pytest.mark.parametrize("name", ["income", "idle_time", "android", "keyboard_count", "video"])
def test_names_that_only_contain_id_letters_are_not_ids(name: str) -> None:
    assert not roles.name_like_id(name)


def test_a_repeated_value_or_a_float_is_not_an_id() -> None:
    frame = pd.DataFrame({"user_id": [1, 2, 2, 3], "row_id": [1.5, 2.5, 3.5, 4.5], "y": [0] * 4})
    assert roles.decide_id_columns(frame, "y").value == ()


def test_id_flag_wins_and_is_checked() -> None:
    frame = _frame()
    assert roles.decide_id_columns(frame, "label", ()).value == ()
    assert roles.decide_id_columns(frame, "label", ("customer",)).value == ("customer",)
    with pytest.raises(
        RoleError, match=r"--id-columns names 'plan', whose values repeat \(\d+ row"
    ):
        roles.decide_id_columns(frame, "label", ("plan",))
    with pytest.raises(RoleError, match=r"--id-columns names \['nope'\], not columns"):
        roles.decide_id_columns(frame, "label", ("nope",))
    with pytest.raises(RoleError, match="--id-columns names the target 'label'"):
        roles.decide_id_columns(frame, "label", ("label",))


def test_date_column_is_the_iso_date_column() -> None:
    decision = roles.decide_date_column(_frame(), "label", ("customer",))
    assert decision.value == "signup"
    assert decision.reason == "the only date column (2022-01-01 to 2022-02-09)"


def test_of_several_date_columns_the_one_named_like_a_date_wins() -> None:
    frame = pd.DataFrame(
        {
            "birthday": pd.to_datetime(["1990-01-01", "1991-01-01", "1992-01-01"]),
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
            "y": [1, 2, 3],
        }
    )
    decision = roles.decide_date_column(frame, "y")
    assert decision.value == "order_date"
    assert decision.reason.endswith("named like a date; also dates: birthday")


def test_no_date_column_and_the_date_flag() -> None:
    frame = _frame().drop(columns="signup")
    assert roles.decide_date_column(frame, "label").value is None
    explicit = roles.decide_date_column(_frame(), "label", requested=None, explicit=True)
    assert (explicit.value, explicit.reason) == (None, "--date-column none")
    with pytest.raises(RoleError, match="--date-column 'plan' holds text like 'basic', not da"):
        roles.decide_date_column(_frame(), "label", requested="plan", explicit=True)


def test_slices_are_text_or_boolean_columns_with_enough_rows_per_value() -> None:
    decision = roles.decide_slices(_frame(), {"label", "customer", "signup"}, min_rows=15)
    # city: one value holds 38 rows, the other two 1 each: a single reportable slice.
    assert decision.value == ("plan", "member")
    assert decision.reason == (
        "plan: categorical, 2 values, 2 with >= 15 rows; member: boolean, 2 values, 2 with "
        ">= 15 rows"
    )
    assert roles.decide_slices(_frame(), {"label"}, min_rows=21).value == ()


def test_at_most_three_slices_those_covering_most_rows_first() -> None:
    rows = 120
    frame = pd.DataFrame(
        {f"c{i}": (["a", "b", "c"] * rows)[:rows] for i in range(4)} | {"y": [0, 1] * 60}
    )
    frame["c1"] = ["a"] * 100 + ["b"] * 10 + ["c"] * 10  # b and c too small: covers less
    assert roles.decide_slices(frame, {"y"}, min_rows=20).value == ("c0", "c2", "c3")


def test_slices_flag_is_checked() -> None:
    assert roles.decide_slices(_frame(), {"label"}, 30, ()).value == ()
    with pytest.raises(RoleError, match=r"--slices names \['region'\], not columns"):
        roles.decide_slices(_frame(), {"label"}, 30, ("region",))
    assert roles.decide_slices(_frame(), {"label"}, 30, ("plan",)).value == ("plan",)
    with pytest.raises(RoleError, match=r"--slices names 'income', which is not categorical") as e:
        roles.decide_slices(_frame(), {"label", "customer", "signup"}, 30, ("income",))
    assert "plan, city, member" in str(e.value)
    with pytest.raises(RoleError, match="--slices names 'label', the target, an id or the date"):
        roles.decide_slices(_frame(), {"label"}, 30, ("label",))


def test_slice_rows_needed_scales_the_test_minimum_to_the_table() -> None:
    assert roles.slice_rows_needed(30, 0.2) == 150
    assert roles.slice_rows_needed(5, 0.25) == 20


@pytest.mark.parametrize(
    ("values", "task", "date", "current", "method"),
    [
        (["a", "b", "a", "b"], "binary", None, "stratified", "stratified"),
        ([1.5, 2.5, 3.5], "regression", None, "stratified", "random"),
        (["a", "b", "b", "c"], "multiclass", None, "stratified", "random"),  # 'a' once
        (["a", "b", "a", "b"], "binary", "day", "time", "time"),
        (["a", "b", "a", "b"], "binary", None, "time", "stratified"),
        (["a", "b", "a", "b"], "binary", None, "random", "random"),
    ],
)
def test_split_method(
    values: list, task: str, date: str | None, current: str, method: str
) -> None:
    assert roles.decide_split_method(pd.Series(values), task, date, current).value == method


def test_a_table_of_only_target_ids_and_date_has_no_feature() -> None:
    with pytest.raises(
        RoleError, match=r"no usable feature: every column \(id, day, y\) is the target, an id "
    ):
        roles.check_features(["id", "day", "y"], "y", ("id",), "day")
    roles.check_features(["id", "day", "x", "y"], "y", ("id",), "day")
