"""Per-row test predictions: the table evaluate writes and how two revisions' rows pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.evaluation.metrics import Predictions
from mlpipe.evaluation.rows import pair, prediction_rows, row_hashes, scored, task_of


def _rows(ids: list[str] | None, labels: list[str], hashes: list[int] | None = None):
    n = len(labels)
    score = np.linspace(0.1, 0.9, n)
    p = Predictions(
        np.asarray(labels, dtype=object),
        np.where(score >= 0.5, "yes", "no").astype(object),
        np.column_stack([1 - score, score]),
        ("no", "yes"),
    )
    id_frame = pd.DataFrame({"customer_id": ids}) if ids else pd.DataFrame(index=range(n))
    hashes_ = np.arange(n) if hashes is None else np.asarray(hashes)
    return prediction_rows(p, id_frame, hashes_, "binary")


def test_the_table_has_ids_row_hash_labels_and_probabilities() -> None:
    frame = _rows(["c1", "c2", "c3"], ["no", "yes", "no"])
    assert list(frame.columns) == [
        "customer_id",
        "row",
        "row_hash",
        "y_true",
        "y_pred",
        "proba:no",
        "proba:yes",
    ]
    assert frame["y_pred"].tolist() == ["no", "yes", "yes"]
    assert frame["proba:yes"].tolist() == pytest.approx([0.1, 0.5, 0.9])
    assert task_of(frame) == "binary"
    s = scored(frame)
    assert s.y.tolist() == [False, True, False] and s.score.tolist() == pytest.approx(
        [0.1, 0.5, 0.9]
    )
    assert scored(frame, "no").y.tolist() == [True, False, True]  # data.positive_class


def test_an_id_column_named_like_ours_is_stored_apart() -> None:
    p = Predictions(np.array([1.0, 2.0]), np.array([1.5, 2.5]))
    frame = prediction_rows(p, pd.DataFrame({"row": ["a", "b"]}), np.array([5, 6]), "regression")
    assert list(frame.columns) == ["id:row", "row", "row_hash", "y_true", "y_pred"]
    assert frame["row"].tolist() == [0, 1] and frame["id:row"].tolist() == ["a", "b"]
    assert task_of(frame) == "regression"


def test_row_hashes_follow_the_values_not_the_batches() -> None:
    table = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "x", None]})
    whole = row_hashes([table])
    assert np.array_equal(row_hashes([table.iloc[:1], table.iloc[1:]]), whole)
    assert len(set(whole.tolist())) == 4
    changed = table.assign(a=[1, 2, 3, 5])
    assert (row_hashes([changed]) != whole).tolist() == [False, False, False, True]


def test_same_ids_pair_in_the_pr_order_even_when_shuffled() -> None:
    base = _rows(["c1", "c2", "c3"], ["no", "yes", "no"])
    pr = base.iloc[[2, 0, 1]].reset_index(drop=True)
    pairing = pair(base, pr)
    assert pairing.paired and pairing.by == "id `customer_id`" and pairing.common == 3
    assert base["customer_id"].to_numpy()[pairing.base_rows].tolist() == ["c3", "c1", "c2"]
    assert pairing.pr_rows.tolist() == [0, 1, 2]


def test_other_ids_or_other_labels_are_unpaired_and_say_why() -> None:
    base = _rows(["c1", "c2", "c3"], ["no", "yes", "no"])
    moved = pair(base, _rows(["c1", "c2", "c9", "c8"], ["no", "yes", "no", "no"]))
    assert not moved.paired and moved.common == 2
    assert moved.reason == (
        "3 base rows, 4 PR rows, 2 with the same id `customer_id` on both sides: the split or "
        "the data changed"
    )
    relabelled = pair(base, _rows(["c1", "c2", "c3"], ["yes", "yes", "no"]))
    assert not relabelled.paired
    assert relabelled.reason == (
        "the same rows (by id `customer_id`), but 1 of them have another label: the target changed"
    )


def test_without_ids_rows_pair_by_position_when_every_hash_is_equal() -> None:
    base = _rows(None, ["no", "yes", "no"], hashes=[11, 12, 13])
    assert pair(base, _rows(None, ["no", "yes", "no"], hashes=[11, 12, 13])).paired
    other = pair(base, _rows(None, ["no", "yes", "no"], hashes=[11, 13, 14]))
    assert not other.paired and other.common == 2 and other.by == "position"
    assert other.reason.startswith("3 base rows, 3 PR rows, 2 with the same values")
    # duplicated ids cannot pair rows: position and hashes decide
    dup = _rows(["c1", "c1", "c3"], ["no", "yes", "no"], hashes=[1, 2, 3])
    assert pair(dup, dup).by == "position" and pair(dup, dup).paired


def test_a_data_derived_id_name_is_escaped_in_the_reason() -> None:
    base = _rows(["c1", "c2"], ["no", "yes"]).rename(columns={"customer_id": "@team|id"})
    pr = _rows(["c1", "c9"], ["no", "yes"]).rename(columns={"customer_id": "@team|id"})
    reason = pair(base, pr).reason
    assert "2 base rows, 2 PR rows, 1 with the same id <code>&#64;team&#124;id</code>" in reason
