"""Reading a source table (CSV or Parquet) and normalising the messy parts of real exports.

The parts, by concern:

- ``read``: the IO (``iter_source`` / ``read_source``), delimiter sniffing and header checks;
  every way a file can be unreadable is an InputError that says what, where and how to fix it.
- ``roles``: the column names params.yaml gives (data roles, evaluate.slices), checked
  against the file's header.
- ``normalize``: the pure two-pass normalisation (profile, plan, convert) of whitespace, NA
  markers, numbers, booleans and dates stored as text.
- ``numbers``, ``booleans``, ``dates``: what a number, a yes/no value and a date (ISO, a
  common form, data.date_format) look like as text, and their conversion.
- ``rowindex``: a saved row index (pandas' or R's row numbers as the first column), left out.
- ``unlabelled``: rows without a target, set aside (``data.unlabelled: drop``), and the map
  from the ingested table's rows to the source's (``source_rows``).
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
    merge_profiles,
    normalize,
    normalize_chunks,
    plan_normalization,
    positioned,
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
from mlpipe.data.ingest.roles import check_roles, check_slices
from mlpipe.data.ingest.rowindex import ROW_INDEX_NAMES, RowNumbers
from mlpipe.data.ingest.unlabelled import (
    ROW,
    UNLABELLED_WARN_SHARE,
    ingest_chunk,
    no_labels_message,
    set_aside,
    source_rows,
    unlabelled_message,
    unlabelled_warning,
)

__all__ = [
    "EXAMPLES",
    "LEADING_ZEROS",
    "NEAR_BOOLEAN_SHARE",
    "NUMERIC_TEXT_SHARE",
    "ROW",
    "ROW_INDEX_NAMES",
    "UNLABELLED_WARN_SHARE",
    "YES_NO",
    "Conversion",
    "NormalizeReport",
    "NumberFormat",
    "Plan",
    "Profile",
    "RowNumbers",
    "TextProfile",
    "Thousands",
    "check_roles",
    "check_slices",
    "clean_names",
    "convert_chunk",
    "ingest_chunk",
    "iter_source",
    "merge_profiles",
    "no_labels_message",
    "normalize",
    "normalize_chunks",
    "number_text_warnings",
    "plan_normalization",
    "positioned",
    "profile_chunk",
    "read_source",
    "report_notes",
    "report_warnings",
    "set_aside",
    "sniff_delimiter",
    "source_rows",
    "unlabelled_message",
    "unlabelled_warning",
    "yes_no",
    "yes_no_categories",
]
