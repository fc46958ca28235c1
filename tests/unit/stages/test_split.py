"""`mlpipe split` streams the table in batches and writes what split_table gives in memory."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipe.data.split import SplitError, split_table
from mlpipe.io import InputError, read_parquet, write_json, write_parquet
from mlpipe.stages.split import run

BATCH_ROWS = 1000  # the smallest chunk the params allow: 2 500 rows make three batches


def _table(n: int = 2500) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "cid": [f"c{i}" for i in range(n)],
            "amount": rng.normal(size=n),
            "plan": pd.array(rng.choice(["a", "b", None], n), dtype="string"),
            "day": (
                pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D")
            ).astype("datetime64[ms]"),
            "y": rng.random(n) < 0.1,
        }
    )


def _args(tmp_path: Path, method: str, ok: bool = True) -> argparse.Namespace:
    params = {
        "data": {"target": "y", "date_column": "day"},
        "memory": {"chunk_rows": BATCH_ROWS},
        "split": {"method": method, "test_size": 0.25, "seed": 3},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    write_parquet(tmp_path / "in.parquet", _table())
    write_json(tmp_path / "validation.json", {"ok": ok})
    return argparse.Namespace(
        params=tmp_path / "params.yaml",
        input=str(tmp_path / "in.parquet"),
        validation=tmp_path / "validation.json",
        train=tmp_path / "train.parquet",
        test=tmp_path / "test.parquet",
    )


@pytest.mark.parametrize("method", ["stratified", "random", "time"])
def test_streamed_split_equals_the_in_memory_split(tmp_path: Path, method: str) -> None:
    args = _args(tmp_path, method)
    assert run(args) == 0
    train, test = read_parquet(args.train), read_parquet(args.test)
    expected_train, expected_test = split_table(_table(), "y", method, 0.25, 3, "day")
    pd.testing.assert_frame_equal(train, expected_train)
    pd.testing.assert_frame_equal(test, expected_test)
    assert len(train) + len(test) == 2500 and len(test) in range(620, 700)
    assert not set(train["cid"]) & set(test["cid"])
    if method == "stratified":
        assert test["y"].sum() == round(_table()["y"].sum() * 0.25)
    if method == "time":
        assert train["day"].max() < test["day"].min()


def test_a_time_split_on_text_dates_fails_before_writing(tmp_path: Path) -> None:
    args = _args(tmp_path, "time")
    table = _table().assign(day=lambda f: f["day"].dt.strftime("%d/%m/%Y"))
    write_parquet(args.input, table)
    with pytest.raises(SplitError) as caught:
        run(args)
    assert str(caught.value).startswith(
        f"data.date_column 'day' holds text like '{table['day'].iloc[0]}', not dates: ingest "
        "reads ISO dates (2020-01-13) and common forms"
    )
    assert not args.train.exists() and not args.test.exists()


def test_unvalidated_data_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    args = _args(tmp_path, "stratified", ok=False)
    with pytest.raises(InputError, match="did not pass validation"):
        run(args)
    assert not args.train.exists() and not args.test.exists()


@pytest.mark.parametrize(
    ("validation", "data_task"),
    [({"task": "regression"}, "auto"), ({}, "regression")],
    ids=["schema-task-in-validation-json", "data.task-in-params"],
)
def test_stratified_on_a_regression_task_gives_the_regression_message(
    tmp_path: Path, validation: dict, data_task: str
) -> None:
    """The task comes from validation.json (the schema's decided task) or data.task; the
    target's values repeat (40 distinct in 2 500 rows), which the class-count guess missed."""
    args = _args(tmp_path, "stratified")
    params = yaml.safe_load(args.params.read_text(encoding="utf-8"))
    params["data"] = {"target": "score", "task": data_task}
    args.params.write_text(yaml.safe_dump(params), encoding="utf-8")
    write_parquet(args.input, _table().assign(score=np.arange(2500) % 40 * 2.5))
    write_json(args.validation, {"ok": True, **validation})
    with pytest.raises(SplitError) as caught:
        run(args)
    assert str(caught.value) == (
        "split.method=stratified needs classes, but 'score' is a regression target "
        "(task: regression). Set split.method: random in params.yaml"
    )
    assert not args.train.exists() and not args.test.exists()
    params["split"]["method"] = "random"
    args.params.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert run(args) == 0 and len(read_parquet(args.test)) == 625
