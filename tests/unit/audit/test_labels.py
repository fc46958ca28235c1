"""Label issues: cleanlab on out-of-fold probabilities finds labels flipped at random in real
tables, lists few rows per flip, and says why it did not run (regression, rare classes)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

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


@dataclass(frozen=True)
class _Flipped:
    """A real table with 5 % of its labels flipped (seeded), audited as the rows at
    ``positions`` of a source three times its size (the audit reads a seeded sample)."""

    frame: pd.DataFrame
    target: str
    flipped: set[int]  # positions in ``frame``
    positions: np.ndarray
    audit: Audit


def _flipped(frame: pd.DataFrame, target: str, seed: int, ids: bool = False) -> _Flipped:
    frame, flipped = _flip(frame, target, share=0.05, seed=seed)
    positions = sample_positions(3 * len(frame), len(frame), seed=seed)
    if ids:  # the source's id of each row: its source row number
        frame.insert(0, "penguin", [f"p{r:04d}" for r in positions])
    audit = _audit(
        frame,
        target,
        positions=positions,
        total_rows=3 * len(frame),
        id_columns=["penguin"] if ids else [],
    )
    return _Flipped(frame, target, flipped, positions, audit)


@functools.cache
def _penguins_flipped() -> _Flipped:
    return _flipped(_penguins(), "species", seed=1, ids=True)


@pytest.mark.parametrize("case", ["penguins", "breast cancer"])
def test_labels_flipped_at_random_are_found_with_few_false_alarms(case: str) -> None:
    if case == "penguins":
        run = _penguins_flipped()
    else:
        run = _flipped(_breast_cancer(), "target", seed=2)
    table = run.audit.label_issues
    listed = set(table["row"])
    flipped_rows = {int(run.positions[i]) for i in run.flipped}
    found = listed & flipped_rows
    assert len(found) >= 0.6 * len(flipped_rows), (len(found), len(flipped_rows))
    assert len(listed) <= 3 * len(flipped_rows), (len(listed), len(flipped_rows))
    # each listed flip: the given label is the flipped one, the suggestion is another class
    given = dict(zip(run.positions.tolist(), run.frame[run.target], strict=True))
    for record in table[table["row"].isin(found)].to_dict("records"):
        assert record["given_label"] == given[record["row"]]
        assert record["suggested_label"] != record["given_label"]


def test_the_table_is_worst_first_with_source_rows_ids_and_labels() -> None:
    run = _penguins_flipped()
    table, report = run.audit.label_issues, run.audit.report
    assert list(table.columns) == [
        "row",
        "penguin",
        "given_label",
        "suggested_label",
        "label_quality",
    ]
    assert list(table["label_quality"]) == sorted(table["label_quality"])
    assert (table["label_quality"] < 0.5).all()
    # a row is its place in the source file: the sampled position, not the place in the sample
    assert list(source_rows(run.positions)) == list(run.positions)
    assert set(table["row"]) <= set(run.positions.tolist())
    assert list(table["penguin"]) == [f"p{r:04d}" for r in table["row"]]
    assert report["rows"] == 3 * len(run.frame) and report["audited_rows"] == len(run.frame)
    labels = report["label_issues"]
    assert labels["computed"] and labels["checked_rows"] == len(run.frame)
    assert labels["count"] == len(table)
    assert labels["share"] == round(len(table) / len(run.frame), 6)
    first = table.iloc[0]
    assert labels["top"][0] == {
        "row": int(first["row"]),
        "ids": {"penguin": first["penguin"]},
        "given": first["given_label"],
        "suggested": first["suggested_label"],
        "quality": float(first["label_quality"]),
    }
    assert len(labels["top"]) == min(10, len(table))
    json.dumps(report, allow_nan=False)  # JSON as it is: no numpy values, no NaN


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
    labels = _audit(rare, "y", AuditConfig(folds=4)).report["label_issues"]
    assert labels["computed"] is False
    assert labels["reason"] == (
        "class 'c' has 3 audited rows, fewer than audit.folds (4), so its labels cannot be "
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
