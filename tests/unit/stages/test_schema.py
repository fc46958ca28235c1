"""`mlpipe schema infer`: a decimal-comma export is either read as numbers or named in a hint."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.data.schema import load_schema
from mlpipe.stages.schema import run


def _run_infer(tmp_path: Path, params: dict) -> Path:
    """Write params (data.source must name a file in tmp_path), run `mlpipe schema infer`."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    output = tmp_path / "schema.yaml"
    args = argparse.Namespace(params=str(tmp_path / "params.yaml"), input=None, output=str(output))
    assert run(args) == 0
    return output


def _infer(tmp_path: Path, **csv: object) -> Path:
    source = tmp_path / "prices.csv"
    frame = pd.DataFrame(
        {
            "price": [f"{i},{i % 10}5" for i in range(1, 61)],  # '1,15', '2,25', ...
            "weight": [f"0,{i:02d}" for i in range(60)],
            "label": ["a", "b", "c"] * 20,
        }
    )
    frame.to_csv(source, sep=";", index=False)
    return _run_infer(tmp_path, {"data": {"source": str(source), "target": "label", "csv": csv}})


def test_decimal_comma_columns_are_numeric_with_decimal_comma(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        schema = load_schema(_infer(tmp_path, decimal=","))
    assert schema.column("price").kind == "numeric" and schema.column("price").max >= 60
    assert schema.column("weight").kind == "numeric"
    assert "data.csv.decimal" not in caplog.text


def test_decimal_comma_columns_get_a_hint_with_the_default_decimal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        schema = load_schema(_infer(tmp_path))
    assert schema.column("price").kind == "categorical"  # what the user review saw
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "column(s) price, weight hold numbers written with the decimal mark ',' but "
        "data.csv.decimal is '.', so they stay text (categorical). Set data.csv.decimal: ',' "
        "in params.yaml"
    ]


def _visits(tmp_path: Path) -> Path:
    source = tmp_path / "visits.csv"
    days = pd.date_range("2020-01-01", periods=40, freq="D").strftime("%d/%m/%Y")
    sex = ["f", "m", "", "f"] * 10  # 10 blank labels
    pd.DataFrame({"visit_date": days, "age": range(40), "sex": sex}).to_csv(source, index=False)
    return source


def test_unlabelled_rows_are_left_out_and_day_first_dates_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {"source": str(_visits(tmp_path)), "target": "sex", "date_column": "visit_date"}
    with caplog.at_level(logging.INFO):
        output = _run_infer(tmp_path, {"data": data, "split": {"method": "time"}})
    messages = [r.getMessage() for r in caplog.records if r.name == "mlpipe.stages.schema"]
    assert messages[:3] == [
        "column 'visit_date': dates written as %d/%m/%Y (e.g. 31/01/2020), read as dates",
        "10 of 40 rows (25.0%) have no value in target 'sex': set aside in "
        "data/interim/unlabelled.parquet (not used to train or test; score them with "
        "`mlpipe predict --input data/interim/unlabelled.parquet`)",
        "25% of the rows have no value in target 'sex' (more than 20%): the model learns from "
        "the other 30. Check data.target, and whether the missing labels are missing at random",
    ]
    schema = load_schema(output)
    assert schema.rows == 30  # inferred from the labelled rows
    assert schema.column("sex").categories == ("f", "m")
    visit = schema.column("visit_date")
    assert (visit.kind, visit.format, visit.min, visit.max) == (
        "datetime",
        "%d/%m/%Y",
        "2020-01-01",
        "2020-02-09",
    )
    assert (
        "visit_date: {kind: datetime, max_missing: 0.0, min: '2020-01-01', max: '2020-02-09',"
        " format: '%d/%m/%Y'}" in output.read_text()
    )


def test_missing_labels_are_warned_about_under_unlabelled_fail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _visits(tmp_path)
    data = {"source": str(source), "target": "sex", "unlabelled": "fail", "date_column": "age"}
    with caplog.at_level(logging.WARNING):
        output = _run_infer(tmp_path, {"data": data})
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING][1:] == [
        "target 'sex' has 10 missing labels; rows without a label cannot be used to train or "
        "evaluate: remove them from the source, or set data.unlabelled: drop (ingest sets them "
        "aside, to score later) (max_missing: 0 in the schema)",
        "data.date_column 'age' holds numbers like '0', not dates: ingest reads ISO dates "
        "(2020-01-13) and common forms such as 31/01/2020 or Jan 31, 2020 (data.date_format "
        "sets another); convert the column or use split.method: random/stratified",
    ]
    schema = load_schema(output)
    assert schema.rows == 40 and schema.column("sex").max_missing == 0.0


def test_ids_and_zero_padded_codes_are_inferred_as_text(tmp_path: Path, caplog) -> None:
    """The review's lz.csv: rid and zip were int64, zip a numeric feature."""
    source = tmp_path / "lz.csv"
    rows = [f"{i:06d},{i % 40:05d},{i % 7}.5,{'ab'[i % 2]}" for i in range(300)]
    source.write_text("rid,zip,x,label\n" + "\n".join(rows) + "\n")
    data = {"source": str(source), "target": "label", "id_columns": ["rid"]}
    with caplog.at_level(logging.WARNING):
        output = _run_infer(tmp_path, {"data": data})
    schema = load_schema(output)
    assert [(c.name, c.kind) for c in schema.columns] == [
        ("rid", "id"),
        ("zip", "categorical"),
        ("x", "numeric"),
        ("label", "categorical"),
    ]
    assert schema.column("zip").categories == tuple(f"{i:05d}" for i in range(40))
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "column 'zip': kept as text because its numbers have leading zeros, e.g. '00000', "
        "'00001', '00002', '00003', '00004' (a code such as a zip or account number; "
        "converting would drop the zeros)"
    ]


