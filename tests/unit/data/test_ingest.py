"""Reading source files (every unreadable case is a clear InputError) and normalising text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import normalize, read_source, report_warnings
from mlpipe.io import InputError

NA = CsvConfig().na_values


def _csv(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# --- normalize -------------------------------------------------------------------------------


def test_whitespace_is_stripped_and_counted() -> None:
    raw = pd.DataFrame({" plan ": [" basic", "premium ", "basic"], "x": ["1", "2", "3"]})
    out, report = normalize(raw, NA)
    assert list(out.columns) == ["plan", "x"]
    assert out["plan"].tolist() == ["basic", "premium", "basic"]
    assert report.stripped == {"plan": 2}
    assert out["x"].tolist() == [1, 2, 3] and out["x"].dtype == np.int64


def test_na_markers_become_missing_case_insensitively() -> None:
    raw = pd.DataFrame({"region": ["north", "NA", "n/a", " ? ", "null", "south", ""]})
    out, report = normalize(raw, NA)
    assert out["region"].isna().tolist() == [False, True, True, True, True, False, True]
    assert report.to_missing == {"region": 5}
    assert report.stripped == {"region": 1}


def test_thousands_separators_become_numbers() -> None:
    raw = pd.DataFrame({"total": ["1,234.50", "999", "12,000", "7.25"]})
    out, report = normalize(raw, NA)
    assert out["total"].tolist() == [1234.5, 999.0, 12000.0, 7.25]
    assert out["total"].dtype == np.float64
    assert report.to_numeric == {"total": 2}


def test_a_rare_unparseable_value_in_a_number_column_becomes_missing() -> None:
    values = [str(i) for i in range(40)] + ["12abc"]
    out, report = normalize(pd.DataFrame({"n": values}), NA)
    assert out["n"].isna().sum() == 1 and out["n"].iloc[0] == 0
    assert report.unparsed_numeric == {"n": 1}


def test_mostly_text_column_stays_text() -> None:
    raw = pd.DataFrame({"code": ["A1", "B2", "3", "C4"]})
    out, report = normalize(raw, NA)
    assert out["code"].tolist() == ["A1", "B2", "3", "C4"]
    assert report.as_dict()["text_to_number"] == {}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Yes", "yes", "Y", "no", "N"], [True, True, True, False, False]),
        (["TRUE", "false", "t", "F"], [True, False, True, False]),
        (["yes", "NA", "no"], [True, None, False]),
    ],
)
def test_yes_no_text_becomes_boolean(values: list[str], expected: list[bool | None]) -> None:
    out, report = normalize(pd.DataFrame({"b": values}), NA)
    assert str(out["b"].dtype) == "boolean"
    assert [None if pd.isna(v) else bool(v) for v in out["b"]] == expected
    assert report.to_boolean == {"b": sum(v is not None for v in expected)}


def test_zero_one_text_is_a_number_not_a_boolean() -> None:
    out, report = normalize(pd.DataFrame({"flag": ["0", "1", "1"]}), NA)
    assert out["flag"].tolist() == [0, 1, 1] and out["flag"].dtype == np.int64
    assert report.to_boolean == {}


def test_iso_dates_become_datetimes() -> None:
    out, _ = normalize(pd.DataFrame({"d": ["2024-01-31", "2024-02-01 10:30", None]}), NA)
    assert str(out["d"].dtype) == "datetime64[s]"
    assert out["d"].iloc[1] == pd.Timestamp("2024-02-01 10:30")
    assert pd.isna(out["d"].iloc[2])


def test_typed_columns_pass_through_untouched() -> None:
    raw = pd.DataFrame({"x": [1.5, np.nan], "b": [True, False]})
    out, report = normalize(raw, NA)
    pd.testing.assert_frame_equal(out, raw)
    assert all(v == {} for v in report.as_dict().values())


def test_normalize_does_not_modify_its_input() -> None:
    raw = pd.DataFrame({"s": [" a", "NA"]})
    normalize(raw, NA)
    assert raw["s"].tolist() == [" a", "NA"]


def test_report_names_every_kind_of_change() -> None:
    raw = pd.DataFrame(
        {
            "a": [" x", "y"],
            "n": ["1,000.5", "NA"],
            "b": ["yes", "no"],
            "t": ["2021-01-01T00:00:00+01:00", "2021-01-01T05:00:00Z"],
        }
    )
    _, report = normalize(raw, NA)
    assert report.as_dict() == {
        "stripped_whitespace": {"a": 1},
        "became_missing": {"n": 1},
        "text_to_number": {"n": 1},
        "unparseable_number_to_missing": {},
        "text_to_boolean": {"b": 2},
        "unparseable_boolean_to_missing": {},
        "timezone_to_utc": {"t": 2},
    }


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2021-01-01T00:00:00+01:00", "2020-12-31 23:00:00"),
        ("2021-01-01 00:00+0130", "2020-12-31 22:30:00"),
        ("2021-01-01T12:00:00-05", "2021-01-01 17:00:00"),
        ("2021-01-01T12:00:00Z", "2021-01-01 12:00:00"),
    ],
)
def test_iso_dates_with_a_utc_offset_become_utc_datetimes(text: str, utc: str) -> None:
    raw = pd.DataFrame({"d": [text, "2021-01-02", None]})
    out, report = normalize(raw, NA)
    assert str(out["d"].dtype) == "datetime64[s]"
    # a value without an offset is kept as it is (taken as UTC)
    assert out["d"].tolist()[:2] == [pd.Timestamp(utc), pd.Timestamp("2021-01-02")]
    assert report.to_utc == {"d": 1}
    assert report_warnings(report) == [
        "column 'd': 1 date-time(s) with a time zone (UTC offsets) converted to UTC; the zone "
        "is dropped (tables after ingest hold UTC times without a zone)"
    ]


@pytest.mark.parametrize("text", ["2021-01-01+01:00", "2021-01-01T00:00+1", "01/13/2021"])
def test_offsets_without_a_time_or_malformed_stay_text(text: str) -> None:
    out, report = normalize(pd.DataFrame({"d": [text, "2021-01-02"]}), NA)
    assert out["d"].tolist() == [text, "2021-01-02"] and report.to_utc == {}


def test_a_zoned_datetime_column_becomes_utc_without_a_zone() -> None:
    zoned = pd.date_range("2021-03-27 12:00", periods=3, freq="D", tz="Europe/Berlin")
    raw = pd.DataFrame({"ts": zoned.insert(1, pd.NaT)})
    out, report = normalize(raw, NA)
    assert str(out["ts"].dtype) == "datetime64[us]"
    # UTC+1 before the clocks change on 2021-03-28, UTC+2 after
    assert out["ts"].dropna().tolist() == [
        pd.Timestamp("2021-03-27 11:00"),
        pd.Timestamp("2021-03-28 10:00"),
        pd.Timestamp("2021-03-29 10:00"),
    ]
    assert report.to_utc == {"ts": 3}
    assert (
        "column 'ts': 3 date-time(s) with a time zone (Europe/Berlin) converted to UTC"
        in (report_warnings(report)[0])
    )


# --- read_source -----------------------------------------------------------------------------


def test_a_row_with_an_extra_field_is_an_error_not_a_shifted_row(tmp_path: Path) -> None:
    # pandas would make the first field the index and shift every value one column left.
    path = _csv(tmp_path, "id,plan,total\n1,basic,1,000\n2,premium,5\n")
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig())
    assert str(caught.value).startswith(f"{path}: rows do not match the header (")
    assert str(caught.value).endswith("Check data.csv.delimiter and quoting")


def test_reads_csv_as_text_with_na_markers(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'id,plan,total\n1,basic,"1,000"\n2,NA,5\n')
    frame = read_source(path, CsvConfig())
    assert frame.columns.tolist() == ["id", "plan", "total"]
    assert frame["total"].tolist() == ["1,000", "5"]
    # Cells stay text on read; `normalize` maps NA markers (and counts them).
    assert frame["plan"].iloc[1] == "NA"


@pytest.mark.parametrize(("delimiter", "sep"), [(";", ";"), ("\t", "\t"), ("|", "|")])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, sep: str) -> None:
    text = sep.join(["a", "b", "c"]) + "\n" + sep.join(["1", "x", "2.5"]) + "\n"
    frame = read_source(_csv(tmp_path, text), CsvConfig())
    assert frame.to_dict("records") == [{"a": "1", "b": "x", "c": "2.5"}]


def test_reads_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(path)
    assert read_source(path, CsvConfig())["a"].tolist() == [1, 2]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig())
    assert str(caught.value) == (
        f"{path}: source file not found. Put your table there and `dvc add` it, or set "
        "data.source in params.yaml to the file's path."
    )


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is a directory; data\.source must name a \.csv"):
        read_source(tmp_path, CsvConfig())


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"the file is empty \(0 bytes\); expected a header"):
        read_source(_csv(tmp_path, ""), CsvConfig())


def test_blank_lines_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the file holds only blank lines"):
        read_source(_csv(tmp_path, "\n  \n\n"), CsvConfig())


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"only a header line \(3 columns\), no data rows"):
        read_source(_csv(tmp_path, "a,b,c\n"), CsvConfig())


def test_parquet_with_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(path)
    with pytest.raises(InputError, match="the table has columns but no rows"):
        read_source(path, CsvConfig())


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_source(path, CsvConfig())


@pytest.mark.parametrize(
    ("header", "duplicates"), [("a,b,a", "['a']"), ("a, b ,b,c,c", "['b', 'c']")]
)
def test_duplicate_columns(tmp_path: Path, header: str, duplicates: str) -> None:
    path = _csv(tmp_path, header + "\n" + ",".join("1" * len(header.split(","))) + "\n")
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig())
    assert str(caught.value) == (
        f"{path}: duplicate column names {duplicates}; every column needs a unique name"
    )


def test_blank_column_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"column\(s\) at position \[1\] have an empty name"):
        read_source(_csv(tmp_path, "a, ,c\n1,2,3\n"), CsvConfig())


def test_non_utf8_names_the_byte_offset_and_line(tmp_path: Path) -> None:
    data = b"id,city\n1,Zurich\n2,M" + b"\xfc" + b"nchen\n3,Bern\n"
    path = _csv(tmp_path, data)
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig())
    offset = data.index(b"\xfc")
    assert str(caught.value) == (
        f"{path}: byte 0xfc at offset {offset} (line 3) is not valid utf-8. Re-export the file "
        "as UTF-8 or set data.csv.encoding in params.yaml (e.g. latin-1)"
    )


def test_latin1_is_read_when_configured(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,city\n1,M\xfcnchen\n".encode("latin-1"))
    frame = read_source(path, CsvConfig(encoding="latin-1"))
    assert frame["city"].tolist() == ["München"]


def test_wrong_delimiter_is_explained(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a;b;c\n1;2;3\n4;5;6\n")
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig(delimiter=","))
    assert str(caught.value) == (
        f"{path}: the header parsed as a single column 'a;b;c' with delimiter ','; set "
        "data.csv.delimiter in params.yaml to the file's delimiter"
    )


def test_ragged_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(
        InputError,
        match=r"(?s)rows do not match the header \(.*line 3, saw 4.*\)\. Check data\.csv",
    ):
        read_source(path, CsvConfig())


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a\n1\n", name="t.xlsx")
    with pytest.raises(InputError, match=r"unsupported file type '\.xlsx'; use \.csv, \.tsv or"):
        read_source(path, CsvConfig())
