"""Numbers stored as text, the way spreadsheets export them: which values are numbers, and their
values.

A number is written with the decimal mark ``data.csv.decimal`` ("." or ","). Between digit
groups of three it may have a thousands separator (``data.csv.thousands``):

- ``auto`` (the default): the character that cannot be the decimal mark. With decimal "."
  that is "," ("30,200", "1,234,567.89"); with decimal "," it is "." or a space, including
  the non-breaking spaces U+00A0 and U+202F of French exports ("1.234,5", "1 234,5").
- ``none``: no separator; a grouped value is not a number.
- ``","``, ``"."`` or ``" "``: only that character (``" "`` includes the non-breaking spaces).

A value uses one separator throughout; a first group "0" ("0,432") is never grouped. A number
may carry one currency sign (``CURRENCIES``) before or after it ("$1,200", "€ 1.200,50",
"1.200,50 €", "-$5.00", "$-5.00") or a percent sign after it ("12%", read as 12: the column
keeps the unit the user sees), and an accounting negative is written in parentheses
("($5.00)", "(5)"). Whether a column of such values is numeric is decided per column
(``normalize._decide``): one sign per column, on nearly all of its numbers. Values with
leading zeros ("00123") are codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

Thousands = Literal["auto", "none", ",", ".", " "]

# Currency signs read before or after a number; "%" is read after it only.
CURRENCIES = ("$", "€", "£", "¥")
PERCENT = "%"
# What a " " thousands separator also matches: the non-breaking spaces of French exports.
_SPACES = " \u00a0\u202f"
# The decimal mark that is not the configured one (the "1,535" ambiguity, the decimal hint).
OTHER_MARK = {".": ",", ",": "."}
# A number written with leading zeros ("007", "00123", not "0" or "0.5"): a code (zip, account
# number), kept as text so the zeros survive.
LEADING_ZEROS = re.compile(r"^[+-]?0\d")
# A text column becomes numeric when at least this share of its non-missing values parse, and
# boolean when at least this share are yes/no (the rest become missing values, with a warning).
# A currency or percent sign must be on at least this share of a numeric column's numbers.
NUMERIC_TEXT_SHARE = 0.95


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written as text: the ``decimal`` mark and the ``thousands`` setting."""

    decimal: str = "."
    thousands: Thousands = "auto"

    @property
    def separators(self) -> str:
        """The characters accepted between digit groups ('' for none)."""
        if self.thousands == "none":
            return ""
        if self.thousands == "auto":
            return "," if self.decimal == "." else "." + _SPACES
        return _SPACES if self.thousands == " " else self.thousands

    @property
    def other(self) -> NumberFormat:
        """The same numbers written with the other decimal mark (auto separators)."""
        return NumberFormat(OTHER_MARK[self.decimal], "auto")

    @property
    def lenient(self) -> NumberFormat:
        """This decimal mark with the separators ``auto`` accepts."""
        return NumberFormat(self.decimal, "auto")

    @cached_property
    def plain(self) -> re.Pattern[str]:
        """A number without separators or signs ("-12", "3.5", ".5", "1e3")."""
        d = re.escape(self.decimal)
        return re.compile(rf"^[+-]?(?:\d+(?:{d}\d+)?|{d}\d+)(?:[eE][+-]?\d+)?$")

    @cached_property
    def full(self) -> re.Pattern[str]:
        """A number with optional separators, sign, currency / percent sign and parentheses;
        one separator throughout a value (a backreference: Python's ``re`` only)."""
        return self._number_pattern(consistent=True)

    @cached_property
    def candidate(self) -> re.Pattern[str]:
        """``full`` without the one-separator rule and without groups: pyarrow's RE2 runs it
        over a whole column fast; ``full`` then checks the few candidates that are not plain."""
        return self._number_pattern(consistent=False)

    def _number_pattern(self, consistent: bool) -> re.Pattern[str]:
        d = re.escape(self.decimal)
        grouped = ""
        if self.separators:
            seps = re.escape(self.separators)
            grouped = (
                rf"[1-9]\d{{0,2}}(?P<sep>[{seps}])\d{{3}}(?:(?P=sep)\d{{3}})*|"
                if consistent
                else rf"[1-9]\d{{0,2}}(?:[{seps}]\d{{3}})+|"
            )
        money = "".join(re.escape(c) for c in CURRENCIES)
        space = f"[{_SPACES}]?"
        pattern = (
            rf"^(?P<open>\()?(?P<minus>[+-])?(?:(?P<before>[{money}]){space})?(?P<minus2>[+-])?"
            rf"(?P<number>(?:(?:{grouped}\d+)(?:{d}\d+)?|{d}\d+)(?:[eE][+-]?\d+)?)"
            rf"(?:{space}(?P<after>[{money}{re.escape(PERCENT)}]))?(?P<close>\))?$"
        )
        if not consistent:
            pattern = re.sub(r"\(\?P<\w+>", "(?:", pattern)
        return re.compile(pattern)

    @cached_property
    def ambiguous(self) -> re.Pattern[str] | None:
        """One group of the other decimal mark and nothing else ("1,535" with decimal '.'):
        1535, or 1.535 written with the other mark. None when that mark is not a separator."""
        mark = OTHER_MARK[self.decimal]
        if mark not in self.separators:
            return None
        return re.compile(rf"^[1-9]\d{{0,2}}{re.escape(mark)}\d{{3}}$")


