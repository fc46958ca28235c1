"""`mlpipe ingest`: the streamed two-pass stage writes what whole-table `normalize` makes."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.config import ConfigError, CsvConfig
from mlpipe.data.ingest import NormalizeReport, normalize, read_source, source_rows
from mlpipe.io import InputError, write_parquet
from mlpipe.stages.ingest import run

ROWS = 3500  # memory.chunk_rows has a minimum of 1000: 4 chunks


def _params(tmp_path: Path, **data: object) -> Path:
    path = tmp_path / "params.yaml"
    section = {"target": "churned", "id_columns": ["id"], "date_column": None}
    path.write_text(yaml.safe_dump({"data": {**section, **data}, "memory": {"chunk_rows": 1000}}))
    return path


def _messy_csv(tmp_path: Path, bad_line: str | None = None) -> Path:
    """Evidence for each column's type arrives only in the last chunk."""
    lines = ["id,amount,visits,member,joined,churned, note "]
    for i in range(ROWS):
        amount = "1,234.5" if i == ROWS - 1 else str(i)  # float64 only from the last row
        visits = "NA" if i == ROWS - 2 else str(i % 7)  # one missing: float64, not int64
        member = "yes" if i >= 3000 and i % 2 else ("1" if i % 2 else "0")  # boolean
        joined = "2024-01-02 10:30" if i == ROWS - 3 else "2024-01-02"
        lines.append(f'{i},"{amount}",{visits},{member},{joined},{i % 2}, x{i % 3} ')
    if bad_line is not None:
        lines[ROWS - 500] = bad_line
    path = tmp_path / "source.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _whole_table(tmp_path: Path, source: Path) -> tuple[pd.DataFrame, NormalizeReport]:
    """What ingest wrote before it streamed: `normalize` on the whole table, as Parquet."""
    frame = read_source(source, CsvConfig())
    table, changes = normalize(frame, CsvConfig().na_values, keep_text=("id",))
    write_parquet(tmp_path / "whole.parquet", table)
    return pd.read_parquet(tmp_path / "whole.parquet"), changes


def _run(tmp_path: Path, source: Path, params: Path) -> tuple[Path, Path]:
    output, report = tmp_path / "out" / "ingested.parquet", tmp_path / "out" / "ingest.json"
    args = argparse.Namespace(
        params=str(params),
        source=str(source),
        output=str(output),
        report=str(report),
        unlabelled=str(tmp_path / "out" / "unlabelled.parquet"),
    )
    assert run(args) == 0
    return output, report


def test_streamed_csv_equals_the_whole_table(tmp_path: Path) -> None:
    source = _messy_csv(tmp_path)
    output, report = _run(tmp_path, source, _params(tmp_path))
    expected, changes = _whole_table(tmp_path, source)
    written = pd.read_parquet(output)
    pd.testing.assert_frame_equal(written, expected, check_exact=True)
    assert {c: str(t) for c, t in written.dtypes.items()} == {
        "id": "string",  # data.id_columns: kept as written
        "amount": "float64",
        "visits": "float64",
        "member": "boolean",
        "joined": "datetime64[ms]",  # Parquet has no seconds unit
        "churned": "int64",
        "note": "string",
    }
    assert written["amount"].iloc[-1] == 1234.5
    assert json.loads(report.read_text()) == {
        "source": str(source),
        "rows": ROWS,
        "columns": 7,
        "normalized": changes.as_dict(),
        "unlabelled_rows": 0,
        "row_index": None,
        "date_formats": {},
    }
    assert changes.as_dict()["became_missing"] == {"visits": 1}
    assert changes.as_dict()["stripped_whitespace"] == {"note": ROWS}


def test_streamed_parquet_equals_the_whole_table(tmp_path: Path) -> None:
    source = tmp_path / "source.parquet"
    csv = normalize(read_source(_messy_csv(tmp_path), CsvConfig()), ())[0]
    frame = csv.assign(visits=pd.array(csv["visits"], dtype="Int64"), note=" " + csv["note"])
    frame.to_parquet(source, index=False, row_group_size=700)
    output, _ = _run(tmp_path, source, _params(tmp_path))
    expected, _ = _whole_table(tmp_path, source)
    pd.testing.assert_frame_equal(pd.read_parquet(output), expected, check_exact=True)
    assert str(expected["visits"].dtype) == "Int64" and expected["note"].iloc[0] == "x0"


