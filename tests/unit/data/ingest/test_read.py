"""Reading source files: every unreadable case is an InputError naming the file and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    iter_source,
    normalize,
    read_source,
)
from mlpipe.io import InputError

CSV = CsvConfig()


def _csv(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


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


def _write(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _read(tmp_path: Path, text: str | bytes, name: str = "t.csv", **csv: object) -> pd.DataFrame:
    return read_source(_write(tmp_path, text, name), CsvConfig(**csv))


@pytest.mark.parametrize(
    ("content", "name", "config", "message"),
    [
        (None, "missing.csv", {}, "source file not found. Put your table there and `dvc add` it"),
        ("", "t.csv", {}, "the file is empty (0 bytes)"),
        ("\n \n\n", "t.csv", {}, "only blank lines"),
        ("a,b,y\n", "t.csv", {}, "only a header line (3 columns), no data rows"),
        ("a,b,a\n1,2,3\n", "t.csv", {}, "duplicate column names ['a']"),
        ("a, a ,y\n1,2,3\n", "t.csv", {}, "duplicate column names ['a']"),
        ("a,,y\n1,2,3\n", "t.csv", {}, "column(s) at position [1] have an empty name"),
        ("a,b\n1,2\n", "t.xlsx", {}, "unsupported file type '.xlsx'"),
        (
            "a,b,y\n1,2,3\n4,5,6\n",
            "t.csv",
            {"delimiter": ";"},
            "the header parsed as a single column 'a,b,y' with delimiter ';'; set "
            "data.csv.delimiter",
        ),
        ("a,b\n1,2\n3,4,5\n", "t.csv", {}, "rows do not match the header"),
        (b"not parquet", "t.parquet", {}, "not a readable Parquet file"),
    ],
)
def test_unreadable_sources_say_what_and_how_to_fix(
    tmp_path: Path, content: str | bytes | None, name: str, config: dict, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        _write(tmp_path, content, name)
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig(**config))
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_non_utf8_byte_is_reported_with_its_offset_and_line(tmp_path: Path) -> None:
    data = b"city,y\nOslo,1\n" + b"S\xe3o Paulo,0\n"
    offset = data.index(b"\xe3")
    with pytest.raises(InputError) as caught:
        _read(tmp_path, data)
    message = str(caught.value)
    assert f"byte 0xe3 at offset {offset} (line 3) is not valid utf-8" in message
    assert "set data.csv.encoding in params.yaml (e.g. latin-1)" in message
    # The fix the message suggests works.
    frame = _read(tmp_path, data, encoding="latin-1")
    assert frame["city"].tolist() == ["Oslo", "São Paulo"]


@pytest.mark.parametrize(("sep", "config"), [(";", "auto"), ("\t", "auto"), ("|", "|")])
def test_delimiters_are_sniffed_or_taken_from_params(
    tmp_path: Path, sep: str, config: str
) -> None:
    text = sep.join(["a", "b", "y"]) + "\n" + sep.join(["1", "x y", "0"]) + "\n"
    frame = _read(tmp_path, text, delimiter=config)
    assert frame.columns.tolist() == ["a", "b", "y"]
    assert frame.iloc[0].tolist() == ["1", "x y", "0"]


def test_csv_cells_are_read_as_text_so_markers_are_counted(tmp_path: Path) -> None:
    frame = _read(tmp_path, "a,b\n1,?\n2,\n3,x\n")
    table, report = normalize(frame, CSV.na_values)
    assert report.to_missing == {"b": 2}
    assert table["a"].tolist() == [1, 2, 3]


def test_comma_file_with_decimal_comma_points_to_the_decimal_setting(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1.5,2,3\n4.5,5,6\n")
    with pytest.raises(InputError) as caught:
        read_source(path, CsvConfig(decimal=","))
    assert str(caught.value) == (
        f"{path}: the header parsed as a single column 'a,b,y'; the file looks comma-delimited, "
        "but data.csv.decimal is ',' so ',' cannot be the delimiter. Set data.csv.decimal: '.' "
        "in params.yaml (a comma-delimited file writes decimals with '.')"
    )


def _big_csv(tmp_path: Path, rows: int, bad_row: int | None = None, bad: bytes = b"") -> Path:
    lines = [b"id,city,total"]
    for i in range(rows):
        lines.append(bad if i == bad_row else f"{i},Zurich,{i * 3}".encode())
    path = tmp_path / "big.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _read_all(path: Path, size: int) -> Iterator[pd.DataFrame]:
    yield from iter_source(path, CsvConfig(), size)


def test_a_row_with_too_many_fields_in_a_late_chunk_names_its_line(tmp_path: Path) -> None:
    path = _big_csv(tmp_path, 3000, bad_row=2500, bad=b"2500,Bern,1,000")
    chunks = iter_source(path, CsvConfig(), 1000)
    assert len(next(chunks)) == 1000  # the first chunks are fine ...
    with pytest.raises(InputError) as caught:
        list(chunks)  # ... the one holding line 2502 is not
    assert str(caught.value) == (
        f"{path}: rows do not match the header (Error tokenizing data. C error: Expected 3 "
        "fields in line 2502, saw 4\n). Check data.csv.delimiter and quoting"
    )


def test_invalid_bytes_past_the_sniffed_sample_name_offset_and_line(tmp_path: Path) -> None:
    # 340 KiB of good rows: the bad byte is beyond the 256 KiB the header check decodes.
    path = _big_csv(tmp_path, 20000, bad_row=19000, bad=b"19000,M\xfcnchen,1")
    offset = path.read_bytes().index(b"\xfc")
    assert offset > 256 * 1024
    with pytest.raises(InputError) as caught:
        list(iter_source(path, CsvConfig(), 1000))
    assert str(caught.value) == (
        f"{path}: byte 0xfc at offset {offset} (line 19002) is not valid utf-8. Re-export the "
        "file as UTF-8 or set data.csv.encoding in params.yaml (e.g. latin-1)"
    )
    # The fix the message suggests works.
    frames = list(iter_source(path, CsvConfig(encoding="latin-1"), 1000))
    assert pd.concat(frames)["city"].iloc[19000] == "München"


def test_header_only_csv_read_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(InputError, match=r"only a header line \(3 columns\), no data rows"):
        list(iter_source(path, CsvConfig(), 1000))
