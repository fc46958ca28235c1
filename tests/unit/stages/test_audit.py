"""`mlpipe audit` in-process on a small table: the report, the CSV, the log, bad input."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipe.data.schema import dump_schema, infer_schema
from mlpipe.io import InputError, write_json, write_parquet
from mlpipe.stages.audit import run

ROWS = 1200


def _table() -> pd.DataFrame:
    """Hours are recorded only for people in work (the target): a leak, as in Mroz's data."""
    rng = np.random.default_rng(2)
    age = rng.integers(20, 65, ROWS)
    works = rng.random(ROWS) < 1 / (1 + np.exp((age - 40) / 8))
    return pd.DataFrame(
        {
            "person": [f"p{i:05d}" for i in range(ROWS)],
            "age": age,
            "kids": rng.integers(0, 4, ROWS),
            "hours": np.where(works, rng.normal(38, 6, ROWS).round(), np.nan),
            "works": works,
        }
    )


def _args(tmp_path: Path, ok: bool = True, **audit: object) -> argparse.Namespace:
    frame = _table()
    params = {
        "data": {"target": "works", "id_columns": ["person"], **audit.pop("data", {})},
        "audit": {"max_rows": 1000, **audit},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    write_parquet(tmp_path / "in.parquet", frame)
    schema = infer_schema(frame, "works", id_columns=("person",))
    (tmp_path / "schema.yaml").write_text(dump_schema(schema), encoding="utf-8")
    write_json(tmp_path / "validation.json", {"ok": ok})
    return argparse.Namespace(
        params=tmp_path / "params.yaml",
        input=str(tmp_path / "in.parquet"),
        schema=tmp_path / "schema.yaml",
        validation=tmp_path / "validation.json",
        unlabelled=str(tmp_path / "no-unlabelled.parquet"),
        report=tmp_path / "out/audit.json",
        label_issues=tmp_path / "out/label_issues.csv",
    )


def test_the_stage_writes_the_report_and_the_csv_and_logs_the_leak(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = _args(tmp_path)
    with caplog.at_level(logging.INFO):
        assert run(args) == 0
    report = json.loads(args.report.read_text())
    assert (report["rows"], report["audited_rows"], report["task"]) == (ROWS, 1000, "binary")
    leakage = report["leakage"]
    assert [f["column"] for f in leakage["flagged"]] == ["hours"]
    assert sorted(f["column"] for f in leakage["features"]) == ["age", "hours", "kids"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [leakage["flagged"][0]["message"]]
    assert "possible target leakage: column 'hours' alone predicts 'works'" in warnings[0]
    assert "add 'hours' to data.exclude_columns in params.yaml" in warnings[0]
    table = pd.read_csv(args.label_issues)
    assert list(table.columns) == [
        "row",
        "person",
        "given_label",
        "suggested_label",
        "label_quality",
    ]
    labels = report["label_issues"]
    assert labels["count"] == len(table) and labels["checked_rows"] == 1000
    # the row is the source row: the id written in that row of the input
    assert list(table["person"]) == [f"p{r:05d}" for r in table["row"]]
    first = args.report.read_bytes(), args.label_issues.read_bytes()
    assert run(args) == 0
    assert (args.report.read_bytes(), args.label_issues.read_bytes()) == first


def test_an_excluded_column_is_not_audited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = _args(tmp_path, data={"exclude_columns": ["hours"]})
    with caplog.at_level(logging.WARNING):
        assert run(args) == 0
    report = json.loads(args.report.read_text())
    assert report["leakage"]["flagged"] == [] and report["leakage"]["excluded"] == ["hours"]
    assert [f["column"] for f in report["leakage"]["features"]] == ["age", "kids"]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_unvalidated_data_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    args = _args(tmp_path, ok=False)
    with pytest.raises(InputError) as caught:
        run(args)
    assert str(caught.value) == (
        f"{args.validation}: the data did not pass validation; run validate"
    )
    assert not (tmp_path / "out").exists()


def test_label_issues_name_source_rows_when_ingest_set_rows_aside(tmp_path: Path) -> None:
    """Ingest wrote the rows without a target to paths.unlabelled with their source row
    numbers; the ingested table skips them, so its positions are not source rows. Each listed
    row is mapped back: 'person' p00123 is source row 123."""
    args = _args(tmp_path, data={"exclude_columns": ["hours"]})
    frame = _table().drop(columns="hours")
    flip = np.random.default_rng(3).choice(ROWS, 60, replace=False)  # labels made wrong
    frame.loc[flip, "works"] = ~frame.loc[flip, "works"]
    aside = np.arange(5, ROWS, 9)  # every ninth row had no target
    write_parquet(args.input, frame.drop(index=aside).reset_index(drop=True))
    unlabelled = frame.loc[aside].drop(columns="works").reset_index(drop=True)
    write_parquet(
        tmp_path / "unlabelled.parquet", unlabelled.assign(row=aside)[["row", *unlabelled.columns]]
    )
    args.unlabelled = str(tmp_path / "unlabelled.parquet")
    assert run(args) == 0
    table = pd.read_csv(args.label_issues)
    assert len(table) > 0
    assert list(table["row"]) == [int(p[1:]) for p in table["person"]]
    assert not set(table["row"]) & set(aside.tolist())
    assert set(table["row"]) & set(flip.tolist())  # the wrong labels, under their own rows
    bad = tmp_path / "bad.parquet"  # numbers that cannot be this table's rows aside
    write_parquet(bad, pd.DataFrame({"row": [0, 0]}))
    args.unlabelled = str(bad)
    with pytest.raises(InputError, match=r"bad\.parquet: unlabelled row numbers must be distinct"):
        run(args)
