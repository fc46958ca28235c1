"""Reading a source table (CSV or Parquet) and normalising the messy parts of real exports.

The parts, by concern:

- ``read``: the IO (``iter_source`` / ``read_source``), delimiter sniffing and header checks;
  every way a file can be unreadable is an InputError that says what, where and how to fix it.
- ``roles``: the column names params.yaml gives, checked against the file's header.
- ``normalize``: the pure two-pass normalisation (profile, plan, convert) of whitespace, NA
  markers, numbers, booleans and dates stored as text.
- ``numbers``, ``booleans``, ``dates``: what a number, a yes/no value and an ISO date look
  like as text, and their conversion.
- ``report``: ``NormalizeReport`` (what changed, per column) and the messages about it.

Every public name is importable from here.
"""

from mlpipe.data.ingest.booleans import NEAR_BOOLEAN_SHARE, YES_NO, yes_no, yes_no_categories
from mlpipe.data.ingest.normalize import (
    Conversion,
    Plan,
    Profile,
    TextProfile,
    clean_names,
    convert_chunk,
    normalize,
    normalize_chunks,
    plan_normalization,
    profile_chunk,
)
from mlpipe.data.ingest.numbers import LEADING_ZEROS, NUMERIC_TEXT_SHARE, NumberFormat, Thousands
from mlpipe.data.ingest.read import iter_source, read_source, sniff_delimiter
from mlpipe.data.ingest.report import (
    EXAMPLES,
    NormalizeReport,
    number_text_warnings,
    report_notes,
    report_warnings,
)
from mlpipe.data.ingest.roles import check_roles

__all__ = [
    "EXAMPLES",
    "LEADING_ZEROS",
    "NEAR_BOOLEAN_SHARE",
    "NUMERIC_TEXT_SHARE",
    "YES_NO",
    "Conversion",
    "NormalizeReport",
    "NumberFormat",
    "Plan",
    "Profile",
    "TextProfile",
    "Thousands",
    "check_roles",
    "clean_names",
    "convert_chunk",
    "iter_source",
    "normalize",
    "normalize_chunks",
    "number_text_warnings",
    "plan_normalization",
    "profile_chunk",
    "read_source",
    "report_notes",
    "report_warnings",
    "sniff_delimiter",
    "yes_no",
    "yes_no_categories",
]
