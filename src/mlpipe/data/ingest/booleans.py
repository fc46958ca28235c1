"""Yes/no values stored as text ("yes", "N", "true", "1", any case)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pandas as pd

TRUE_WORDS = {"true", "yes", "y", "t", "1"}

FALSE_WORDS = {"false", "no", "n", "f", "0"}

# Every spelling of a yes/no word in any case ("yes", "Yes", "yEs", ...): an exact match is
# cheaper than lower-casing every value of a text column.
YES_NO_SPELLINGS = frozenset(
    "".join(chars)
    for word in TRUE_WORDS | FALSE_WORDS
    for chars in itertools.product(*({c.lower(), c.upper()} for c in word))
)

# How the yes/no values a boolean column accepts are described in messages.
YES_NO = "yes/no (true/false, y/n, t/f, 1/0, any case)"

# A text column that stays text although at least this share of its values are yes/no gets a
# warning naming the other values (they kept it from being boolean).
NEAR_BOOLEAN_SHARE = 0.8


def yes_no_categories(categories: Iterable[object]) -> bool:
    """True when categories include yes/no words other than "True"/"False" (e.g. 'Y', 'no').

    Such a categorical column was text in the training data (ingest kept it so, e.g. for a
    'maybe' among its values), so a batch must keep it as text too: read as booleans, its
    values would be 'True'/'False', categories the model never saw.
    """
    words = {str(c) for c in categories if str(c).strip().lower() in TRUE_WORDS | FALSE_WORDS}
    return bool(words - {"True", "False", "0", "1"})


def yes_no(values: pd.Series) -> pd.Series:
    """Text as a nullable boolean Series: True / False for yes/no values (``TRUE_WORDS`` /
    ``FALSE_WORDS``, any case, whitespace stripped), missing for anything else."""
    lower = values.astype("string").str.strip().str.lower()
    flags = lower.isin(TRUE_WORDS).astype("boolean")
    return flags.mask(~(flags | lower.isin(FALSE_WORDS)).fillna(False).astype(bool))
