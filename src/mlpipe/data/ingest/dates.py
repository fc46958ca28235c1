"""Dates stored as text: ISO dates and date-times (optionally with a UTC offset), and the
common forms people write (``31/01/2020``, ``2020/01/31``, ``31.01.2020``, ``5 Jan 2020``,
``Jan 5, 2020``), or the form data.date_format gives.

A form is a strftime format. A column is read with a form when every present value parses
with it (``matches_form``); ``decide_form`` chooses among the forms that do. ``31/01/2020``
(day first) and ``01/31/2020`` (month first) share one shape: the values decide (a first field
above 12 somewhere means day first, a second field above 12 month first); when every value
parses both ways the column is ambiguous and stays text, with a warning naming data.date_format.
"""

from __future__ import annotations

import re

import pandas as pd

# ISO dates, optionally with a time, optionally with a UTC offset after the time ("Z", "+01:00",
# "-0530", "+01").
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
ISO_DATE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}(?:[ T]\d{{2}}:\d{{2}}(?::\d{{2}})?{_OFFSET}?)?$")
ZONED_DATE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}[ T]\d{{2}}:\d{{2}}(?::\d{{2}})?{_OFFSET}$")

DAY_FIRST, MONTH_FIRST = "%d/%m/%Y", "%m/%d/%Y"
_MONTH = r"[A-Za-z]{3,9}"
# The forms recognised without data.date_format, in order of preference (the first that
# parses every value wins, except the ambiguous pair DAY_FIRST / MONTH_FIRST): each with the
# shape a value must have before it is parsed (a cheap filter).
COMMON_FORMS: dict[str, re.Pattern[str]] = {
    DAY_FIRST: re.compile(r"\d{1,2}/\d{1,2}/\d{4}"),
    MONTH_FIRST: re.compile(r"\d{1,2}/\d{1,2}/\d{4}"),
    "%Y/%m/%d": re.compile(r"\d{4}/\d{1,2}/\d{1,2}"),
    "%d.%m.%Y": re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}"),
    "%d %b %Y": re.compile(rf"\d{{1,2}} {_MONTH} \d{{4}}"),
    "%d %B %Y": re.compile(rf"\d{{1,2}} {_MONTH} \d{{4}}"),
    "%b %d, %Y": re.compile(rf"{_MONTH} \d{{1,2}}, \d{{4}}"),
    "%B %d, %Y": re.compile(rf"{_MONTH} \d{{1,2}}, \d{{4}}"),
}
# Any character that a written date has: a value without a digit is never one.
_DIGIT = re.compile(r".*\d.*")


def to_utc_dates(values: pd.Series, form: str | None = None) -> pd.Series:
    """Date text as zone-free UTC datetimes (seconds); missing where a value does not parse.

    ``form`` None: ISO8601, not a format guessed from the first value: mixed date / date-time
    values would otherwise turn into missing values. Values with a UTC offset are converted to
    UTC; values without one are taken as they are (as UTC): no zone in the result. Otherwise
    the strftime ``form`` (e.g. ``%d/%m/%Y``), each value exactly.
    """
    if form is not None:
        dates = pd.to_datetime(values, errors="coerce", format=form)
        if isinstance(dates.dtype, pd.DatetimeTZDtype):
            dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
        return dates.astype("datetime64[s]")
    dates = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    return dates.dt.tz_localize(None).astype("datetime64[s]")


def matches_form(values: pd.Series, form: str) -> pd.Series:
    """Which text ``values`` (present, stripped) are dates written in ``form`` (a bool Series).

    A common form's shape is checked first, so a column of other text costs a regex only.
    """
    shape = COMMON_FORMS.get(form, _DIGIT)
    out = values.str.fullmatch(shape.pattern).fillna(False).astype(bool)
    if out.any():
        parsed = pd.to_datetime(values[out], errors="coerce", format=form)
        out[out] = parsed.notna().to_numpy()
    return out


def decide_form(forms: tuple[str, ...], given: tuple[str, ...] = ()) -> str | None:
    """The form to read a column with, from the ``forms`` every one of its values parses with
    (None: not dates, or ambiguous, see ``ambiguous_form``). A ``given`` form (data.date_format,
    or the schema's) wins over the common ones."""
    for form in given:
        if form in forms:
            return form
    if ambiguous_form(forms, given):
        return None
    return next((form for form in COMMON_FORMS if form in forms), None)


def ambiguous_form(forms: tuple[str, ...], given: tuple[str, ...] = ()) -> bool:
    """True when every value reads as day/month and as month/day, and no given form decides."""
    return not any(form in forms for form in given) and {DAY_FIRST, MONTH_FIRST} <= set(forms)
