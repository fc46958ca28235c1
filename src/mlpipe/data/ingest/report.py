"""What normalisation changed, per column, and the messages a user must see about it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlpipe.data.ingest.booleans import YES_NO
from mlpipe.data.ingest.numbers import NUMERIC_TEXT_SHARE, OTHER_MARK, PERCENT

# Examples of unparseable values kept per column (shown in warnings and scoring errors).
EXAMPLES = 5


@dataclass(frozen=True)
class NormalizeReport:
    """What ``normalize`` changed, per column (counts of values)."""

    stripped: dict[str, int] = field(default_factory=dict)
    to_missing: dict[str, int] = field(default_factory=dict)
    # Numbers written with a thousands separator ("30,200"), a currency sign ("$1,200"), a
    # percent sign ("12%", read as 12) or in parentheses ("(5.00)", read as -5), per column of
    # a numeric column.
    thousands: dict[str, int] = field(default_factory=dict)
    currency: dict[str, int] = field(default_factory=dict)
    percent: dict[str, int] = field(default_factory=dict)
    parentheses: dict[str, int] = field(default_factory=dict)
    unparsed_numeric: dict[str, int] = field(default_factory=dict)
    to_boolean: dict[str, int] = field(default_factory=dict)
    # Values of a boolean column that are not yes/no (they became missing values).
    unparsed_boolean: dict[str, int] = field(default_factory=dict)
    # Date-times with a time zone or UTC offset, converted to UTC (the zone dropped).
    to_utc: dict[str, int] = field(default_factory=dict)
    # Not in ``as_dict`` (the ingest report): up to EXAMPLES raw values per column counted in
    # ``unparsed_numeric`` or ``unparsed_boolean``, and the text columns whose values are numbers
    # written with the other decimal mark (data.csv.decimal is probably wrong for them).
    unparsed_examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    other_decimal: tuple[str, ...] = ()
    decimal: str = "."
    # Not in ``as_dict``: the zone of each column in ``to_utc`` ("UTC offsets" for text).
    zones: dict[str, str] = field(default_factory=dict)
    # Columns kept as text although their values look like numbers, with examples: values with
    # leading zeros ("00123"), and "1,535"-like values (thousands, or the other decimal mark)
    # while another column of the table shows the other decimal mark (see ``plan_normalization``).
    leading_zeros: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Columns kept as text although most of their values are yes/no (>= NEAR_BOOLEAN_SHARE):
    # (values that are not yes/no, present values, up to EXAMPLES of those values).
    near_boolean: dict[str, tuple[int, int, tuple[str, ...]]] = field(default_factory=dict)
    # Not in ``as_dict``: the data.csv.thousands setting; the sign of each column in
    # ``currency`` / ``percent``; numeric columns whose grouped values are all "1,535"-like,
    # read with thousands by the ``auto`` setting (examples); and columns kept as text: numbers
    # with more than one sign or a sign on too few of them ((sign, count) pairs, the column's
    # numbers, examples), and numbers whose separator data.csv.thousands rejects (examples).
    thousands_setting: str = "auto"
    signs: dict[str, str] = field(default_factory=dict)
    assumed_thousands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mixed_signs: dict[str, tuple[tuple[tuple[str, int], ...], int, tuple[str, ...]]] = field(
        default_factory=dict
    )
    rejected_separators: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Not in ``as_dict``: the strftime form of each date column not written in ISO; columns
    # kept as text because their dates read both day first and month first (examples); the
    # saved row index left out ("column 1 (no name)"), if any.
    date_formats: dict[str, str] = field(default_factory=dict)
    ambiguous_dates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    row_index: str | None = None

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "stripped_whitespace": self.stripped,
            "became_missing": self.to_missing,
            "thousands_separator_to_number": self.thousands,
            "currency_to_number": self.currency,
            "percent_to_number": self.percent,
            "parentheses_to_negative": self.parentheses,
            "unparseable_number_to_missing": self.unparsed_numeric,
            "text_to_boolean": self.to_boolean,
            "unparseable_boolean_to_missing": self.unparsed_boolean,
            "timezone_to_utc": self.to_utc,
        }


def report_warnings(report: NormalizeReport) -> list[str]:
    """Messages for what a user must see: unparseable numbers and booleans, yes/no columns
    kept as text, a likely wrong decimal mark and date-times moved to UTC.

    Unparseable values in a numeric column, and values that are not yes/no in a boolean
    column, became missing values: the message names the column, the count and up to EXAMPLES
    raw values. A column that stays text although most of its values are yes/no gets a message
    naming the values that kept it from being boolean. Text columns that are numbers written
    with the other decimal mark get one message naming them and the params.yaml fix; so do
    "1,535"-like columns, read with thousands or kept as text (see ``plan_normalization``), and
    the columns of numbers kept as text for their signs or separators
    (``number_text_warnings``). Date-times with a time zone were converted to UTC and the zone
    dropped: one message per column, naming the zone.
    """
    messages = [
        f"column '{column}': {count} value(s) are not numbers and became missing values, "
        f"e.g. {_shown(report.unparsed_examples.get(column, ()))}"
        for column, count in report.unparsed_numeric.items()
    ]
    messages += [
        f"column '{column}': {count} value(s) are not {YES_NO} and became missing values, "
        f"e.g. {_shown(report.unparsed_examples.get(column, ()))}"
        for column, count in report.unparsed_boolean.items()
    ]
    share = f"{NUMERIC_TEXT_SHARE:.0%}"
    for column, (count, present, examples) in report.near_boolean.items():
        shown = math.floor((present - count) / present * 1000) / 10
        messages.append(
            f"column '{column}': stays text (categorical) although {shown:g}% of its values are "
            f"yes/no: {count} value(s) are not, e.g. {_shown(examples)}. If they are errors, "
            "correct them in the source or add them to data.csv.na_values (missing values); "
            f"a feature column whose values are at least {share} yes/no is read as boolean "
            "(the target only when all are)"
        )
    messages += [
        f"column '{column}': dates like {_shown(examples)} read as day/month and as month/day "
        "(no first or second field above 12), so the column stays text. Set data.date_format "
        "in params.yaml: '%d/%m/%Y' if the day comes first, '%m/%d/%Y' if the month does"
        for column, examples in report.ambiguous_dates.items()
    ]
    messages += [
        f"column '{column}': {count} date-time(s) with a time zone "
        f"({report.zones.get(column, 'UTC offsets')}) converted to UTC; the zone is dropped "
        "(tables after ingest hold UTC times without a zone)"
        for column, count in report.to_utc.items()
    ]
    other = OTHER_MARK[report.decimal]
    if report.other_decimal:
        messages.append(
            f"column(s) {', '.join(report.other_decimal)} hold numbers written with the decimal "
            f"mark {other!r} but data.csv.decimal is {report.decimal!r}, so they stay text "
            f"(categorical). Set data.csv.decimal: {other!r} in params.yaml"
        )
    for column, examples in report.ambiguous.items():
        first, whole, part = _one_group(examples, other)
        messages.append(
            f"column '{column}': values like {_shown(examples)} have one {other!r} group and no "
            f"decimal part: {first!r} is {whole}{part} if {other!r} separates thousands, or "
            f"{whole}.{part} if {other!r} is the decimal mark, and column(s) "
            f"{', '.join(report.other_decimal)} use {other!r} as the decimal mark. The column "
            f"stays text rather than risk a factor of 1000. If {other!r} is the decimal mark set "
            f"data.csv.decimal: {other!r} in params.yaml; if it separates thousands set "
            f"data.csv.thousands: {other!r}"
        )
    for column, examples in report.assumed_thousands.items():
        first, whole, part = _one_group(examples, other)
        messages.append(
            f"column '{column}': values like {_shown(examples)} were read with {other!r} "
            f"separating thousands ({first!r} is {whole}{part}, not {whole}.{part}): "
            f"data.csv.decimal is {report.decimal!r} and data.csv.thousands is auto. If "
            f"{other!r} is the decimal mark of this file set data.csv.decimal: {other!r} in "
            f"params.yaml; if it separates thousands set data.csv.thousands: {other!r} to say "
            "so (no warning then)"
        )
    return messages + number_text_warnings(report)


def number_text_warnings(report: NormalizeReport) -> list[str]:
    """Messages for columns of numbers kept as text because of their signs or separators."""
    share = f"{NUMERIC_TEXT_SHARE:.0%}"
    messages = []
    for column, (signs, numbers, examples) in report.mixed_signs.items():
        if len(signs) > 1:
            counted = ", ".join(f"{sign!r} x{count}" for sign, count in signs)
            messages.append(
                f"column '{column}': its numbers carry different signs ({counted}), e.g. "
                f"{_shown(examples)}, so it stays text (categorical): a column holds one unit. "
                "Convert the values to one currency or unit in the source, or split the column"
            )
        else:
            ((sign, count),) = signs
            messages.append(
                f"column '{column}': only {count} of its {numbers} numbers carry {sign!r}, e.g. "
                f"{_shown(examples)}, so it stays text (categorical) rather than guess the unit "
                f"of the others (a sign must be on at least {share} of them). Write every value "
                "of the column with the sign, or none"
            )
    for column, examples in report.rejected_separators.items():
        messages.append(
            f"column '{column}': values like {_shown(examples)} separate thousands with a "
            f"character data.csv.thousands ({report.thousands_setting!r}) does not accept, so the "
            "column stays text (categorical). Set data.csv.thousands: auto in params.yaml (or "
            "the file's separator)"
        )
    return messages
    return messages


def report_notes(report: NormalizeReport) -> list[str]:
    """Messages for columns kept as text on purpose (numbers written with leading zeros), for
    signs dropped from numbers: which currency, and that "12%" is 12, not 0.12; for dates read
    in a form other than ISO (which form), and for the saved row index left out (first)."""
    notes = [
        f"column '{column}': kept as text because its numbers have leading zeros, e.g. "
        f"{_shown(examples)} (a code such as a zip or account number; converting would drop "
        "the zeros)"
        for column, examples in report.leading_zeros.items()
    ]
    notes += [
        f"column '{column}': {count} value(s) with {report.signs.get(column, '?')!r} read as "
        "numbers without the sign (amounts in that currency; values in parentheses are "
        "negative)"
        for column, count in report.currency.items()
    ]
    notes += [
        f"column '{column}': {count} value(s) with {PERCENT!r} read as numbers as written: "
        "'12%' is 12, not 0.12 (the column keeps the unit it shows)"
        for column, count in report.percent.items()
    ]
    notes += [
        f"column '{column}': dates written as {form} (e.g. {_example_date(form)}), read as dates"
        for column, form in report.date_formats.items()
    ]
    if report.row_index is not None:
        notes.insert(0, f"{report.row_index}: the file's row numbers, not used")
    return notes


def _example_date(form: str) -> str:
    import datetime

    return datetime.date(2020, 1, 31).strftime(form)


def _shown(examples: Iterable[str]) -> str:
    return ", ".join(repr(value) for value in examples) or "(none kept)"


def _one_group(examples: tuple[str, ...], mark: str) -> tuple[str, str, str]:
    """The first "1,535"-like example and its digits before and after ``mark``."""
    first = examples[0] if examples else f"1{mark}234"
    whole, part = re.sub(r"[^\d,.]", "", first).split(mark)
    return first, whole, part
