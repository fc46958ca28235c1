"""Yes/no columns: the 95 % rule numbers have, the same warnings, and chunk-size invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    YES_NO,
    convert_chunk,
    normalize,
    normalize_chunks,
    report_warnings,
    yes_no,
)

NA = CsvConfig().na_values


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Yes", "yes", "Y", "no", "N"], [True, True, True, False, False]),
        (["TRUE", "false", "t", "F"], [True, False, True, False]),
        (["yes", "NA", "no"], [True, None, False]),
    ],
)
def test_yes_no_text_becomes_boolean(values: list[str], expected: list[bool | None]) -> None:
    out, report = normalize(pd.DataFrame({"b": values}), NA)
    assert str(out["b"].dtype) == "boolean"
    assert [None if pd.isna(v) else bool(v) for v in out["b"]] == expected
    assert report.to_boolean == {"b": sum(v is not None for v in expected)}


def test_zero_one_text_is_a_number_not_a_boolean() -> None:
    out, report = normalize(pd.DataFrame({"flag": ["0", "1", "1"]}), NA)
    assert out["flag"].tolist() == [0, 1, 1] and out["flag"].dtype == np.int64
    assert report.to_boolean == {}


def _values(series: pd.Series) -> list[bool | None]:
    return [None if pd.isna(v) else bool(v) for v in series]


def _organic() -> list[str]:
    """The review's `organic` column: 141 yes/no values in 4 spellings, 36 NA, one 'maybe'."""
    return ["maybe"] + ["Yes", "n", "Y", "no", "NA"] * 26 + ["Y", "n", "Yes"] * 10 + ["n"] * 7


def test_the_review_column_becomes_boolean_with_the_stray_value_missing() -> None:
    raw = _organic()
    table, report = normalize(pd.DataFrame({"organic": raw}), NA)
    assert str(table["organic"].dtype) == "boolean"
    expected = [
        None if v in ("maybe", "NA") else v.lower() in ("yes", "y") for v in raw
    ]  # Y/Yes are one value, n/no the other: 2 categories, not 5
    assert _values(table["organic"]) == expected
    assert int(table["organic"].sum()) == 26 * 2 + 20 and table["organic"].isna().sum() == 27
    assert report.to_boolean == {"organic": len(raw) - 27}
    assert report.unparsed_boolean == {"organic": 1}
    assert report.to_missing == {"organic": 26}  # the NA markers, counted apart
    assert report.as_dict()["unparseable_boolean_to_missing"] == {"organic": 1}
    assert report_warnings(report) == [
        f"column 'organic': 1 value(s) are not {YES_NO} and became missing values, e.g. 'maybe'"
    ]


@pytest.mark.parametrize(
    ("bad", "kind"),
    [(1, "boolean"), (2, "string"), (4, "string")],  # 95 %, 90 %, 80 % of 20 values are yes/no
)
def test_the_share_decides_like_the_numeric_rule(bad: int, kind: str) -> None:
    raw = ["yes", "no"] * 10
    raw[-bad:] = ["maybe", "unknown", "maybe", "later"][:bad]
    table, report = normalize(pd.DataFrame({"b": raw}), NA)
    assert str(table["b"].dtype) == kind
    if kind == "boolean":
        assert _values(table["b"])[-2:] == [True, None]
        assert report.unparsed_boolean == {"b": 1} and report.near_boolean == {}
        return
    # Stays text: every value as written, and a warning naming what kept it from boolean.
    assert table["b"].tolist() == raw and report.to_boolean == {}
    examples = ("maybe", "unknown", "later")[: min(bad, 3)]
    assert report.near_boolean == {"b": (bad, 20, examples)}
    share = {2: "90", 4: "80"}[bad]
    assert report_warnings(report) == [
        f"column 'b': stays text (categorical) although {share}% of its values are yes/no: "
        f"{bad} value(s) are not, e.g. {', '.join(repr(e) for e in examples)}. If they are "
        "errors, correct them in the source or add them to data.csv.na_values (missing "
        "values); a feature column whose values are at least 95% yes/no is read as boolean "
        "(the target only when all are)"
    ]


def test_a_mostly_other_column_stays_text_without_a_warning() -> None:
    raw = ["yes", "no"] * 7 + ["maybe", "unknown", "later"] * 2  # 70 % yes/no
    table, report = normalize(pd.DataFrame({"b": raw}), NA)
    assert table["b"].tolist() == raw and report.near_boolean == {} and not report_warnings(report)


