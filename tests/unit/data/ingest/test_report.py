"""The normalisation report: every kind of change, counted per column."""

from __future__ import annotations

import pandas as pd

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    normalize,
)

NA = CsvConfig().na_values
CSV = CsvConfig()


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
        "thousands_separator_to_number": {"n": 1},
        "currency_to_number": {},
        "percent_to_number": {},
        "parentheses_to_negative": {},
        "unparseable_number_to_missing": {},
        "text_to_boolean": {"b": 2},
        "unparseable_boolean_to_missing": {},
        "timezone_to_utc": {"t": 2},
    }


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
        "thousands_separator_to_number": {"income": 2},
        "currency_to_number": {},
        "percent_to_number": {},
        "parentheses_to_negative": {},
        "unparseable_number_to_missing": {},
        "text_to_boolean": {"member": 4},
        "unparseable_boolean_to_missing": {},
        "timezone_to_utc": {},
    }
