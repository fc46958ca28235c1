"""Label issues: cleanlab on out-of-fold probabilities finds labels flipped at random in real
tables, lists few rows per flip, and says why it did not run (regression, rare classes)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlpipe.audit.labels import LabelIssues, issue_table, source_rows
from mlpipe.audit.table import Audit, audit_table, sample_positions
from mlpipe.config import AuditConfig
from support.audit import roles

DEFAULT = AuditConfig()


def _flip(frame: pd.DataFrame, target: str, share: float, seed: int) -> tuple[pd.DataFrame, set]:
    """``share`` of the labels replaced by another class, chosen with ``seed``."""
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=round(share * len(frame)), replace=False)
    labels = frame[target].astype(str).to_numpy(dtype=object)
    classes = sorted(set(labels))
    for row in rows:
        others = [c for c in classes if c != labels[row]]
        labels[row] = others[rng.integers(len(others))]
    return frame.assign(**{target: labels}), {int(r) for r in rows}


def _audit(frame: pd.DataFrame, target: str, config: AuditConfig = DEFAULT, **kw) -> Audit:
    schema, spec = roles(frame, target)
    return audit_table(
        frame,
        spec,
        target,
        schema.task,
        schema.classes,
        config,
        positions=kw.pop("positions", np.arange(len(frame))),
        total_rows=kw.pop("total_rows", len(frame)),
        **kw,
    )


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@pytest.mark.parametrize(
    ("load", "target", "seed"), [(_penguins, "species", 1), (_breast_cancer, "target", 2)]
)
def test_labels_flipped_at_random_are_found_with_few_false_alarms(load, target, seed) -> None:
    frame, flipped = _flip(load(), target, share=0.05, seed=seed)
    table = _audit(frame, target).label_issues
    listed = set(table["row"])
    found = listed & flipped
    assert len(found) >= 0.6 * len(flipped), (len(found), len(flipped))
    assert len(listed) <= 3 * len(flipped), (len(listed), len(flipped))
    # each listed flip: the given label is the flipped one, the suggestion is another class
    for record in table[table["row"].isin(found)].to_dict("records"):
        assert record["given_label"] == frame[target].iloc[record["row"]]
        assert record["suggested_label"] != record["given_label"]


def test_the_table_is_worst_first_with_source_rows_ids_and_labels() -> None:
    frame, _ = _flip(_penguins(), "species", share=0.05, seed=1)
    frame.insert(0, "penguin", [f"p{i:03d}" for i in range(len(frame))])
    audit = _audit(frame, "species", id_columns=["penguin"])
    table = audit.label_issues
    assert list(table.columns) == [
        "row",
        "penguin",
        "given_label",
        "suggested_label",
        "label_quality",
    ]
    assert list(table["label_quality"]) == sorted(table["label_quality"])
    assert (table["label_quality"] < 0.5).all()
    assert list(table["penguin"]) == [f"p{r:03d}" for r in table["row"]]
    labels = audit.report["label_issues"]
    assert labels["computed"] and labels["checked_rows"] == len(frame)
    assert labels["count"] == len(table)
    assert labels["share"] == round(len(table) / len(frame), 6)
    top = labels["top"][0]
    first = table.iloc[0]
    assert top == {
        "row": int(first["row"]),
        "ids": {"penguin": first["penguin"]},
        "given": first["given_label"],
        "suggested": first["suggested_label"],
        "quality": float(first["label_quality"]),
    }
    assert len(labels["top"]) == min(10, len(table))


def test_rows_are_the_source_rows_of_the_sampled_positions() -> None:
    """The audit reads a seeded sample; a row number is its place in the source file."""
    frame, _ = _flip(_penguins(), "species", share=0.05, seed=2)
    positions = sample_positions(len(frame) * 3, len(frame), seed=4)  # 1 in 3 of a bigger file
    assert list(source_rows(positions)) == list(positions)
    audit = _audit(frame, "species", positions=positions, total_rows=len(frame) * 3)
    table = audit.label_issues
    assert set(table["row"]) <= set(positions) and len(table) > 0
    assert audit.report["rows"] == len(frame) * 3 and audit.report["audited_rows"] == len(frame)


def test_the_same_data_gives_byte_identical_outputs() -> None:
    frame, _ = _flip(_penguins(), "species", share=0.05, seed=3)
    first, second = _audit(frame, "species"), _audit(frame, "species")
    assert json.dumps(first.report, sort_keys=True) == json.dumps(second.report, sort_keys=True)
    assert first.label_issues.to_csv(index=False) == second.label_issues.to_csv(index=False)


def test_regression_and_too_rare_classes_are_not_checked_and_say_why() -> None:
    from sklearn.datasets import load_diabetes

    regression = _audit(load_diabetes(as_frame=True).frame, "target")
    assert regression.report["label_issues"] == {
        "computed": False,
        "reason": "a regression target (label issues are found for classification only)",
        "top": [],
    }
    assert list(regression.label_issues.columns) == [
        "row",
        "given_label",
        "suggested_label",
        "label_quality",
    ]
    assert regression.label_issues.empty
    rng = np.random.default_rng(0)
    rare = pd.DataFrame({"x": rng.normal(size=60), "y": ["a"] * 30 + ["b"] * 27 + ["c"] * 3})
    labels = _audit(rare, "y").report["label_issues"]
    assert labels["computed"] is False
    assert labels["reason"] == (
        "class 'c' has 3 audited rows, fewer than audit.folds (5), so its labels cannot be "
        "checked out of fold"
    )


def test_an_id_column_named_like_the_tables_own_columns_keeps_its_values() -> None:
    issues = LabelIssues(np.array([1]), ("a",), ("b",), np.array([0.1]))
    ids = pd.DataFrame({"row": ["r0", "r1"], "key": [10, 11]})
    table = issue_table(issues, np.array([5, 6]), ids)
    assert table.to_dict("records") == [
        {
            "row": 6,
            "row (id)": "r1",
            "key": 11,
            "given_label": "a",
            "suggested_label": "b",
            "label_quality": 0.1,
        }
    ]
