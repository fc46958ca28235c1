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
from mlpipe.model.scoring import (
    ScoringError,
    ScoringRules,
    normalize_batch,
    score_file,
    score_frame,
)
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


# Ingest's unlabelled rows with their source rows; rows 4 and 5 break the age range (the schema's
# ranges come from the labelled rows, so a set-aside row is the likeliest to fall outside).
SOURCE_ROWS = [3, 8, 9, 20, 21, 40, 41, 57, 60, 71]
BAD = {4: (250.0, "age: 250 > max 90"), 5: (17.0, "age: 17 < min 18")}


def _unlabelled_with_broken_rows(path: Path) -> pd.DataFrame:
    aside = tiny_frame(len(SOURCE_ROWS), seed=5).drop(columns=["y"])
    aside.insert(0, "row", np.array(SOURCE_ROWS, dtype=np.int64))
    for at, (age, _) in BAD.items():
        aside.loc[at, "age"] = age
    aside.to_parquet(path, index=False)
    return aside


def _score_aside(model, tmp_path: Path, rules: ScoringRules, chunk_rows: int, name: str):
    """Score the table above with a schema inferred from 150 (labelled) rows: two invalid
    values in ten rows are within the contract's chance."""
    schema = dataclasses.replace(tiny_schema("binary"), rows=150)
    output = tmp_path / name
    summary = score_file(
        model,
        tmp_path / "unlabelled.parquet",
        output,
        schema=schema,
        spec=tiny_spec(schema),
        rules=rules,
        csv_config=CsvConfig(),
        chunk_rows=chunk_rows,
    )
    return summary, output


@pytest.mark.parametrize("chunk_rows", [2, 5, 100])  # 2: a chunk of broken rows; 5: at its edge
def test_unlabelled_rows_out_of_range_are_scored_with_their_rows_under_fail(
    model, tmp_path: Path, chunk_rows: int
) -> None:
    aside = _unlabelled_with_broken_rows(tmp_path / "unlabelled.parquet")
    summary, output = _score_aside(model, tmp_path, RULES, chunk_rows, "scores.csv")
    scores = pd.read_csv(output)
    assert summary.rows == 10 and summary.set_aside == 0
    assert list(scores.columns) == ["row", "cid", "prediction", "proba_no", "proba_yes"]
    assert (
        scores["row"].tolist() == SOURCE_ROWS and scores["cid"].tolist() == aside["cid"].tolist()
    )
    alone = score_frame(model, aside.drop(columns=["row"]), tiny_spec(tiny_schema()), "binary", ())
    np.testing.assert_allclose(scores["proba_yes"], alone["proba_yes"], rtol=0, atol=1e-12)
    assert summary.warnings == {
        "age: invalid values within the contract for 10 rows (binomial p-value 0.072 >= "
        "0.0002), scored as they are (text as a missing value): 250 > max 90 x1, 17 < min 18 x1": 2
    }


@pytest.mark.parametrize("chunk_rows", [2, 5, 100])
def test_unlabelled_rows_set_aside_keep_their_source_row_beside_their_input_row(
    model, tmp_path: Path, chunk_rows: int
) -> None:
    aside = _unlabelled_with_broken_rows(tmp_path / "unlabelled.parquet")
    rules = dataclasses.replace(RULES, bad_rows="skip")
    summary, output = _score_aside(model, tmp_path, rules, chunk_rows, "scores.csv")
    assert summary.rows == 10 and summary.set_aside == 2
    scores, side = pd.read_csv(output), pd.read_csv(tmp_path / "scores.rejected.csv")
    kept = aside.drop(index=list(BAD)).reset_index(drop=True)
    assert scores["row"].tolist() == kept["row"].tolist() == [3, 8, 9, 20, 41, 57, 60, 71]
    assert scores["cid"].tolist() == kept["cid"].tolist()
    alone = score_frame(model, kept.drop(columns=["row"]), tiny_spec(tiny_schema()), "binary", ())
    np.testing.assert_allclose(scores["proba_yes"], alone["proba_yes"], rtol=0, atol=1e-12)
    assert side.to_dict("records") == [
        {"row": 21, "cid": "c00004", "input_row": 5, "reasons": "age: 250 > max 90"},
        {"row": 40, "cid": "c00005", "input_row": 6, "reasons": "age: 17 < min 18"},
    ]
    once = (output.read_bytes(), (tmp_path / "scores.rejected.csv").read_bytes())
    _score_aside(model, tmp_path, rules, 3, "again.csv")  # another cut, the same bytes
    assert once == (
        (tmp_path / "again.csv").read_bytes(),
        (tmp_path / "again.rejected.csv").read_bytes(),
    )


def test_an_unlabelled_table_with_no_row_set_aside_has_a_side_file_header_with_row(
    model, tmp_path: Path
) -> None:
    aside = _unlabelled_with_broken_rows(tmp_path / "unlabelled.parquet").drop(index=list(BAD))
    aside.to_parquet(tmp_path / "unlabelled.parquet", index=False)
    rules = dataclasses.replace(RULES, bad_rows="skip")
    summary, output = _score_aside(model, tmp_path, rules, 4, "scores.parquet")
    side = pd.read_parquet(tmp_path / "scores.rejected.parquet")
    assert (
        summary.set_aside == 0 and pd.read_parquet(output)["row"].tolist() == aside["row"].tolist()
    )
    assert list(side.columns) == ["row", "cid", "input_row", "reasons"] and side.empty
    assert (str(side["row"].dtype), str(side["input_row"].dtype)) == ("int64", "int64")


def test_skip_with_every_row_broken_refuses_the_file_and_writes_nothing(
    model, tmp_path: Path
) -> None:
    aside = _unlabelled_with_broken_rows(tmp_path / "unlabelled.parquet")
    aside.iloc[[4]].to_parquet(tmp_path / "unlabelled.parquet", index=False)
    # a lax budget, so the one broken row is within it and only bad_rows decides
    rules = dataclasses.replace(RULES, bad_rows="skip", max_invalid_fraction=0.5)
    with pytest.raises(ScoringError) as caught:
        _score_aside(model, tmp_path, rules, 4, "scores.csv")
    assert str(caught.value) == (
        f"{tmp_path / 'unlabelled.parquet'}: every one of its 1 rows breaks a row-level rule, so "
        "nothing is left to score (see the warnings). No output was written"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unlabelled.parquet"]
