"""Train/test splits: stratified keeps class shares, seeded, time split orders by date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.data.split import (
    SplitError,
    SplitKeys,
    SplitPlan,
    date_column_problem,
    decide_split,
    in_test,
    merge_split_keys,
    split_keys,
    split_table,
)
from mlpipe.rowhash import row_hash


def _frame(n: int = 50, positives: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": range(n),
            "y": [i < positives for i in range(n)],
            "day": pd.date_range("2024-01-01", periods=n, freq="D")[::-1],
        }
    )


def test_stratified_keeps_class_shares_and_every_row_once() -> None:
    frame = _frame(50, 10)
    train, test = split_table(frame, "y", "stratified", 0.2, seed=1)
    assert (len(train), len(test)) == (40, 10)
    assert test["y"].sum() == 2 and train["y"].sum() == 8  # 20% positives on both sides
    assert sorted(train["row"].tolist() + test["row"].tolist()) == list(range(50))
    # input order is kept inside each part
    assert train["row"].is_monotonic_increasing and test["row"].is_monotonic_increasing
    assert list(train.index) == list(range(40))


@pytest.mark.parametrize("method", ["stratified", "random"])
def test_same_seed_same_split_other_seed_other_split(method: str) -> None:
    frame = _frame()
    a = split_table(frame, "y", method, 0.3, seed=5)[1]["row"].tolist()
    b = split_table(frame, "y", method, 0.3, seed=5)[1]["row"].tolist()
    c = split_table(frame, "y", method, 0.3, seed=6)[1]["row"].tolist()
    assert a == b and a != c
    assert len(a) == 15


def test_stratified_multiclass_shares() -> None:
    frame = pd.DataFrame({"y": ["a"] * 20 + ["b"] * 10 + ["c"] * 10})
    train, test = split_table(frame, "y", "stratified", 0.5, seed=0)
    assert test["y"].value_counts().to_dict() == {"a": 10, "b": 5, "c": 5}
    assert train["y"].value_counts().to_dict() == {"a": 10, "b": 5, "c": 5}


def test_time_split_puts_the_latest_rows_in_test() -> None:
    frame = _frame(10, 3)
    train, test = split_table(frame, "y", "time", 0.3, seed=0, date_column="day")
    assert len(test) == 3
    assert test["day"].min() > train["day"].max()
    assert test["row"].tolist() == [0, 1, 2]  # days run backwards in _frame


def test_time_split_keeps_a_day_together() -> None:
    frame = pd.DataFrame(
        {"y": [0, 1] * 5, "day": pd.to_datetime(["2024-01-01"] * 6 + ["2024-01-02"] * 4)}
    )
    train, test = split_table(frame, "y", "time", 0.3, seed=0, date_column="day")
    assert (len(train), len(test)) == (6, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"method": "random", "test_size": 0.01},
            "split.test_size=0.01 leaves 0 test rows out of 50; choose a value that leaves "
            "at least one row on each side",
        ),
        (
            {"method": "kfold", "test_size": 0.2},
            "unknown split method 'kfold'; use stratified, random or time",
        ),
        (
            {"method": "time", "test_size": 0.2},
            "split.method=time needs data.date_column in params.yaml",
        ),
        (
            {"method": "time", "test_size": 0.2, "date_column": "when"},
            "data.date_column 'when' is not a column of the table",
        ),
    ],
)
def test_split_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SplitError) as caught:
        split_table(_frame(), "y", seed=0, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        # text kept by ingest: an unrecognised form, or one that reads both ways
        (["13-01-2020", "14-01-2020"], "text like '13-01-2020'"),
        (["01/02/2020", "02/01/2020"], "text like '01/02/2020'"),
        ([20200113, 20200114], "numbers like '20200113'"),
    ],
)
def test_a_time_split_on_a_date_column_that_holds_no_dates_says_how_to_fix_it(
    values: list, shown: str
) -> None:
    frame = pd.DataFrame({"y": [0, 1] * 5, "visit_date": values * 5})
    with pytest.raises(SplitError) as caught:
        split_table(frame, "y", "time", 0.2, seed=0, date_column="visit_date")
    assert str(caught.value) == (
        f"data.date_column 'visit_date' holds {shown}, not dates: ingest reads ISO dates "
        "(2020-01-13) and common forms such as 31/01/2020 or Jan 31, 2020 (data.date_format "
        "sets another); convert the column or use split.method: random/stratified"
    )


def test_date_column_problem_is_none_for_dates_with_or_without_a_zone() -> None:
    days = pd.Series(pd.date_range("2024-01-01", periods=3), name="d")
    assert date_column_problem(days) is None
    assert date_column_problem(days.dt.tz_localize("Europe/Berlin")) is None


def test_time_split_on_zoned_dates_orders_them_in_time() -> None:
    # 23:30 UTC on 1 Jan is 00:30 on 2 Jan in Berlin: the same instants, the same order.
    stamps = pd.date_range("2024-01-01 20:30", periods=10, freq="h", tz="UTC")
    frame = pd.DataFrame({"y": [0, 1] * 5, "t": stamps.tz_convert("Europe/Berlin")})
    train, test = split_table(frame, "y", "time", 0.3, seed=0, date_column="t")
    assert len(test) == 3 and test["t"].min() > train["t"].max()


def test_stratified_needs_two_rows_per_class() -> None:
    frame = pd.DataFrame({"y": ["a"] * 9 + ["b"]})
    with pytest.raises(SplitError) as caught:
        split_table(frame, "y", "stratified", 0.2, seed=0)
    assert str(caught.value) == (
        "split.method=stratified needs at least 2 rows per class; classes ['b'] of 'y' have "
        "fewer. Use split.method: random or collect more rows"
    )


REGRESSION_MESSAGE = (
    "split.method=stratified needs classes, but 'score' is a regression target "
    "(task: regression). Set split.method: random in params.yaml"
)


def test_stratified_on_a_regression_target_whose_values_repeat_names_the_task() -> None:
    """The user review's case: scores that repeat (few distinct values, some seen once) got
    'needs at least 2 rows per class; classes [...]', or, when all repeat, were stratified on
    their raw values without a word."""
    seen_once = pd.DataFrame({"score": [1.0, 2.0, 3.0] * 10 + [4.0]})  # 4 values in 31 rows
    all_repeat = pd.DataFrame({"score": [10, 20, 30, 40] * 10})
    for frame in (seen_once, all_repeat):
        with pytest.raises(SplitError) as caught:
            split_table(frame, "score", "stratified", 0.2, seed=0, task="regression")
        assert str(caught.value) == REGRESSION_MESSAGE
    # without the task: the old class message for values seen once, and a (class) split
    with pytest.raises(SplitError, match=r"needs at least 2 rows per class; classes \[4\.0\]"):
        split_table(seen_once, "score", "stratified", 0.2, seed=0)
    assert len(split_table(all_repeat, "score", "stratified", 0.2, seed=0)[1]) == 8
    # random works for the same regression table, and other tasks still stratify
    train, test = split_table(all_repeat, "score", "random", 0.2, seed=0, task="regression")
    assert (len(train), len(test)) == (32, 8)
    train, test = split_table(_frame(50, 10), "y", "stratified", 0.2, seed=1, task="binary")
    assert test["y"].sum() == 2


def test_time_split_rejects_missing_dates_and_a_single_date() -> None:
    frame = _frame(10)
    frame.loc[3, "day"] = pd.NaT
    with pytest.raises(SplitError, match="'day' has 1 missing dates; a time split needs every"):
        split_table(frame, "y", "time", 0.2, seed=0, date_column="day")
    same = pd.DataFrame({"y": [0, 1] * 5, "day": pd.to_datetime(["2024-01-01"] * 10)})
    with pytest.raises(SplitError, match="all rows share the date 2024-01-01 00:00:00"):
        split_table(same, "y", "time", 0.2, seed=0, date_column="day")


def _keys_in_pieces(frame: pd.DataFrame, plan: SplitPlan, cuts: list[int]) -> SplitKeys:
    keys = SplitKeys()
    for start, end in zip([0, *cuts], [*cuts, len(frame)], strict=True):
        keys = merge_split_keys(keys, split_keys(frame.iloc[start:end], plan))
    return keys


@pytest.mark.parametrize("method", ["stratified", "random", "time"])
def test_any_cut_of_the_table_gives_the_same_test_rows(method: str) -> None:
    """Each row's side is decided from the row: keys of chunks cut anywhere, merged in order,
    give the mask of the whole table; the counts are exact (round(rows * test_size) per
    class) and the rows are not the first ones."""
    rng = np.random.default_rng(0)
    n = 1000
    frame = pd.DataFrame(
        {
            "y": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 50, n), "D"),
        }
    )
    plan = SplitPlan(method, "y", 0.3, 4, "day", ("y", "day"))
    whole = decide_split(plan, split_keys(frame, plan), n)
    expected = in_test(frame, whole)
    for cuts in ([1], [333, 334, 900], list(range(7, n, 7))):
        rule = decide_split(plan, _keys_in_pieces(frame, plan, cuts), n)
        assert np.array_equal(in_test(frame, rule), expected), cuts
    if method == "stratified":
        counts = frame["y"].value_counts()
        assert frame["y"][expected].value_counts().to_dict() == (counts * 0.3).round().to_dict()
    elif method == "random":
        assert expected.sum() == 300 and not expected[:300].all()
    else:  # the higher 0.7 quantile of the dates, as pandas computes it
        cut = frame["day"].quantile(0.7, interpolation="higher")
        assert np.array_equal(expected, (frame["day"] >= cut).to_numpy())


@pytest.mark.parametrize("rows", [2, 3, 10, 11, 97, 1000])
@pytest.mark.parametrize("test_size", [0.1, 0.2, 0.25, 0.5, 0.9])
def test_the_time_cut_is_the_exact_quantile_of_the_merged_counts(
    rows: int, test_size: float
) -> None:
    rng = np.random.default_rng(rows)
    days = pd.Series(
        pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 5 + rows, rows), "D")
    )
    frame = pd.DataFrame({"day": days})
    plan = SplitPlan("time", "y", test_size, 0, "day", ("day",))
    if round(rows * test_size) < 1 or round(rows * test_size) >= rows:
        return
    cut = days.quantile(1 - test_size, interpolation="higher")
    if cut == days.min():
        return  # every row would be a test row: refused (tested above)
    keys = _keys_in_pieces(frame, plan, list(range(1, rows, 3)))
    assert decide_split(plan, keys, rows).cut == cut


def test_row_hashes_are_distinct_and_the_split_changes_with_the_seed() -> None:
    rows = np.arange(100_000)
    assert len(np.unique(row_hash(rows, 42))) == len(rows)
    assert not np.array_equal(row_hash(rows, 42), row_hash(rows, 43))
