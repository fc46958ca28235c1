"""Dates stored as text (ISO, the common forms people write, data.date_format), and date-times
with a time zone, become zone-free UTC datetimes; a column that reads both day first and month
first stays text with a warning."""

from __future__ import annotations

import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    convert_chunk,
    normalize,
    normalize_chunks,
    report_notes,
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


# --- dates as people write them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "form"),
    [
        (["13/01/2020", "02/03/2021", "1/2/2020"], "%d/%m/%Y"),  # 13 > 12: the day comes first
        (["01/13/2020", "03/02/2021", "2/1/2020"], "%m/%d/%Y"),  # 13 > 12: the month first
        (["2020/01/31", "2021/3/2", "2020/02/01"], "%Y/%m/%d"),
        (["31.01.2020", "02.03.2021", "1.2.2020"], "%d.%m.%Y"),
        (["31 Jan 2020", "2 Mar 2021", "1 feb 2020"], "%d %b %Y"),
        (["31 January 2020", "2 March 2021", "1 February 2020"], "%d %B %Y"),
        (["Jan 31, 2020", "Mar 2, 2021", "Feb 1, 2020"], "%b %d, %Y"),
        (["January 31, 2020", "March 2, 2021", "February 1, 2020"], "%B %d, %Y"),
    ],
)
def test_common_date_forms_are_read_and_named(values: list[str], form: str) -> None:
    out, report = normalize(pd.DataFrame({"d": [*values, None]}), NA)
    assert str(out["d"].dtype) == "datetime64[s]"
    assert out["d"].iloc[1] == pd.Timestamp("2021-03-02")  # the second value is 2 March
    assert pd.isna(out["d"].iloc[3])
    assert report.date_formats == {"d": form} and report.ambiguous_dates == {}
    assert report_notes(report) == [
        f"column 'd': dates written as {form} (e.g. "
        f"{pd.Timestamp('2020-01-31').strftime(form)}), read as dates"
    ]


def test_day_and_month_first_read_the_same_dates() -> None:
    out, _ = normalize(pd.DataFrame({"d": ["13/01/2020", "02/03/2021"]}), NA)
    assert out["d"].tolist() == [pd.Timestamp("2020-01-13"), pd.Timestamp("2021-03-02")]
    out, _ = normalize(pd.DataFrame({"d": ["01/13/2020", "03/02/2021"]}), NA)
    assert out["d"].tolist() == [pd.Timestamp("2020-01-13"), pd.Timestamp("2021-03-02")]


def test_a_column_that_reads_both_ways_stays_text_with_a_warning_naming_date_format() -> None:
    raw = pd.DataFrame({"d": ["01/02/2020", "03/04/2020", "12/11/2020"]})
    out, report = normalize(raw, NA)
    assert str(out["d"].dtype) == "string"
    assert report.ambiguous_dates == {"d": ("01/02/2020", "03/04/2020", "12/11/2020")}
    assert report_warnings(report) == [
        "column 'd': dates like '01/02/2020', '03/04/2020', '12/11/2020' read as day/month and "
        "as month/day (no first or second field above 12), so the column stays text. Set "
        "data.date_format in params.yaml: '%d/%m/%Y' if the day comes first, '%m/%d/%Y' if the "
        "month does"
    ]
    out, report = normalize(raw, NA, date_format="%m/%d/%Y")  # data.date_format decides
    assert out["d"].tolist()[0] == pd.Timestamp("2020-01-02")
    assert report.date_formats == {"d": "%m/%d/%Y"} and report_warnings(report) == []


@pytest.mark.parametrize(
    "values",
    [
        ["13/01/2020", "31/02/2020"],  # no 31 February
        ["13/01/2020", "13/13/2020"],  # neither way
        ["13/01/2020", "2020-01-13"],  # two forms in one column
        ["13-01-2020", "14-01-2020"],  # not a recognised form
        ["5 Jan 2020", "5 Jan"],
    ],
)
def test_a_column_with_a_value_in_no_form_stays_text(values: list[str]) -> None:
    out, report = normalize(pd.DataFrame({"d": values}), NA)
    assert str(out["d"].dtype) == "string" and report.date_formats == {}


def test_date_format_reads_a_form_of_its_own() -> None:
    raw = pd.DataFrame({"d": ["20200131", "20210302"], "n": ["1", "2"]})
    out, report = normalize(raw, NA, date_format="%Y%m%d")
    assert out["d"].tolist() == [pd.Timestamp("2020-01-31"), pd.Timestamp("2021-03-02")]
    assert report.date_formats == {"d": "%Y%m%d"}
    assert str(out["n"].dtype) == "int64"  # 1 and 2 are numbers, not dates in that form


@pytest.mark.parametrize("size", [2, 3])
def test_the_deciding_value_in_the_last_chunk_decides_every_chunk(size: int) -> None:
    values = ["01/02/2020"] * 9 + ["13/02/2020"]  # only the last row says: day first
    raw = pd.DataFrame({"d": values, "amb": ["01/02/2020"] * 10})

    def read():
        return (raw.iloc[i : i + size] for i in range(0, len(raw), size))

    plan = normalize_chunks(read, NA)
    out = pd.concat([convert_chunk(c, plan) for c in read()], ignore_index=True)
    whole, report = normalize(raw, NA)
    pd.testing.assert_frame_equal(out, whole)
    assert out["d"].iloc[0] == pd.Timestamp("2020-02-01")  # 1 February, read day first
    assert plan.date_formats == {"d": "%d/%m/%Y"} and str(out["amb"].dtype) == "string"
    assert plan.report.ambiguous_dates == report.ambiguous_dates == {"amb": ("01/02/2020",)}