def test_zoned_parquet_datetimes_are_written_as_utc_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "source.parquet"
    when = pd.date_range("2020-01-01", periods=ROWS, freq="h", tz="Europe/Berlin")
    frame = pd.DataFrame({"id": range(ROWS), "when": when, "churned": [0, 1] * (ROWS // 2)})
    frame.to_parquet(source, index=False, row_group_size=700)
    with caplog.at_level(logging.WARNING):
        output, report = _run(tmp_path, source, _params(tmp_path))
    written = pd.read_parquet(output)
    assert str(written["when"].dtype) == "datetime64[us]"
    # Berlin is UTC+1 in winter, UTC+2 in summer
    assert written["when"].iloc[0] == pd.Timestamp("2019-12-31 23:00")
    assert written["when"].iloc[-1] == pd.Timestamp(when[-1].tz_convert("UTC").tz_localize(None))
    assert json.loads(report.read_text())["normalized"]["timezone_to_utc"] == {"when": ROWS}
    assert (
        f"column 'when': {ROWS} date-time(s) with a time zone (Europe/Berlin) converted to UTC; "
        "the zone is dropped"
    ) in caplog.text


def test_a_bad_row_late_in_the_file_leaves_the_previous_output(tmp_path: Path) -> None:
    source = _messy_csv(tmp_path, bad_line="3000,1,2,yes,2024-01-02,0,x,extra")
    output, report = tmp_path / "out" / "ingested.parquet", tmp_path / "out" / "ingest.json"
    output.parent.mkdir()
    output.write_bytes(b"previous table")
    args = argparse.Namespace(
        params=str(_params(tmp_path)),
        source=str(source),
        output=str(output),
        report=str(report),
        unlabelled=str(output.parent / "unlabelled.parquet"),
    )
    with pytest.raises(InputError) as caught:
        run(args)
    assert str(caught.value) == (
        f"{source}: rows do not match the header (Error tokenizing data. C error: Expected 7 "
        f"fields in line {ROWS - 499}, saw 8\n). Check data.csv.delimiter and quoting"
    )
    assert output.read_bytes() == b"previous table"
    assert sorted(p.name for p in output.parent.iterdir()) == ["ingested.parquet"]


def test_invalid_encoding_late_in_the_file_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    rows = [f"{i},Zurich,{i % 2}".encode() for i in range(30_000)]
    rows[29_000] = b"29000,Z\xfcrich,1"
    source.write_bytes(b"id,city,churned\n" + b"\n".join(rows) + b"\n")
    offset = source.read_bytes().index(b"\xfc")
    with pytest.raises(InputError) as caught:
        _run(tmp_path, source, _params(tmp_path))
    assert str(caught.value) == (
        f"{source}: byte 0xfc at offset {offset} (line 29002) is not valid utf-8. Re-export "
        "the file as UTF-8 or set data.csv.encoding in params.yaml (e.g. latin-1)"
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_roles_are_checked_on_the_header_before_the_rows(tmp_path: Path) -> None:
    # The bad row late in the file is never reached: the wrong target name stops ingest first.
    source = _messy_csv(tmp_path, bad_line="3000,1,2,yes,2024-01-02,0,x,extra")
    with pytest.raises(InputError) as caught:
        _run(tmp_path, source, _params(tmp_path, target="label"))
    assert str(caught.value) == (
        f"{source}: data.target names column 'label', which is not in the file; its 7 columns "
        "are: id, amount, visits, member, joined, churned, note. Fix data.target in params.yaml"
    )
    assert not (tmp_path / "out").exists()


def _european_wine(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """sklearn's wine table (8 copies: two chunks of 1000 rows) as Excel exports it in Europe."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine = pd.concat([wine] * 8, ignore_index=True)
    source = tmp_path / "wine.csv"
    wine.to_csv(source, sep=";", decimal=",", index=False)
    return source, wine


def _wine_params(tmp_path: Path, **csv: object) -> Path:
    return _params(tmp_path, target="target", id_columns=[], csv=csv)


def test_decimal_comma_csv_ingests_as_numbers(tmp_path: Path, caplog) -> None:
    source, wine = _european_wine(tmp_path)
    assert "14,23" in source.read_text().splitlines()[1]  # alcohol of the first row
    with caplog.at_level(logging.WARNING):
        output, report = _run(tmp_path, source, _wine_params(tmp_path, decimal=","))
    written = pd.read_parquet(output)
    # Whole-number columns ("127,0") become int64, as "127.0" would; the rest float64.
    whole = ["magnesium", "proline", "target"]
    assert {c: str(t) for c, t in written.dtypes.items()} == {
        c: "int64" if c in whole else "float64" for c in wine.columns
    }
    pd.testing.assert_frame_equal(written.astype(float), wine.astype(float), check_exact=True)
    assert written["alcohol"].iloc[0] == 14.23
    assert "decimal" not in caplog.text and json.loads(report.read_text())["normalized"] == {
        "stripped_whitespace": {},
        "became_missing": {},
        "thousands_separator_to_number": {},
        "currency_to_number": {},
        "percent_to_number": {},
        "parentheses_to_negative": {},
        "unparseable_number_to_missing": {},
        "text_to_boolean": {},
        "unparseable_boolean_to_missing": {},
        "timezone_to_utc": {},
    }


def test_decimal_comma_csv_with_the_default_decimal_warns_naming_the_columns(
    tmp_path: Path, caplog
) -> None:
    source, _ = _european_wine(tmp_path)
    with caplog.at_level(logging.WARNING):
        output, _ = _run(tmp_path, source, _wine_params(tmp_path))
    written = pd.read_parquet(output)
    assert str(written["alcohol"].dtype) == "string" and written["alcohol"].iloc[0] == "14,23"
    hints = [r.getMessage() for r in caplog.records if "data.csv.decimal" in r.getMessage()]
    assert len(hints) == 1 and hints[0].endswith("Set data.csv.decimal: ',' in params.yaml")
    # Every column with a decimal part ("127,0" has one too); only the target is typed.
    text_columns = [c for c in written.columns if str(written[c].dtype) == "string"]
    assert text_columns == [c for c in written.columns if c != "target"]
    assert hints[0].startswith(f"column(s) {', '.join(text_columns)} hold numbers written")


def test_unparseable_numbers_warn_with_examples(tmp_path: Path, caplog) -> None:
    source = _messy_csv(tmp_path)
    lines = source.read_text().splitlines()
    for row, word in ((10, "thirty"), (20, "forty"), (30, "unknown"), (40, "thirty")):
        fields = lines[row].split(",")
        fields[2] = word  # visits
        lines[row] = ",".join(fields)
    source.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        output, _ = _run(tmp_path, source, _params(tmp_path))
    assert pd.read_parquet(output)["visits"].isna().sum() == 5  # 4 words and one NA marker
    warnings = [r for r in caplog.records if "not numbers" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in warnings] == [
        (
            logging.WARNING,
            "column 'visits': 4 value(s) are not numbers and became missing values, "
            "e.g. 'thirty', 'forty', 'unknown'",
        )
    ]


def test_ids_and_zero_padded_codes_keep_their_text_and_ambiguous_numbers_warn(
    tmp_path: Path, caplog
) -> None:
    """The review's lz.csv / three.csv over 3 chunks: the deciding values come late."""
    source = tmp_path / "codes.csv"
    lines = ["id;zip;weight_kg;churned"]
    for i in range(2500):
        zip_code = "00501" if i == 2400 else str(10000 + i)  # leading zeros only in chunk 3
        weight = "1,535" if i == 2499 else str(i)  # one ambiguous group, last row
        lines.append(f"{i:06d};{zip_code};{weight};{i % 2}")
    lines[2001] = f"   ;{10000 + 2000};2000;0"  # an id left blank
    source.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        output, _ = _run(tmp_path, source, _params(tmp_path))
    written = pd.read_parquet(output)
    assert {c: str(t) for c, t in written.dtypes.items()} == {
        "id": "string",
        "zip": "string",
        "weight_kg": "int64",
        "churned": "int64",
    }
    assert written["id"].iloc[:3].tolist() == ["000000", "000001", "000002"]
    assert pd.isna(written["id"].iloc[2000]) and written["id"].iloc[2001] == "002001"
    assert written["zip"].iloc[[0, 2400]].tolist() == ["10000", "00501"]
    assert written["weight_kg"].iloc[-1] == 1535  # thousands: auto, with a warning
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "column 'zip': kept as text because its numbers have leading zeros, e.g. '00501' (a "
        "code such as a zip or account number; converting would drop the zeros)"
    ) in messages
    ambiguous = [m for m in messages if m.startswith("column 'weight_kg': values like '1,535'")]
    assert len(ambiguous) == 1 and "set data.csv.decimal: ','" in ambiguous[0]
    # The declared id is kept without a note; only its blank became missing.
    assert [m for m in messages if "id" in m.split(":")[0].split()] == [
        "normalised id: stripped whitespace in 1 values",
        "normalised id: became missing in 1 values",
    ]


def test_a_stray_value_in_a_yes_no_column_is_missing_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The review's case, streamed: the one 'maybe' is in the last of 4 chunks.
    source = tmp_path / "source.csv"
    organic = ["Yes", "n", "Y", "no"] * (ROWS // 4)
    organic[ROWS - 10] = "maybe"  # was "Y"
    lines = [f"{i},{organic[i]},{i % 2}" for i in range(ROWS)]
    source.write_text("id,organic,churned\n" + "\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        output, report = _run(tmp_path, source, _params(tmp_path))
    written = pd.read_parquet(output)
    assert str(written["organic"].dtype) == "boolean"
    assert written["organic"].value_counts(dropna=False).to_dict() == {
        True: ROWS // 2 - 1,
        False: ROWS // 2,
        pd.NA: 1,
    }
    assert pd.isna(written["organic"].iloc[ROWS - 10])
    normalized = json.loads(report.read_text())["normalized"]
    assert normalized["text_to_boolean"] == {"organic": ROWS - 1}
    assert normalized["unparseable_boolean_to_missing"] == {"organic": 1}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"normalised organic: text to boolean in {ROWS - 1} values",
        "column 'organic': 1 value(s) are not yes/no (true/false, y/n, t/f, 1/0, any case) and "
        "became missing values, e.g. 'maybe'",
    ]


def test_a_yes_no_target_with_a_rare_class_stays_text(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    label = ["yes", "no"] * (ROWS // 2)
    label[7] = "maybe"  # a class of its own: 1 row of 3500 must not become a missing label
    source.write_text("id,churned\n" + "\n".join(f"{i},{v}" for i, v in enumerate(label)) + "\n")
    output, report = _run(tmp_path, source, _params(tmp_path))
    written = pd.read_parquet(output)
    assert written["churned"].tolist() == label
    assert json.loads(report.read_text())["normalized"]["unparseable_boolean_to_missing"] == {}


def test_a_wrong_slice_name_stops_ingest_before_anything_is_written(tmp_path: Path) -> None:
    source = _messy_csv(tmp_path)
    params = _params(tmp_path)
    raw = yaml.safe_load(params.read_text())
    params.write_text(yaml.safe_dump({**raw, "evaluate": {"slices": ["member", "regoin"]}}))
    args = argparse.Namespace(
        params=str(params),
        source=str(source),
        output=str(tmp_path / "ingested.parquet"),
        report=str(tmp_path / "ingest.json"),
        unlabelled=str(tmp_path / "unlabelled.parquet"),
    )
    with pytest.raises(InputError) as caught:
        run(args)
    assert str(caught.value).startswith(
        f"{source}: evaluate.slices names column 'regoin', which is not in the file; its 7 "
        "columns are: id, amount, visits, member, joined, churned, note. Fix evaluate.slices"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "source.csv"]


# --- real tables as they come: unlabelled rows, a saved row index, dates as people write them


def _real_csv(tmp_path: Path, rows: int = 2500) -> tuple[Path, list[int]]:
    """pandas' to_csv() with its index, day-first dates, a target missing in some rows (the
    first of them in the last chunk of 1000 rows only decides nothing: they are spread)."""
    missing = [i for i in range(rows) if i % 9 == 4]  # 278 rows, in every chunk
    frame = pd.DataFrame(
        {
            "visit": pd.date_range("2020-01-01", periods=rows, freq="D").strftime("%d/%m/%Y"),
            "age": [str(20 + i % 50) for i in range(rows)],
            "plan": ["basic", "pro"] * (rows // 2),
            "churned": ["" if i in missing else ("yes" if i % 3 else "no") for i in range(rows)],
        }
    )
    path = tmp_path / "real.csv"
    frame.to_csv(path)  # index kept: the first header cell is empty
    return path, missing


def _ingest(tmp_path: Path, source: Path, name: str, **data: object) -> dict[str, Path]:
    params = _params(tmp_path, date_column="visit", id_columns=None, **data)
    out = tmp_path / name
    paths = {
        "output": out / "ingested.parquet",
        "report": out / "ingest.json",
        "unlabelled": out / "unlabelled.parquet",
    }
    args = argparse.Namespace(
        params=str(params), source=str(source), **{k: str(v) for k, v in paths.items()}
    )
    assert run(args) == 0
    return paths


def test_unlabelled_rows_are_set_aside_and_the_outputs_do_not_depend_on_the_chunk_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, missing = _real_csv(tmp_path)
    with caplog.at_level(logging.INFO):
        chunked = _ingest(tmp_path, source, "chunked")  # memory.chunk_rows 1000: 3 chunks
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["memory"]["chunk_rows"] = 100_000
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    whole = _ingest(tmp_path, source, "whole")
    for key in ("output", "unlabelled"):
        assert chunked[key].read_bytes() == whole[key].read_bytes()
    report = json.loads(chunked["report"].read_text())
    assert (report["rows"], report["unlabelled_rows"]) == (2500 - 278, 278)
    assert report["row_index"] == "column 1 (no name)" and report["columns"] == 4
    assert report["date_formats"] == {"visit": "%d/%m/%Y"}
    ingested = pd.read_parquet(chunked["output"])
    assert list(ingested.columns) == ["visit", "age", "plan", "churned"]
    assert ingested["churned"].notna().all() and str(ingested["churned"].dtype) == "boolean"
    assert ingested["visit"].iloc[0] == pd.Timestamp("2020-01-01")
    aside = pd.read_parquet(chunked["unlabelled"])
    assert list(aside.columns) == ["row", "visit", "age", "plan"]  # no target
    assert aside["row"].tolist() == missing
    assert aside["visit"].iloc[0] == pd.Timestamp("2020-01-05")  # source row 4
    assert source_rows(len(ingested), aside["row"]).tolist() == [
        i for i in range(2500) if i not in missing
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert "column 1 (no name): the file's row numbers, not used" in messages
    assert (
        f"278 of 2500 rows (11.1%) have no value in target 'churned': set aside in "
        f"{chunked['unlabelled']} (not used to train or test; score them with `mlpipe predict "
        f"--input {chunked['unlabelled']}`)"
    ) in messages


def test_unlabelled_fail_keeps_every_row_for_validate_to_refuse(tmp_path: Path) -> None:
    source, missing = _real_csv(tmp_path, rows=40)
    paths = _ingest(tmp_path, source, "out", unlabelled="fail")
    ingested = pd.read_parquet(paths["output"])
    assert len(ingested) == 40 and ingested["churned"].isna().sum() == len(missing) == 4
    aside = pd.read_parquet(paths["unlabelled"])
    assert aside.empty and list(aside.columns) == ["row", "visit", "age", "plan"]
    assert json.loads(paths["report"].read_text())["unlabelled_rows"] == 0


def test_a_target_missing_in_every_row_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "t.csv"
    source.write_text("visit,churned\n" + "".join(f"0{i + 1}/01/2020,\n" for i in range(5)))
    with pytest.raises(ConfigError) as caught:
        _ingest(tmp_path, source, "out")
    assert str(caught.value) == (
        "target 'churned' has no values: all 5 rows are empty. Choose another data.target or "
        "fill in the labels"
    )
    assert not (tmp_path / "out").exists()


def test_a_date_format_that_does_not_read_the_date_column_is_an_error(tmp_path: Path) -> None:
    source, _ = _real_csv(tmp_path, rows=40)
    with pytest.raises(InputError) as caught:
        _ingest(tmp_path, source, "out", date_format="%m/%d/%Y")
    assert str(caught.value) == (
        f"{source}: data.date_format '%m/%d/%Y' does not read data.date_column 'visit': its "
        "values (e.g. '01/01/2020', '02/01/2020', '03/01/2020', '04/01/2020', '05/01/2020') do "
        "not all parse with it. Set data.date_format to the form the column is written in "
        "(strftime codes, e.g. '%d/%m/%Y' for 31/01/2020), or to null (empty) to recognise ISO "
        "and common forms"
    )
    assert not (tmp_path / "out").exists()
