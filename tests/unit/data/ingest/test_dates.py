"""ISO dates stored as text, and date-times with a time zone, become zone-free UTC datetimes."""

from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    normalize,
    report_warnings,
)

NA = CsvConfig().na_values


def test_iso_dates_become_datetimes() -> None:
    out, _ = normalize(pd.DataFrame({"d": ["2024-01-31", "2024-02-01 10:30", None]}), NA)
    assert str(out["d"].dtype) == "datetime64[s]"
    assert out["d"].iloc[1] == pd.Timestamp("2024-02-01 10:30")
    assert pd.isna(out["d"].iloc[2])


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
