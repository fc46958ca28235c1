"""Numbers stored as text: which values are numbers, and their values.

A value is a number written with the configured decimal mark ("." or ","); the other mark may
separate thousands ("1,234.5", "1.234,5"). Values with leading zeros ("00123") are codes.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Numbers stored as text, by decimal mark: the other mark separates thousands ("1,234.5" and
# "1.234,5"); a lone "," never means thousands when it is the decimal mark. A first group "0"
# ("0,432") is never a thousands-separated number.
NUMBER_PATTERNS = {
    ".": re.compile(r"^[+-]?([1-9]\d{0,2}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$"),
    ",": re.compile(r"^[+-]?([1-9]\d{0,2}(\.\d{3})+|\d+)?(,\d+)?([eE][+-]?\d+)?$"),
}

OTHER_MARK = {".": ",", ",": "."}

# One thousands group and nothing else ("1,535"): 1535, or 1.535 written with the other decimal
# mark. A column whose grouped values are all like this, and which shows no value with a decimal
# part or more groups ("1,234.5", "12,345,678", "7.25"), stays text (see ``normalize._decide``).
AMBIGUOUS = {
    ".": re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$"),
    ",": re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$"),
}

# A number written with leading zeros ("007", "00123", not "0" or "0.5"): a code (zip, account
# number), kept as text so the zeros survive.
LEADING_ZEROS = re.compile(r"^[+-]?0\d")

# A text column becomes numeric when at least this share of its non-missing values parse, and
# boolean when at least this share are yes/no (the rest become missing values, with a warning).
NUMERIC_TEXT_SHARE = 0.95


def is_number(present: pd.Series, decimal: str) -> pd.Series:
    """Which present text values are numbers written with the decimal mark ``decimal``."""
    matches = present.str.fullmatch(NUMBER_PATTERNS[decimal].pattern)
    return (matches & (present != "") & (present != decimal)).astype(bool)


def whole_numbers(values: pd.Series, decimal: str) -> bool:
    """True when every value parses to a finite whole number (a text column fails fast)."""
    for part in (values.iloc[:64], values):
        numbers = parse_numbers(part, decimal).astype(np.float64).to_numpy()
        if not (np.isfinite(numbers).all() and (numbers == np.floor(numbers)).all()):
            return False
    return True


def parse_numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text to numbers (missing where a value does not parse), thousands separators dropped.

    A value with a thousands mark that is not a number by ``NUMBER_PATTERNS`` ("0,432" with decimal
    '.') is missing, not read with its separator dropped.
    """
    thousands = OTHER_MARK[decimal]
    grouped = values.str.contains(thousands, regex=False).fillna(False).astype(bool)
    if grouped.any():
        values = values.where(~grouped | is_number(values.fillna(""), decimal))
    text = values.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce")