@pytest.mark.parametrize(
    "raw",
    [
        ["F"] * 39 + ["M"],  # sex codes: 'F' only looks like false, there is no true value
        ["Y"] * 39 + ["X"],  # one answer only
        ["2", "3", "f"] + ["0", "1"] * 20,  # a count column: numeric wins, 'f' is unparseable
    ],
)
def test_columns_that_only_look_boolean_are_not_converted(raw: list[str]) -> None:
    table, report = normalize(pd.DataFrame({"c": raw}), NA)
    assert report.to_boolean == {} and report.near_boolean == {}
    if raw[0] == "2":
        assert table["c"].dtype == "float64" and table["c"].tolist()[:2] == [2.0, 3.0]
        assert report.unparsed_numeric == {"c": 1} and pd.isna(table["c"].iloc[2])
    else:
        assert table["c"].tolist() == raw


def test_a_target_keeps_a_rare_class_instead_of_losing_it() -> None:
    raw = ["yes", "no"] * 19 + ["maybe", "maybe"]  # 95 % yes/no: a feature would be boolean
    frame = pd.DataFrame({"y": raw})
    as_feature, _ = normalize(frame, NA)
    assert str(as_feature["y"].dtype) == "boolean"
    table, report = normalize(frame, NA, labels=("y",))
    assert table["y"].tolist() == raw and report.unparsed_boolean == {}
    assert report.near_boolean == {"y": (2, 40, ("maybe",))}  # still named, in case it is a typo
    assert (
        normalize(pd.DataFrame({"y": ["yes", "no"] * 3}), NA, labels=("y",))[0]["y"].dtype
        == "boolean"
    )


@pytest.mark.parametrize(
    ("raw", "expected", "unparsed"),
    [
        (["1", "0", "1"], [True, False, True], 0),  # 1/0 digits: a number without the schema
        (["yes"] * 19 + ["maybe"], [True] * 19 + [None], 1),  # a batch with one answer
        (["0", "1"] * 10 + ["2"], [False, True] * 10 + [None], 1),
    ],
)
def test_a_column_the_schema_declares_boolean_needs_only_the_share(
    raw: list[str], expected: list[bool | None], unparsed: int
) -> None:
    table, report = normalize(pd.DataFrame({"b": raw}), NA, booleans=("b",))
    assert _values(table["b"]) == expected
    assert report.unparsed_boolean == ({"b": unparsed} if unparsed else {})
    without, _ = normalize(pd.DataFrame({"b": raw}), NA)
    assert str(without["b"].dtype) != "boolean"


def test_a_schema_boolean_column_below_the_share_stays_text() -> None:
    raw = ["yes", "no", "maybe", "yes", "maybe"]
    table, report = normalize(pd.DataFrame({"b": raw}), NA, booleans=("b",))
    assert table["b"].tolist() == raw and report.to_boolean == {}


def test_yes_no_reads_any_case_and_padding_and_nothing_else() -> None:
    values = pd.Series([" Yes", "NO ", "t", "F", "1", "0", "maybe", None, "", "01"], dtype=object)
    assert _values(yes_no(values)) == [
        True,
        False,
        True,
        False,
        True,
        False,
        None,
        None,
        None,
        None,
    ]


def _late_evidence() -> pd.DataFrame:
    """40 rows; the values that decide each column come late or in an early chunk only."""
    yes_no_40 = ["Yes", "n", "Y", "no"] * 10
    return pd.DataFrame(
        {
            "stray_first": ["maybe", *yes_no_40[1:]],  # boolean, first value missing
            "strays_late": yes_no_40[:34] + ["maybe", "unsure", "later"] * 2,  # text, warned
            "all_yes_then_no": ["yes"] * 38 + ["no", "perhaps"],  # boolean: 'no' at row 39
            "codes": ["F"] * 39 + ["M"],  # text, no warning
            "counts_then_word": ["0", "1"] * 19 + ["2", "n"],  # float64, 'n' unparseable
        }
    )


@pytest.mark.parametrize("size", [1, 2, 3, 7, 13, 39, 40, 1000])
def test_chunked_booleans_equal_the_whole_table(size: int) -> None:
    raw = _late_evidence()
    whole, whole_report = normalize(raw, NA)
    assert {c: str(t) for c, t in whole.dtypes.items()} == {
        "stray_first": "boolean",
        "strays_late": "string",
        "all_yes_then_no": "boolean",
        "codes": "string",
        "counts_then_word": "float64",
    }
    assert whole_report.unparsed_boolean == {"stray_first": 1, "all_yes_then_no": 1}
    assert whole_report.unparsed_examples == {
        "stray_first": ("maybe",),
        "all_yes_then_no": ("perhaps",),
        "counts_then_word": ("n",),
    }
    assert whole_report.near_boolean == {"strays_late": (6, 40, ("maybe", "unsure", "later"))}
    chunks = [raw.iloc[i : i + size] for i in range(0, len(raw), size)]
    plan = normalize_chunks(lambda: iter(chunks), NA)
    chunked = pd.concat([convert_chunk(c, plan) for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert plan.report == whole_report  # counts, examples and warnings