def test_case_variants_and_free_text_are_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As the user review's wine export: mixed-case target and region, a free-text column."""
    source = tmp_path / "wine.csv"
    n = 30
    pd.DataFrame(
        {
            "cultivar": ["Barolo", "BAROLO", "barolo", "Barbera", "Grignolino"] * (n // 5),
            "region": ["Piemonte", "piemonte", "Veneto"] * (n // 3),
            "comment": [f"tasting note {i}" for i in range(n)],
            "alcohol": [12.0 + i / 10 for i in range(n)],
        }
    ).to_csv(source, index=False)
    with caplog.at_level(logging.WARNING):
        output = _run_infer(tmp_path, {"data": {"source": str(source), "target": "cultivar"}})
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "the target 'cultivar' has values that differ only in letter case or surrounding "
        "spaces: 'BAROLO', 'Barolo', 'barolo'. Each spelling is a separate class: write each "
        "value one way in the source (then run `mlpipe schema infer` again)",
        "column 'region' has values that differ only in letter case or surrounding spaces: "
        "'Piemonte', 'piemonte'. Each spelling is a separate category: write each value one "
        "way in the source (then run `mlpipe schema infer` again)",
        "column 'comment' has 30 distinct texts in 30 rows: looks like free text or an "
        "identifier, not a category; set kind: id for it in the schema (or add it to "
        "data.id_columns) or drop it from the source",
    ]
    assert load_schema(output).classes == ("BAROLO", "Barbera", "Barolo", "Grignolino", "barolo")


def _yes_no_source(tmp_path: Path, organic: list[str]) -> Path:
    source = tmp_path / "wine.csv"
    rows = len(organic)
    frame = pd.DataFrame({"alcohol": range(rows), "organic": organic, "label": ["a", "b"] * 30})
    frame.to_csv(source, index=False)
    return _run_infer(tmp_path, {"data": {"source": str(source), "target": "label"}})


def test_a_yes_no_column_with_one_stray_value_is_inferred_boolean(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    organic = ["Yes", "n", "Y", "no", "NA"] * 12
    organic[3] = "maybe"  # 1 of 49 values (the review saw 5 categories: Y, Yes, maybe, n, no)
    with caplog.at_level(logging.WARNING):
        schema = load_schema(_yes_no_source(tmp_path, organic))
    assert schema.column("organic").kind == "boolean"
    assert schema.column("organic").categories is None
    assert schema.column("organic").max_missing == 0.2367  # 12 NA + 'maybe': 13/60 + 2 %
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "column 'organic': 1 value(s) are not yes/no (true/false, y/n, t/f, 1/0, any case) and "
        "became missing values, e.g. 'maybe'"
    ]


def test_a_yes_no_column_kept_as_text_says_which_values_kept_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    organic = ["Yes", "n", "Y", "no", "unknown", "Yes"] * 10  # 50 of 60 are yes/no
    with caplog.at_level(logging.WARNING):
        schema = load_schema(_yes_no_source(tmp_path, organic))
    assert schema.column("organic").kind == "categorical"
    assert schema.column("organic").categories == ("Y", "Yes", "n", "no", "unknown")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "column 'organic': stays text (categorical) although 83.3% of its values are yes/no: "
        "10 value(s) are not, e.g. 'unknown'. If they are errors, correct them in the source "
        "or add them to data.csv.na_values (missing values); a feature column whose values "
        "are at least 95% yes/no is read as boolean (the target only when all are)"
    ]


def test_spreadsheet_numbers_are_numeric_features(tmp_path: Path, caplog) -> None:
    source = tmp_path / "export.csv"
    rows = range(1, 61)
    pd.DataFrame(
        {
            "amount": [f"{i * 1000 + 200:,}" for i in rows],  # '1,200' .. '60,200', all unique
            "price": [f"${i * 25.5:,.2f}" for i in rows],  # '$25.50' .. '$1,530.00'
            "rate": [f"{i % 20}%" for i in rows],
            "label": ["a", "b", "c"] * 20,
        }
    ).to_csv(source, index=False)
    params = {"data": {"source": str(source), "target": "label", "csv": {"thousands": ","}}}
    with caplog.at_level(logging.WARNING):
        schema = load_schema(_run_infer(tmp_path, params))
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "amount": "numeric",
        "price": "numeric",
        "rate": "numeric",
        "label": kinds["label"],
    }
    # The ranges (widened by the schema's margin) cover the values, so they were read whole.
    assert schema.column("amount").min <= 1200 and schema.column("amount").max >= 60200
    assert schema.column("price").max >= 1530.0 and schema.column("rate").max >= 19
    assert "'12%' is 12, not 0.12" in caplog.text
