"""Batches as real tools write them: a saved row index, dates in the schema's format, and
ingest's table of unlabelled rows (a ``row`` column), scored as they are."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.schema import ColumnSpec
from mlpipe.model.scoring import ScoringError, ScoringRules, normalize_batch, score_file
from support.tiny import tiny_frame, tiny_model, tiny_schema, tiny_spec

RULES = ScoringRules(id_columns=("cid",))


@pytest.fixture(scope="module")
def model():
    return tiny_model("binary", max_iter=20)  # fitted; its quality is not under test


def _schema(form: str = "%m/%d/%Y"):
    schema = tiny_schema("binary")
    visit = ColumnSpec("visit", "datetime", min="2019-01-01", max="2021-01-01", format=form)
    return dataclasses.replace(schema, columns=(*schema.columns, visit))


def _batch(rows: int, visits: list[str]) -> pd.DataFrame:
    return tiny_frame(rows, seed=3).drop(columns=["y"]).assign(visit=visits)


def _score(model, source: Path, output: Path, schema, chunk_rows: int = 4):
    return score_file(
        model,
        source,
        output,
        schema=schema,
        spec=tiny_spec(schema),
        rules=RULES,
        csv_config=CsvConfig(),
        chunk_rows=chunk_rows,
    )


def test_a_batch_reads_dates_in_the_schemas_format_even_when_they_read_both_ways() -> None:
    raw = _batch(3, ["01/02/2020", "03/04/2020", "12/11/2020"]).astype(str)
    frame, changes = normalize_batch(raw, _schema(), CsvConfig(), ("cid",))
    assert frame["visit"].tolist() == [
        pd.Timestamp("2020-01-02"),  # month first, as the schema says (not 1 February)
        pd.Timestamp("2020-03-04"),
        pd.Timestamp("2020-12-11"),
    ]
    assert changes.ambiguous_dates == {} and changes.date_formats == {"visit": "%m/%d/%Y"}
    day_first = _batch(1, ["13/01/2020"]).astype(str)  # reads day first only: not the format
    frame, _ = normalize_batch(day_first, _schema(), CsvConfig(), ("cid",))
    assert str(frame["visit"].dtype) == "string"  # the type check refuses it, with the format


def test_a_batch_saved_with_its_index_is_scored_chunk_by_chunk(model, tmp_path: Path) -> None:
    batch = _batch(10, ["01/02/2020"] * 10)
    source, output = tmp_path / "batch.csv", tmp_path / "scores.csv"
    batch.to_csv(source)  # pandas' index: an unnamed first column 0..9, over three chunks
    summary = _score(model, source, output, _schema(), chunk_rows=4)
    scores = pd.read_csv(output)
    assert summary.rows == 10 and summary.chunks == 3 and summary.warnings == {}
    assert list(scores.columns) == ["cid", "prediction", "proba_no", "proba_yes"]
    assert scores["cid"].tolist() == batch["cid"].tolist()


def test_dates_not_in_the_schemas_format_are_refused_naming_it(model, tmp_path: Path) -> None:
    source, output = tmp_path / "batch.csv", tmp_path / "scores.csv"
    _batch(4, ["13/01/2020", "14/01/2020", "01/02/2020", "15/01/2020"]).to_csv(source, index=False)
    with pytest.raises(ScoringError) as caught:
        _score(model, source, output, _schema())
    assert (
        "visit: type datetime — values that are not dates written as %m/%d/%Y (the schema's "
        "format) or ISO 8601, e.g. ['13/01/2020', '14/01/2020', '15/01/2020']: write every date "
        "of the column that way, as in the training data (3 rows)"
    ) in str(caught.value)
    assert not output.exists()


def test_ingests_unlabelled_table_is_scored_as_it_is_with_its_row_numbers(
    model, tmp_path: Path
) -> None:
    aside = tiny_frame(6, seed=4).drop(columns=["y"])
    aside.insert(0, "row", np.array([3, 8, 9, 20, 21, 40], dtype=np.int64))
    source, output = tmp_path / "unlabelled.parquet", tmp_path / "scores.csv"
    aside.to_parquet(source, index=False)
    summary = _score(model, source, output, tiny_schema("binary"), chunk_rows=4)
    scores = pd.read_csv(output)
    assert summary.warnings == {}  # 'row' is not an unknown column
    assert list(scores.columns) == ["row", "cid", "prediction", "proba_no", "proba_yes"]
    assert scores["row"].tolist() == [3, 8, 9, 20, 21, 40]
    assert scores["cid"].tolist() == aside["cid"].tolist()
