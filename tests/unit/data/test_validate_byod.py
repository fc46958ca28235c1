"""Validation lists every violation with the rows concerned."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpipe.data.schema import infer_schema
from mlpipe.data.validate import validate_table


def _reference(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": rng.uniform(10, 100, n),
            "plan": rng.choice(["a", "b", "c"], n),
            "member": rng.random(n) < 0.5,
            "y": np.where(rng.random(n) < 0.4, "churn", "stay"),
        }
    )


def _rules(result) -> dict[tuple[str, str], str]:
    return {(v.column, v.rule): v.observed for v in result.errors}


def test_clean_data_passes_every_check() -> None:
    frame = _reference()
    result = validate_table(frame, infer_schema(frame, "y"))
    assert result.ok and result.checks > 10
    assert result.target_counts == {k: int(v) for k, v in frame["y"].value_counts().items()}


def test_every_violation_is_listed_at_once() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    bad = frame.drop(columns=["member"]).copy()
    bad.loc[:4, "plan"] = "z"  # 5 rows with a category outside the schema
    bad.loc[:49, "amount"] = np.nan  # too many missing
    bad.loc[95:, "amount"] = 1e6  # out of range
    bad.loc[0, "y"] = "upgrade"  # a class the schema does not know
    bad["extra"] = 1
    result = validate_table(bad, schema, extra_columns="fail")
    rules = _rules(result)
    assert rules[("member", "column present")] == "column is missing"
    assert rules[("plan", "allowed categories")] == "unknown categories 'z' x5"
    assert rules[("amount", "missing fraction <= 0")] == "0.5000 missing"
    assert rules[("amount", f"max {schema.column('amount').max:g}")] == "max seen 1e+06"
    assert rules[("y", "known classes")] == "classes not in the schema: ['upgrade']"
    assert rules[("extra", "known column")] == "column is not in the schema"
    assert rules[("y", "allowed categories")] == "unknown categories 'upgrade' x1"
    assert not result.ok and len(result.errors) == 7


def test_extra_columns_warn_by_default_and_unknown_policy_warn_is_a_warning() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    plan = schema.column("plan")
    relaxed = schema.__class__(
        target=schema.target,
        task=schema.task,
        classes=schema.classes,
        columns=tuple(
            s if s.name != "plan" else plan.__class__(**{**plan.__dict__, "unknown": "warn"})
            for s in schema.columns
        ),
    )
    bad = frame.assign(extra=1)
    bad.loc[:2, "plan"] = "new"
    result = validate_table(bad, relaxed)
    assert result.ok
    assert {(w.column, w.rule) for w in result.warnings} == {
        ("extra", "known column"),
        ("plan", "allowed categories"),
    }


def test_out_of_range_within_the_tolerated_share_passes() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    bad = frame.copy()
    bad.loc[:1, "amount"] = 1e6  # 2% of rows
    assert not validate_table(bad, schema).ok
    assert validate_table(bad, schema, max_invalid_fraction=0.05).ok


def test_text_in_a_numeric_column_is_named_with_examples() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    bad = frame.astype({"amount": object})
    bad.loc[:19, "amount"] = "unknown"
    rules = _rules(validate_table(bad, schema))
    assert rules[("amount", "type numeric")] == "values that are not numbers, e.g. ['unknown']"


def test_single_class_and_empty_labels_fail() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    one = validate_table(frame.assign(y="stay"), schema)
    assert _rules(one)[("y", "at least two classes")] == "only class 'stay'"
    empty = validate_table(frame.assign(y=None), schema)
    assert _rules(empty)[("y", "at least two classes")] == "no labelled rows"
    assert _rules(empty)[("y", "target present")] == (
        "missing labels; rows without a label cannot be used to train or evaluate: remove them "
        "from the source, or set data.unlabelled: drop (ingest sets them aside, to score later)"
    )


def test_regression_target_must_be_numeric() -> None:
    frame = _reference().assign(y=np.linspace(0, 1, 100))
    schema = infer_schema(frame, "y")
    assert schema.task == "regression"
    result = validate_table(frame.assign(y=["high"] * 100), schema)
    assert ("y", "numeric target") in _rules(result)


def test_text_in_a_boolean_column_is_named_with_its_rows() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    bad = frame.assign(member=np.where(frame["member"], "yes", "no").astype(object))
    bad.loc[[3, 40, 41], "member"] = ["maybe", "unknown", "maybe"]
    bad.loc[50, "member"] = " N "  # yes/no, whatever the case and padding
    result = validate_table(bad, schema)
    assert [str(v) for v in result.errors] == [
        "member: type boolean — values that are not yes/no (true/false, y/n, t/f, 1/0, any "
        "case), e.g. ['maybe', 'unknown'] (3 rows)"
    ]


def test_a_boolean_column_of_numbers_names_the_numbers_that_are_not_1_or_0() -> None:
    frame = _reference()
    schema = infer_schema(frame, "y")
    as_numbers = frame["member"].astype(float)
    as_numbers.iloc[7] = 2.0
    result = validate_table(frame.assign(member=as_numbers), schema)
    assert [str(v) for v in result.errors] == [
        "member: type boolean — values that are not yes/no (true/false, y/n, t/f, 1/0, any "
        "case), e.g. ['2'] (1 rows)"
    ]
    ones_and_zeros = validate_table(frame.assign(member=frame["member"].astype(int)), schema)
    assert [str(v) for v in ones_and_zeros.errors] == [
        "member: type boolean — dtype int64 (100 rows)"
    ]