@dataclass(frozen=True)
class ParsedText:
    """Text values parsed as numbers, aligned with the input (same index).

    ``number`` is the number as plain text ("-1200.5": no separators, signs or parentheses,
    "." as decimal mark), missing for a value that is not a number. For numbers only:
    ``grouped`` marks values with a thousands separator, ``sign`` holds the currency or
    percent sign ('' for none), ``parentheses`` marks accounting negatives and ``ambiguous``
    the values that are one group of the other decimal mark and nothing else ("1,535", see
    ``NumberFormat.ambiguous``).
    """

    number: pd.Series
    grouped: pd.Series
    sign: pd.Series
    parentheses: pd.Series
    ambiguous: pd.Series

    @property
    def numbers(self) -> pd.Series:
        """Which values are numbers."""
        return self.number.notna()


def parse_text(values: pd.Series, fmt: NumberFormat) -> ParsedText:
    """Which text ``values`` are numbers in ``fmt``, and what they are (see ``ParsedText``).

    One regular expression over all values finds the candidates (a text column ends there);
    only candidates that are not plain numbers ("12", "3.5") have their parts extracted.
    Missing values are not numbers.
    """
    text = values.astype("string")
    present = text.notna().to_numpy(dtype=bool)
    candidate = np.zeros(len(text), dtype=bool)
    candidate[present] = text[present].str.fullmatch(fmt.candidate.pattern).to_numpy(dtype=bool)
    number = pd.Series(pd.NA, index=text.index, dtype="string")
    plain = np.zeros(len(text), dtype=bool)
    if candidate.any():
        found = text[candidate]
        plain[candidate] = found.str.fullmatch(fmt.plain.pattern).to_numpy(dtype=bool)
        written = text[plain]
        if fmt.decimal != ".":
            written = written.str.replace(fmt.decimal, ".", regex=False)
        number[plain] = written
    grouped, parentheses, ambiguous = (np.zeros(len(text), dtype=bool) for _ in range(3))
    sign = np.full(len(text), "", dtype=object)
    # Positions, not labels: a frame's index may repeat labels.
    unmatched = np.flatnonzero(candidate & ~plain)
    if len(unmatched):
        parts = text.iloc[unmatched].str.extract(fmt.full.pattern)  # NaN: not ``full``
        opened, closed = parts["open"].notna(), parts["close"].notna()
        minus = parts["minus"].fillna("") + parts["minus2"].fillna("")
        before, after = parts["before"], parts["after"]
        ok = (
            parts["number"].notna()
            & (opened == closed)
            & (minus.str.len() <= 1)
            & ~(opened & (minus != ""))
            & ~(before.notna() & after.notna())
        ).astype(bool)
        written = parts["number"].where(ok)
        digits = written
        if fmt.separators:
            digits = digits.str.replace(f"[{re.escape(fmt.separators)}]", "", regex=True)
        if fmt.decimal != ".":
            digits = digits.str.replace(fmt.decimal, ".", regex=False)
        digits = digits.mask(ok & ((minus == "-") | opened), "-" + digits)
        number.iloc[unmatched] = digits.astype("string").to_numpy()
        if "sep" in parts:  # no group in the pattern when no separator is accepted
            grouped[unmatched] = (ok & parts["sep"].notna()).to_numpy(dtype=bool)
        parentheses[unmatched] = (ok & opened).to_numpy(dtype=bool)
        sign[unmatched] = before.fillna(after).fillna("").where(ok, "").to_numpy(dtype=object)
        if fmt.ambiguous is not None:
            one_group = written.str.fullmatch(fmt.ambiguous.pattern).fillna(False).astype(bool)
            ambiguous[unmatched] = (ok & one_group).to_numpy(dtype=bool)
    index = text.index
    return ParsedText(
        number=number,
        grouped=pd.Series(grouped, index=index),
        sign=pd.Series(sign, index=index, dtype="string"),
        parentheses=pd.Series(parentheses, index=index),
        ambiguous=pd.Series(ambiguous, index=index),
    )


def is_number(values: pd.Series, fmt: NumberFormat) -> pd.Series:
    """Which text values are numbers in ``fmt`` (a boolean Series, False for missing)."""
    return parse_text(values, fmt).numbers


def to_numbers(values: pd.Series, fmt: NumberFormat) -> pd.Series:
    """Text to float numbers: missing where a value is not a number in ``fmt``.

    A grouped value that is not a number ("0,432" with decimal '.') is missing, never read
    with its separator dropped.
    """
    return number_values(parse_text(values, fmt).number)


def number_values(number: pd.Series) -> pd.Series:
    """Plain number text (``ParsedText.number``) as float numbers; missing stays missing."""
    return pd.to_numeric(number, errors="coerce").astype(np.float64)
