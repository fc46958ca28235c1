"""What normalisation changed, per column, and the messages a user must see about it."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlpipe.data.ingest.booleans import YES_NO
from mlpipe.data.ingest.numbers import NUMERIC_TEXT_SHARE, OTHER_MARK

# Examples of unparseable values kept per column (shown in warnings and scoring errors).
EXAMPLES = 5


@dataclass(frozen=True)
class NormalizeReport:
    """What ``normalize`` changed, per column (counts of values)."""

    stripped: dict[str, int] = field(default_factory=dict)
    to_missing: dict[str, int] = field(default_factory=dict)
    to_numeric: dict[str, int] = field(default_factory=dict)
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
    # leading zeros ("00123"), and values that are thousands or the other decimal mark ("1,535").
    leading_zeros: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Columns kept as text although most of their values are yes/no (>= NEAR_BOOLEAN_SHARE):
    # (values that are not yes/no, present values, up to EXAMPLES of those values).
    near_boolean: dict[str, tuple[int, int, tuple[str, ...]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "stripped_whitespace": self.stripped,
            "became_missing": self.to_missing,
            "text_to_number": self.to_numeric,
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
    with the other decimal mark get one message naming them and the params.yaml fix.
    Date-times with a time zone were converted to UTC and the zone dropped: one message per
    column, naming the zone.
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
        first = examples[0] if examples else f"1{other}234"
        whole, part = first.split(other)
        messages.append(
            f"column '{column}': values like {_shown(examples)} have one {other!r} group and no "
            f"decimal part: {first!r} is {whole}{part} if {other!r} separates thousands, or "
            f"{whole}.{part} if {other!r} is the decimal mark. The column stays text rather than "
            f"risk a factor of 1000. If {other!r} is the decimal mark set data.csv.decimal: "
            f"{other!r} in params.yaml; if it separates thousands, export the numbers without "
            "separators"
        )
    return messages


def report_notes(report: NormalizeReport) -> list[str]:
    """Messages for columns kept as text on purpose: numbers written with leading zeros."""
    return [
        f"column '{column}': kept as text because its numbers have leading zeros, e.g. "
        f"{_shown(examples)} (a code such as a zip or account number; converting would drop "
        "the zeros)"
        for column, examples in report.leading_zeros.items()
    ]


def _shown(examples: Iterable[str]) -> str:
    return ", ".join(repr(value) for value in examples) or "(none kept)"
