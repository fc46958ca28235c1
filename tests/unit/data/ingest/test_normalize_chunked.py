"""Two-pass chunked normalisation equals the whole-table `normalize`, for any chunk size.

Every column below gets the evidence that decides its type only in a late row, so a chunk
that decides on its own would get it wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    NormalizeReport,
    convert_chunk,
    iter_source,
    normalize,
    normalize_chunks,
    read_source,
)

NA = CsvConfig().na_values
ROWS = 40
CHUNK_SIZES = [2, 3, 7, 13, 39, 40, 1000]


def _messy() -> pd.DataFrame:
    """40 rows of text; the comment says which late row decides the column's type."""
    ints = [str(i) for i in range(ROWS)]

    def late(values: list[str], at: int, value: str) -> list[str]:
        return [*values[:at], value, *values[at + 1 :]]

    frame = pd.DataFrame(
        {
            "fraction_last": late(ints, 39, "2.5"),  # float64, not int64
            "word_in_chunk3": late(ints, 25, "12abc"),  # 39/40 parse: float64, one missing
            "words_late": ints[:30] + ["word"] * 10,  # 30/40 parse: stays text
            "missing_late": late(ints, 38, "NA"),  # float64, one missing
            "digits_then_yes": ["0", "1"] * 15 + ["yes", "no"] * 5,  # boolean, not numeric
            "zero_one": ["0", "1"] * 20,  # int64, not boolean
            # 39/40 yes/no: boolean, one missing; 34/40: text (with a warning naming the rest)
            "yes_then_maybe": late(["yes", "No", "y", "N"] * 10, 39, "maybe"),
            "yes_then_words": ["Y", "n"] * 17 + ["maybe", "unsure"] * 3,
            "dates": late(["2024-01-31"] * ROWS, 36, "2024-02-01 10:30"),  # datetime64[s]
            "dates_then_soon": late(["2024-01-31"] * ROWS, 33, "soon"),  # text
            "missing_first": [""] * 10 + ["NA"] * 10 + ints[20:],  # float64
            "all_missing": ["NA", "", " ? ", "null"] * 10,  # text (string), all missing
            " padded ": [f" {v} " for v in ["a", "b"] * 20],  # text, name and values stripped
            "separator_late": [*ints[:35], "1,234", "12,000,000", "5", "6", "7"],  # int64
            "flags_missing_late": late(["true", "false"] * 20, 37, "N/A"),  # boolean, <NA>
            # datetime64[s] in UTC: the one value with an offset is converted (10:00+02:00)
            "offset_late": late(["2024-01-31T10:00:00"] * ROWS, 38, "2024-01-31T10:00:00+02:00"),
        }
    )
    return frame


def _chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[start : start + size] for start in range(0, len(frame), size)]


def _chunked_normalize(
    chunks: list[pd.DataFrame] | None = None, read=None
) -> tuple[pd.DataFrame, NormalizeReport]:
    read = read or (lambda: iter(chunks))
    plan = normalize_chunks(read, NA)
    out = pd.concat([convert_chunk(c, plan) for c in read()], ignore_index=True)
    return out, plan.report


def test_whole_table_decisions_on_the_messy_frame() -> None:
    # What the chunked runs below must reproduce (and what each column is there to test).
    table, report = normalize(_messy(), NA)
    dtypes = {c: str(t) for c, t in table.dtypes.items()}
    assert dtypes == {
        "fraction_last": "float64",
        "word_in_chunk3": "float64",
        "words_late": "string",
        "missing_late": "float64",
        "digits_then_yes": "boolean",
        "zero_one": "int64",
        "yes_then_maybe": "boolean",
        "yes_then_words": "string",
        "dates": "datetime64[s]",
        "dates_then_soon": "string",
        "missing_first": "float64",
        "all_missing": "string",
        "padded": "string",
        "separator_late": "int64",
        "flags_missing_late": "boolean",
        "offset_late": "datetime64[s]",
    }
    assert table["fraction_last"].iloc[-1] == 2.5
    assert table["yes_then_maybe"].iloc[36:].tolist()[:3] == [True, False, True]
    assert pd.isna(table["yes_then_maybe"].iloc[39])
    assert report.unparsed_examples["yes_then_maybe"] == ("maybe",)
    assert report.near_boolean == {"yes_then_words": (6, 40, ("maybe", "unsure"))}
    assert pd.isna(table["word_in_chunk3"].iloc[25])
    assert table["separator_late"].iloc[35:37].tolist() == [1234, 12000000]
    assert table["offset_late"].iloc[37:39].tolist() == [
        pd.Timestamp("2024-01-31 10:00"),
        pd.Timestamp("2024-01-31 08:00"),
    ]
    assert report.as_dict() == {
        "stripped_whitespace": {"all_missing": 10, "padded": 40},
        "became_missing": {
            "missing_late": 1,
            "missing_first": 20,
            "all_missing": 40,
            "flags_missing_late": 1,
        },
        "thousands_separator_to_number": {"separator_late": 2},
        "currency_to_number": {},
        "percent_to_number": {},
        "parentheses_to_negative": {},
        "unparseable_number_to_missing": {"word_in_chunk3": 1},
        "text_to_boolean": {
            "digits_then_yes": 40,
            "yes_then_maybe": 39,
            "flags_missing_late": 39,
        },
        "unparseable_boolean_to_missing": {"yes_then_maybe": 1},
        "timezone_to_utc": {"offset_late": 1},
    }


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_chunked_frames_equal_the_whole_table(size: int) -> None:
    raw = _messy()
    whole, whole_report = normalize(raw, NA)
    chunked, chunked_report = _chunked_normalize(_chunks(raw, size))
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert chunked_report == whole_report  # examples and warnings included


