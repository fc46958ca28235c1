"""ISO dates and date-times stored as text, optionally with a UTC offset."""

from __future__ import annotations

import re

import pandas as pd

# ISO dates, optionally with a time, optionally with a UTC offset after the time ("Z", "+01:00",
# "-0530", "+01").
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
ISO_DATE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}(?:[ T]\d{{2}}:\d{{2}}(?::\d{{2}})?{_OFFSET}?)?$")
ZONED_DATE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}[ T]\d{{2}}:\d{{2}}(?::\d{{2}})?{_OFFSET}$")


def to_utc_dates(values: pd.Series) -> pd.Series:
    """ISO date text as zone-free UTC datetimes (seconds); missing where a value does not parse.

    ISO8601, not a format guessed from the first value: mixed date / date-time values would
    otherwise turn into missing values. Values with a UTC offset are converted to UTC; values
    without one are taken as they are (as UTC): no zone in the result.
    """
    dates = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    return dates.dt.tz_localize(None).astype("datetime64[s]")
