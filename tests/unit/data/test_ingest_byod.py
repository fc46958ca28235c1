"""Reading sources and normalising messy exports: every failure names the file and the fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlpipe.config import CsvConfig, DataConfig
from mlpipe.data.ingest import check_roles, normalize, read_source
from mlpipe.io import InputError

CSV = CsvConfig()


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


def test_normalize_counts_every_change_it_makes() -> None:
    raw = pd.DataFrame(
        {
            " plan ": [" basic", "premium ", "basic", "basic"],
            "income": ["1,234.5", "987", "12,000", "?"],
            "member": ["Yes", "yes", "Y", "n"],
            "flag01": ["0", "1", "1", "0"],
            "note": ["NA", "  ", "ok", "N/A"],
            "day": ["2024-01-02", "2024-02-03", "", "2024-03-04"],
        }
    )
    table, report = normalize(raw, CSV.na_values)
    assert table.columns.tolist() == ["plan", "income", "member", "flag01", "note", "day"]
    assert table["plan"].tolist() == ["basic", "premium", "basic", "basic"]
    assert table["income"].tolist()[:3] == [1234.5, 987.0, 12000.0]
    assert pd.isna(table["income"].iloc[3])
    assert table["member"].tolist() == [True, True, True, False]
    assert table["flag01"].dtype == "int64"
    assert table["note"].isna().tolist() == [True, True, False, True]
    assert str(table["day"].dtype).startswith("datetime64")
    assert report.as_dict() == {
        "stripped_whitespace": {"plan": 2, "note": 1},
        "became_missing": {"income": 1, "note": 3, "day": 1},
        "text_to_number": {"income": 2},
        "unparseable_number_to_missing": {},
        "text_to_boolean": {"member": 4},
        "unparseable_boolean_to_missing": {},
        "timezone_to_utc": {},
    }


def test_text_in_a_numeric_column_within_the_tolerated_share_becomes_missing() -> None:
    values = [str(i) for i in range(40)] + ["n/a-ish"]
    table, report = normalize(pd.DataFrame({"x": values}), CSV.na_values)
    assert table["x"].isna().sum() == 1
    assert report.unparsed_numeric == {"x": 1}


def test_text_beyond_the_tolerated_share_keeps_the_column_as_text() -> None:
    values = [str(i) for i in range(10)] + ["unknown"] * 3
    table, report = normalize(pd.DataFrame({"x": values}), CSV.na_values)
    assert table["x"].tolist()[-1] == "unknown"
    assert report.unparsed_numeric == {}


def test_csv_cells_are_read_as_text_so_markers_are_counted(tmp_path: Path) -> None:
    frame = _read(tmp_path, "a,b\n1,?\n2,\n3,x\n")
    table, report = normalize(frame, CSV.na_values)
    assert report.to_missing == {"b": 2}
    assert table["a"].tolist() == [1, 2, 3]


def test_check_roles_names_the_params_key_and_the_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1], "y": [0]})
    check_roles(frame, DataConfig(target="y", id_columns=()), "src.csv")
    for config, key in [
        (DataConfig(target="label", id_columns=()), "data.target names column 'label'"),
        (DataConfig(target="y", id_columns=("id",)), "data.id_columns names column 'id'"),
        (
            DataConfig(target="y", id_columns=(), date_column="when"),
            "data.date_column names column 'when'",
        ),
        (
            DataConfig(target="y", id_columns=(), numeric_features=("b",)),
            "data.numeric_features names column 'b'",
        ),
    ]:
        with pytest.raises(InputError) as caught:
            check_roles(frame, config, "src.csv")
        assert key in str(caught.value)
        assert "its 2 columns are: a, y" in str(caught.value)