@pytest.mark.parametrize("size", [1, 7, 40])
def test_chunked_csv_equals_the_whole_table(tmp_path: Path, size: int) -> None:
    path = tmp_path / "messy.csv"
    _messy().to_csv(path, index=False)
    whole, whole_report = normalize(read_source(path, CsvConfig()), NA)
    chunked, chunked_report = _chunked_normalize(read=lambda: iter_source(path, CsvConfig(), size))
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert chunked_report == whole_report  # examples and warnings included
    assert len(list(iter_source(path, CsvConfig(), size))) == -(-ROWS // size)


def _decimal_comma() -> pd.DataFrame:
    """40 rows written with decimal ',' (thousands '.'); late rows decide, as in ``_messy``."""
    commas = [f"{i},5" for i in range(ROWS)]
    ints = [str(i) for i in range(ROWS)]
    return pd.DataFrame(
        {
            "comma_float": [*commas[:38], "1.234,25", "-0,75"],  # float64, thousands '.'
            "thousands_late": [*ints[:38], "1.000", "12.000.000"],  # int64: 1000, 12000000
            "word_late": [*commas[:30], "12abc", *commas[31:36], "n.a.", *commas[37:]],
            "dot_decimals": [f"{i}.25" for i in range(ROWS)],  # text: written with '.'
        }
    )


def _decimal_normalize(raw: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    return normalize(raw, NA, decimal=",")


def test_decimal_comma_numbers_parse_with_the_configured_mark() -> None:
    table, report = _decimal_normalize(_decimal_comma())
    assert {c: str(t) for c, t in table.dtypes.items()} == {
        "comma_float": "float64",
        "thousands_late": "int64",
        "word_late": "float64",
        "dot_decimals": "string",
    }
    assert table["comma_float"].tolist()[:2] == [0.5, 1.5]
    assert table["comma_float"].tolist()[-2:] == [1234.25, -0.75]
    assert table["thousands_late"].iloc[-2:].tolist() == [1000, 12000000]
    assert table["word_late"].isna().tolist().count(True) == 2
    assert report.unparsed_numeric == {"word_late": 2}
    assert report.unparsed_examples == {"word_late": ("12abc", "n.a.")}
    assert report.thousands == {"comma_float": 1, "thousands_late": 2}  # thousands separators
    assert report.other_decimal == ("dot_decimals",)


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_chunked_decimal_comma_equals_the_whole_table(size: int) -> None:
    raw = _decimal_comma()
    whole, whole_report = _decimal_normalize(raw)
    plan = normalize_chunks(lambda: iter(_chunks(raw, size)), NA, decimal=",")
    chunked = pd.concat([convert_chunk(c, plan) for c in _chunks(raw, size)], ignore_index=True)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert plan.report == whole_report  # examples and the decimal hint included


@pytest.mark.parametrize("size", [1, 7, 40])
def test_chunked_semicolon_decimal_comma_csv_equals_the_whole_table(
    tmp_path: Path, size: int
) -> None:
    path = tmp_path / "european.csv"
    _decimal_comma().to_csv(path, index=False, sep=";")
    config = CsvConfig(decimal=",")  # delimiter auto: ';' is sniffed, ',' is never a candidate
    whole, whole_report = normalize(read_source(path, config), NA, decimal=",")
    assert str(whole["comma_float"].dtype) == "float64" and whole["comma_float"].iloc[1] == 1.5
    plan = normalize_chunks(lambda: iter_source(path, config, size), NA, decimal=",")
    chunked = pd.concat(
        [convert_chunk(c, plan) for c in iter_source(path, config, size)], ignore_index=True
    )
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert plan.report == whole_report


def _parquet_with_late_nulls(path: Path) -> None:
    # Written by pyarrow (no pandas metadata): an integer or boolean column reads as int64 /
    # bool in row groups without nulls and as float64 / object in those with one.
    table = pa.table(
        {
            "count": pa.array([*list(range(39)), None], pa.int64()),
            "flag": pa.array([True, False] * 19 + [None, True], pa.bool_()),
            "plan": pa.array(["basic", " pro "] * 20, pa.string()),
            "amount": pa.array([str(i) for i in range(39)] + ["1.5"], pa.string()),
            "score": pa.array([float(i) for i in range(40)], pa.float64()),
            # 2024-03-31 00:00 in Berlin is 2024-03-30 23:00 UTC; the clocks change at 02:00
            "when": pa.array(
                [1_711_839_600_000_000 + i * 3_600_000_000 for i in range(39)] + [None],
                pa.timestamp("us", tz="Europe/Berlin"),
            ),
        }
    )
    pq.write_table(table, path, row_group_size=10)


@pytest.mark.parametrize("size", [3, 10, 40])
def test_chunked_parquet_equals_the_whole_table(tmp_path: Path, size: int) -> None:
    path = tmp_path / "late_nulls.parquet"
    _parquet_with_late_nulls(path)
    whole, whole_report = normalize(read_source(path, CsvConfig()), NA)
    assert str(whole["count"].dtype) == "float64" and pd.isna(whole["count"].iloc[-1])
    # A nullable bool column reads as object (True/False/None) and becomes "boolean".
    assert str(whole["flag"].dtype) == "boolean" and whole_report.to_boolean == {"flag": 39}
    assert str(whole["amount"].dtype) == "float64"
    # Zoned date-times become UTC without the zone, counted in the report.
    assert str(whole["when"].dtype) == "datetime64[us]"
    assert whole["when"].iloc[[0, 3]].tolist() == [
        pd.Timestamp("2024-03-30 23:00"),
        pd.Timestamp("2024-03-31 02:00"),
    ]
    assert whole_report.to_utc == {"when": 39} and whole_report.zones == {"when": "Europe/Berlin"}
    chunked, chunked_report = _chunked_normalize(read=lambda: iter_source(path, CsvConfig(), size))
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert chunked_report == whole_report  # examples and warnings included


def test_pandas_parquet_keeps_its_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    raw = pd.DataFrame(
        {
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "s": pd.array(["a", "b", None, " d"], dtype="string"),
            "when": pd.to_datetime(["2024-01-01", None, "2024-01-03", "2024-01-04"]),
            "plan": pd.Categorical(["a", "b", "a", "b"]),
        }
    )
    raw.to_parquet(path, index=False, row_group_size=2)
    whole, _ = normalize(read_source(path, CsvConfig()), NA)
    chunked, _ = _chunked_normalize(read=lambda: iter_source(path, CsvConfig(), 1))
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert str(chunked["n"].dtype) == "Int64" and chunked["s"].tolist()[3] == "d"


def test_infinite_text_makes_a_float_column_not_a_crash() -> None:
    values = [str(i) for i in range(40)] + ["inf"]
    table, report = normalize(pd.DataFrame({"x": values}), NA)
    # "inf" is not a number as exports write them: missing, as the report says.
    assert table["x"].dtype == np.float64 and pd.isna(table["x"].iloc[-1])
    assert report.unparsed_numeric == {"x": 1} and report.unparsed_examples == {"x": ("inf",)}


def test_header_names_are_checked_before_the_first_chunk_is_profiled() -> None:
    seen: list[list[str]] = []
    chunks = _chunks(_messy()[[" padded ", "zero_one"]], 15)
    plan = normalize_chunks(lambda: iter(chunks), NA, on_header=seen.append)
    assert seen == [["padded", "zero_one"]]
    assert plan.rows == ROWS and plan.columns == ("padded", "zero_one")
