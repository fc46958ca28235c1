"""Reading a source table (CSV or Parquet) and normalising the messy parts of real exports.

``iter_source`` / ``read_source`` do the IO and turn every way a file can be unreadable into an
InputError that says what, where and how to fix it. The rest is pure: it strips whitespace, maps
NA markers, converts numbers stored as text, yes/no booleans and ISO dates, and reports how many
values it changed. Id columns, numbers with leading zeros ("00123") and columns whose only
thousands-grouped values are ambiguous ("1,535": 1535 or 1.535?) stay text. Date-times with a
time zone (a Parquet column with a zone, ISO text with a UTC offset such as
``2021-01-01T00:00:00+01:00``) become UTC without a zone: every table after ingest holds
zone-free UTC times, so ranges, splits and drift compare them safely.

A column's conversion depends on all of its values (a column is numeric only if >= 95 % of its
values parse, integral only if all do, boolean only if >= 95 % are yes/no), so a table too big
for memory is normalised in two passes over its chunks: ``profile_chunk`` accumulates mergeable
per-column counts, ``plan_normalization`` fixes each column's conversion from them, and
``convert_chunk`` applies it to each chunk. ``normalize`` runs the same three steps on one
whole frame, so the chunked and the whole-table results are identical.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import itertools
import logging
import math
import re
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlpipe.config import CsvConfig, DataConfig
from mlpipe.io import InputError, open_parquet_stream

log = logging.getLogger(__name__)

_TRUE = {"true", "yes", "y", "t", "1"}
_FALSE = {"false", "no", "n", "f", "0"}
# Every spelling of a yes/no word in any case ("yes", "Yes", "yEs", ...): an exact match is
# cheaper than lower-casing every value of a text column.
_YES_NO_SPELLINGS = frozenset(
    "".join(chars)
    for word in _TRUE | _FALSE
    for chars in itertools.product(*({c.lower(), c.upper()} for c in word))
)
# How the yes/no values a boolean column accepts are described in messages.
YES_NO = "yes/no (true/false, y/n, t/f, 1/0, any case)"
# Numbers stored as text, by decimal mark: the other mark separates thousands ("1,234.5" and
# "1.234,5"); a lone "," never means thousands when it is the decimal mark. A first group "0"
# ("0,432") is never a thousands-separated number.
_NUMBERS = {
    ".": re.compile(r"^[+-]?([1-9]\d{0,2}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$"),
    ",": re.compile(r"^[+-]?([1-9]\d{0,2}(\.\d{3})+|\d+)?(,\d+)?([eE][+-]?\d+)?$"),
}
_THOUSANDS = {".": ",", ",": "."}
# One thousands group and nothing else ("1,535"): 1535, or 1.535 written with the other decimal
# mark. A column whose grouped values are all like this, and which shows no value with a decimal
# part or more groups ("1,234.5", "12,345,678", "7.25"), stays text (see ``_decide``).
_AMBIGUOUS = {
    ".": re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$"),
    ",": re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$"),
}
# A number written with leading zeros ("007", "00123", not "0" or "0.5"): a code (zip, account
# number), kept as text so the zeros survive.
LEADING_ZEROS = re.compile(r"^[+-]?0\d")
# Examples of unparseable values kept per column (shown in warnings and scoring errors).
EXAMPLES = 5
# ISO dates, optionally with a time, optionally with a UTC offset after the time ("Z", "+01:00",
# "-0530", "+01").
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
_DATE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}(?:[ T]\d{{2}}:\d{{2}}(?::\d{{2}})?{_OFFSET}?)?$")
_ZONED_DATE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}[ T]\d{{2}}:\d{{2}}(?::\d{{2}})?{_OFFSET}$")
# A text column becomes numeric when at least this share of its non-missing values parse, and
# boolean when at least this share are yes/no (the rest become missing values, with a warning).
NUMERIC_TEXT_SHARE = 0.95
# A text column that stays text although at least this share of its values are yes/no gets a
# warning naming the other values (they kept it from being boolean).
NEAR_BOOLEAN_SHARE = 0.8
_SNIFF_BYTES = 256 * 1024

Conversion = Literal["boolean", "date", "integer", "float", "text"]
# Which rule makes a text column boolean (see ``_decide``).
_BooleanRule = Literal["data", "labels", "schema"]


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


@dataclass(frozen=True)
class TextProfile:
    """Counts over the values of one text column seen so far; two profiles merge by adding.

    Values are counted after stripping whitespace and mapping NA markers to missing. The flags
    are "so far" facts (false once one value disproves them); ``integral`` means every value is
    present and parses to a finite whole number. ``other_numbers`` counts values that are numbers
    only with the other decimal mark; ``examples`` keeps the first EXAMPLES distinct values that
    are not numbers.
    ``offsets`` counts ISO date-times with a UTC offset (tracked while ``all_dates`` holds).
    ``ambiguous`` counts numbers with exactly one thousands group ("1,535"), ``unambiguous``
    the numbers that show the decimal mark is right ("1,234.5", "12,345,678", "7.25");
    ``leading_zeros`` counts numbers written with leading zeros ("00123");
    ``zero_examples`` and ``ambiguous_examples`` keep the first EXAMPLES distinct values of each.
    ``trues`` and ``falses`` count yes/no values (``_TRUE`` / ``_FALSE``, any case), of which
    ``digit_booleans`` are "1" or "0"; ``boolean_examples`` keeps the first EXAMPLES distinct
    values that are not yes/no.
    """

    present: int = 0
    stripped: int = 0
    to_missing: int = 0
    numbers: int = 0
    other_numbers: int = 0
    separators: int = 0
    offsets: int = 0
    examples: tuple[str, ...] = ()
    ambiguous: int = 0
    unambiguous: int = 0
    leading_zeros: int = 0
    zero_examples: tuple[str, ...] = ()
    ambiguous_examples: tuple[str, ...] = ()
    trues: int = 0
    falses: int = 0
    digit_booleans: int = 0
    boolean_examples: tuple[str, ...] = ()
    all_dates: bool = True
    integral: bool = True

    @property
    def booleans(self) -> int:
        """Present values that are yes/no."""
        return self.trues + self.falses

    @property
    def all_boolean(self) -> bool:
        return self.booleans == self.present

    @property
    def all_digits(self) -> bool:
        """Every present value is "1" or "0" (a 0/1 column is numeric, not boolean)."""
        return self.digit_booleans == self.present


@dataclass(frozen=True)
class Profile:
    """What pass 1 learnt about a table: columns (stripped names), dtypes and text counts.

    ``dtypes`` lists every pandas dtype a column had in some chunk: a Parquet integer or
    boolean column reads as float64 / object only in the chunks that hold a null.
    ``zoned`` counts the present values of columns with a time zone (datetime64[.., tz]).
    """

    columns: tuple[str, ...]
    rows: int
    dtypes: dict[str, tuple[Any, ...]]
    text: dict[str, TextProfile]
    decimal: str = "."
    zoned: dict[str, int] = field(default_factory=dict)

    @property
    def table_dtypes(self) -> dict[str, Any]:
        """Each column's dtype in the whole table (numpy's promotion of the chunks' dtypes)."""
        return {column: _common_dtype(seen) for column, seen in self.dtypes.items()}

    @property
    def consistent(self) -> bool:
        """True when every column had one dtype in all chunks."""
        return all(len(seen) == 1 for seen in self.dtypes.values())


@dataclass(frozen=True)
class Plan:
    """The fixed per-column decisions that ``convert_chunk`` applies to every chunk."""

    columns: tuple[str, ...]
    rows: int
    dtypes: dict[str, Any]
    conversions: dict[str, Conversion]
    markers: frozenset[str]
    report: NormalizeReport
    decimal: str = "."


# --- reading sources ---------------------------------------------------------------------------


def read_source(path: str | Path, csv_config: CsvConfig) -> pd.DataFrame:
    """Read a CSV or Parquet file whole; raise InputError for any unreadable input."""
    return next(iter_source(path, csv_config, None))


def iter_source(
    path: str | Path, csv_config: CsvConfig, chunk_rows: int | None
) -> Iterator[pd.DataFrame]:
    """Raw chunks of at most ``chunk_rows`` rows of a CSV or Parquet file (None: one chunk).

    CSV cells are text (NA markers included: ``normalize`` maps and counts them). Any unreadable
    input, also one found in a late chunk, is an InputError; at least one non-empty chunk is
    yielded otherwise.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path}: source file not found. Put your table there and `dvc add` it, or set "
            "data.source in params.yaml to the file's path."
        )
    if path.is_dir():
        raise InputError(f"{path}: is a directory; data.source must name a .csv or .parquet file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); expected a header and rows")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        yield from _parquet_chunks(path, chunk_rows)
    elif suffix in (".csv", ".tsv", ".txt"):
        yield from _csv_chunks(path, csv_config, chunk_rows)
    else:
        raise InputError(f"{path}: unsupported file type '{suffix}'; use .csv, .tsv or .parquet")


def _parquet_chunks(path: Path, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    import pyarrow as pa

    def step(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None

    handle = step(lambda: open_parquet_stream(path))
    with handle:
        _check_header(path, handle.schema_arrow.names)
        if handle.metadata.num_rows == 0:
            raise InputError(f"{path}: the table has columns but no rows")
        if chunk_rows is None:
            yield step(lambda: pd.read_parquet(path, engine="pyarrow"))
            return
        batches = iter(handle.iter_batches(batch_size=chunk_rows))
        while (batch := step(lambda: next(batches, None))) is not None:
            yield batch.to_pandas()


def sniff_delimiter(path: Path, config: CsvConfig, sample: str) -> str:
    """The configured delimiter, or the one csv.Sniffer finds in ``sample``.

    The default is ','; with decimal ',' the decimal mark is never a candidate and the default
    is ';'.
    """
    if config.delimiter != "auto":
        return "\t" if config.delimiter == "\\t" else config.delimiter
    if path.suffix.lower() == ".tsv":
        return "\t"
    candidates = ",;\t|".replace(config.decimal, "")
    try:
        return csv.Sniffer().sniff(sample, delimiters=candidates).delimiter
    except csv.Error:
        return candidates[0]


def _csv_layout(path: Path, config: CsvConfig) -> tuple[str, list[str]]:
    """The delimiter and header of a CSV file, checked on its first 256 KiB."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    try:
        sample = head.decode(config.encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte char cut by the sample's end
            line = head[: exc.start].count(b"\n") + 1
            raise _encoding_error(path, config, head[exc.start], exc.start, line) from None
        sample = head[: exc.start].decode(config.encoding)
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the file holds only blank lines; expected a header and rows")
    delimiter = sniff_delimiter(path, config, sample)
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    _check_header(path, header)
    if len(header) == 1 and len(lines) > 1 and any(d in lines[0] for d in ",;\t|"):
        if config.decimal == "," and "," in lines[0]:
            raise InputError(
                f"{path}: the header parsed as a single column {header[0]!r}; the file looks "
                "comma-delimited, but data.csv.decimal is ',' so ',' cannot be the delimiter. "
                "Set data.csv.decimal: '.' in params.yaml (a comma-delimited file writes "
                "decimals with '.')"
            )
        raise InputError(
            f"{path}: the header parsed as a single column {header[0]!r} with delimiter "
            f"{delimiter!r}; set data.csv.delimiter in params.yaml to the file's delimiter"
        )
    return delimiter, header


def _csv_chunks(path: Path, config: CsvConfig, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    delimiter, header = _csv_layout(path, config)
    options: dict[str, Any] = {
        "sep": delimiter,
        "encoding": config.encoding,
        # Every cell is read as text; `normalize` maps NA markers and counts them.
        "keep_default_na": False,
        "dtype": str,
        "skipinitialspace": False,
        "index_col": False,
    }

    def step(read: Callable[[], Any]) -> Any:
        try:
            with warnings.catch_warnings():
                # A row with more fields than the header must not silently become the index
                # (pandas' default) or lose its last fields (index_col=False warns): an error.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return read()
        except UnicodeDecodeError as exc:
            raise _late_encoding_error(path, config, exc) from None
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            raise InputError(
                f"{path}: rows do not match the header ({exc}). Check data.csv.delimiter and "
                "quoting"
            ) from None

    rows = 0
    if chunk_rows is None:
        frame = step(lambda: pd.read_csv(path, **options))
        rows = len(frame)
        if rows:
            yield frame
    else:
        with step(lambda: pd.read_csv(path, chunksize=chunk_rows, **options)) as reader:
            while (chunk := step(lambda: next(reader, None))) is not None:
                if len(chunk):
                    rows += len(chunk)
                    yield chunk
    if rows == 0:
        raise InputError(f"{path}: only a header line ({len(header)} columns), no data rows")


def _late_encoding_error(path: Path, config: CsvConfig, exc: UnicodeDecodeError) -> InputError:
    """The error for bytes past the sniffed sample that pandas could not decode."""
    decoder = codecs.getincrementaldecoder(config.encoding)()
    offset, lines = 0, 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(block)
            except UnicodeDecodeError as found:
                data = pending + block
                at = offset - len(pending) + found.start
                line = lines + data[: found.start].count(b"\n") + 1 - pending.count(b"\n")
                return _encoding_error(path, config, data[found.start], at, line)
            offset += len(block)
            lines += block.count(b"\n")
    return InputError(
        f"{path}: bytes that are not valid {config.encoding} ({exc.reason}). Re-export the "
        "file as UTF-8 or set data.csv.encoding in params.yaml (e.g. latin-1)"
    )


def _encoding_error(
    path: Path, config: CsvConfig, byte: int, offset: int, line: int
) -> InputError:
    return InputError(
        f"{path}: byte {byte:#04x} at offset {offset} (line {line}) is not valid "
        f"{config.encoding}. Re-export the file as UTF-8 or set data.csv.encoding in params.yaml "
        "(e.g. latin-1)"
    )


def _check_header(path: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for name in names:
        seen[name.strip()] = seen.get(name.strip(), 0) + 1
    duplicates = sorted(name for name, count in seen.items() if count > 1)
    if duplicates:
        raise InputError(
            f"{path}: duplicate column names {duplicates}; every column needs a unique name"
        )
    blank = [i for i, name in enumerate(names) if not str(name).strip()]
    if blank:
        raise InputError(f"{path}: column(s) at position {blank} have an empty name")


def check_roles(columns: Iterable[Hashable], data: DataConfig, source: str | Path) -> None:
    """Raise InputError when a column named in params.yaml [data] is not in ``columns``.

    ``columns`` is a table (its column names) or the names themselves. Checked at ingest, on
    the header, so a wrong name stops the pipeline before anything is written or trained.
    """
    columns = [str(c) for c in columns]
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    named = [("data.target", data.target)]
    named += [("data.id_columns", c) for c in data.id_columns]
    if data.date_column is not None:
        named.append(("data.date_column", data.date_column))
    for key, names in (
        ("data.numeric_features", data.numeric_features),
        ("data.categorical_features", data.categorical_features),
        ("data.boolean_features", data.boolean_features),
    ):
        named += [(key, c) for c in names or ()]
    for key, name in named:
        if name not in columns:
            raise InputError(
                f"{source}: {key} names column '{name}', which is not in the file; its "
                f"{len(columns)} columns are: {shown}. Fix {key} in params.yaml"
            )


# --- normalising -------------------------------------------------------------------------------


def clean_names(columns: Iterable[Hashable]) -> list[str]:
    """Column names as the normalised table has them (text, stripped)."""
    return [str(c).strip() for c in columns]


def normalize(
    frame: pd.DataFrame,
    na_values: tuple[str, ...],
    decimal: str = ".",
    keep_text: Iterable[str] = (),
    *,
    booleans: Iterable[str] = (),
    labels: Iterable[str] = (),
) -> tuple[pd.DataFrame, NormalizeReport]:
    """Tidy a raw table: whitespace, NA markers, numbers, booleans and dates stored as text.

    Column names are stripped too. Columns that are already typed (from Parquet) pass through.
    ``decimal`` is the decimal mark of numbers stored as text (data.csv.decimal). Text columns
    named in ``keep_text`` (id columns) are only stripped and NA-mapped, never converted.
    ``booleans`` and ``labels`` change the boolean rule for some columns (see ``_decide``):
    ``booleans`` are columns a schema declares boolean, ``labels`` the target.
    Returns a new frame and a report of every change, by column.
    """
    profile = profile_chunk(frame, na_values, decimal=decimal)
    plan = plan_normalization(profile, na_values, keep_text, booleans=booleans, labels=labels)
    return convert_chunk(frame, plan), plan.report


def normalize_chunks(
    read: Callable[[], Iterable[pd.DataFrame]],
    na_values: tuple[str, ...],
    on_header: Callable[[list[str]], None] | None = None,
    decimal: str = ".",
    keep_text: Iterable[str] = (),
    labels: Iterable[str] = (),
) -> Plan:
    """Pass 1 over the chunks ``read()`` yields: the plan ``convert_chunk`` applies to each.

    ``on_header(names)`` is called with the normalised column names before the first chunk is
    profiled (to check them early). A column whose dtype differs between chunks (a Parquet
    integer or boolean column with nulls in some row groups only) is profiled again with the
    whole table's dtype, so the plan is the one ``normalize`` makes for the whole table.
    """
    profile = _profile_all(read(), na_values, None, on_header, decimal)
    if not profile.consistent:
        profile = _profile_all(read(), na_values, profile.table_dtypes, None, decimal)
    return plan_normalization(profile, na_values, keep_text, labels=labels)


def _profile_all(
    chunks: Iterable[pd.DataFrame],
    na_values: tuple[str, ...],
    dtypes: dict[str, Any] | None,
    on_header: Callable[[list[str]], None] | None,
    decimal: str,
) -> Profile:
    profile = None
    for chunk in chunks:
        if profile is None and on_header is not None:
            on_header(clean_names(chunk.columns))
        profile = profile_chunk(chunk, na_values, profile, dtypes, decimal)
    if profile is None:
        raise InputError("the source yielded no rows")  # iter_source never does this
    return profile


def profile_chunk(
    frame: pd.DataFrame,
    na_values: tuple[str, ...],
    so_far: Profile | None = None,
    dtypes: dict[str, Any] | None = None,
    decimal: str = ".",
) -> Profile:
    """``so_far`` merged with the counts of ``frame`` (one chunk of the table).

    ``decimal`` is the decimal mark of numbers stored as text ('.' or ',').

    ``dtypes`` casts columns first (the whole table's dtypes, when chunks disagree). Work that
    cannot change the decision any more (e.g. date checks once a non-date was seen) is skipped.
    """
    frame = _with_dtypes(frame, dtypes or {})
    columns = tuple(frame.columns)
    if so_far is not None and columns != so_far.columns:
        raise InputError(
            f"a chunk has columns {list(columns)}, the first had {list(so_far.columns)}"
        )
    markers = _markers(na_values)
    seen = {} if so_far is None else so_far.dtypes
    text = {} if so_far is None else so_far.text
    zoned = {} if so_far is None else so_far.zoned
    new_dtypes: dict[str, tuple[Any, ...]] = {}
    new_text: dict[str, TextProfile] = {}
    new_zoned: dict[str, int] = {}
    for column in columns:
        series = frame[column]
        before = seen.get(column, ())
        new_dtypes[column] = before if series.dtype in before else (*before, series.dtype)
        if _is_text(series):
            values, stripped, missing = _clean(series, markers)
            new_text[column] = _profile_text(
                values, stripped, missing, text.get(column, TextProfile()), decimal
            )
        elif column in text:
            new_text[column] = text[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            new_zoned[column] = zoned.get(column, 0) + int(series.notna().sum())
        elif column in zoned:
            new_zoned[column] = zoned[column]
    rows = len(frame) + (0 if so_far is None else so_far.rows)
    return Profile(
        columns=columns,
        rows=rows,
        dtypes=new_dtypes,
        text=new_text,
        decimal=decimal,
        zoned=new_zoned,
    )


def plan_normalization(
    profile: Profile,
    na_values: tuple[str, ...],
    keep_text: Iterable[str] = (),
    *,
    booleans: Iterable[str] = (),
    labels: Iterable[str] = (),
) -> Plan:
    """Fix each text column's conversion from its whole-table counts; build the report.

    Columns in ``keep_text`` (id columns) stay text whatever their values look like. Columns in
    ``booleans`` (declared boolean by a schema) and ``labels`` (the target) follow their own
    boolean rule (see ``_decide``).
    """
    report = NormalizeReport(decimal=profile.decimal)
    conversions: dict[str, Conversion] = {}
    other_decimal: list[str] = []
    keep, schema_booleans, targets = set(keep_text), set(booleans), set(labels)
    for column, counts in profile.text.items():
        if counts.stripped:
            report.stripped[column] = counts.stripped
        if counts.to_missing:
            report.to_missing[column] = counts.to_missing
        if column in keep:
            conversions[column] = "text"
            continue
        rule: _BooleanRule = (
            "schema" if column in schema_booleans else "labels" if column in targets else "data"
        )
        conversions[column] = conversion = _decide(counts, rule)
        if conversion == "text" and _near_boolean(counts):
            report.near_boolean[column] = (
                counts.present - counts.booleans,
                counts.present,
                counts.boolean_examples,
            )
        if conversion == "text" and counts.leading_zeros and _numeric_share(counts):
            report.leading_zeros[column] = counts.zero_examples
        elif conversion == "text" and _other_decimal(counts):
            other_decimal.append(column)
        elif conversion == "text" and _is_ambiguous(counts) and _numeric_share(counts):
            report.ambiguous[column] = counts.ambiguous_examples
        if conversion == "boolean":
            report.to_boolean[column] = counts.booleans
            if counts.present - counts.booleans:
                report.unparsed_boolean[column] = counts.present - counts.booleans
                report.unparsed_examples[column] = counts.boolean_examples
        elif conversion == "date" and counts.offsets:
            report.to_utc[column] = counts.offsets
            report.zones[column] = "UTC offsets"
        elif conversion in ("integer", "float"):
            if counts.separators:
                report.to_numeric[column] = counts.separators
            if counts.present - counts.numbers:
                report.unparsed_numeric[column] = counts.present - counts.numbers
                report.unparsed_examples[column] = counts.examples
    for column, count in profile.zoned.items():
        dtype = profile.table_dtypes[column]
        if count and isinstance(dtype, pd.DatetimeTZDtype):
            report.to_utc[column] = count
            report.zones[column] = str(dtype.tz)
    return Plan(
        columns=profile.columns,
        rows=profile.rows,
        dtypes=profile.table_dtypes,
        conversions=conversions,
        markers=_markers(na_values),
        report=dataclasses.replace(report, other_decimal=tuple(other_decimal)),
        decimal=profile.decimal,
    )


def convert_chunk(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One chunk converted with the plan's fixed decisions (a new frame; the input is kept)."""
    out = _with_dtypes(frame, plan.dtypes)
    for column, conversion in plan.conversions.items():
        values, _, _ = _clean(out[column], plan.markers)
        out[column] = _convert(values, conversion, plan.decimal)
    for column, dtype in plan.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _other_decimal(counts: TextProfile) -> bool:
    """True when a text column would be numeric with the other decimal mark."""
    return bool(counts.present) and (
        (counts.numbers + counts.other_numbers) / counts.present >= NUMERIC_TEXT_SHARE
        and counts.other_numbers > 0
    )


def _numeric_share(counts: TextProfile) -> bool:
    """True when enough of a column's values parse as numbers (with this decimal mark)."""
    return bool(counts.present) and counts.numbers / counts.present >= NUMERIC_TEXT_SHARE


def _boolean_share(counts: TextProfile) -> float:
    """The share of a column's present values that are yes/no (0 for an empty column)."""
    return counts.booleans / counts.present if counts.present else 0.0


def _likely_boolean(counts: TextProfile, share: float) -> bool:
    """True when at least ``share`` of the values are yes/no, both a yes and a no value occur,
    and not all of them are 1/0 digits.

    Both answers are required so that a mostly-'F' column of 'F'/'M' codes, whose 'F' only
    looks like false, is not read as a boolean with every 'M' missing.
    """
    return (
        _boolean_share(counts) >= share
        and counts.trues > 0
        and counts.falses > 0
        and counts.digit_booleans < counts.booleans
    )


def _near_boolean(counts: TextProfile) -> bool:
    """True when a column that stays text is mostly yes/no (worth a warning naming the rest)."""
    return not counts.all_boolean and _likely_boolean(counts, NEAR_BOOLEAN_SHARE)


def _is_ambiguous(counts: TextProfile) -> bool:
    """True when every thousands-grouped value is "1,535"-like and nothing shows the mark."""
    return counts.ambiguous > 0 and counts.unambiguous == 0


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
    other = _THOUSANDS[report.decimal]
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


def _decide(counts: TextProfile, rule: _BooleanRule = "data") -> Conversion:
    """A text column's conversion from its whole-table counts.

    Booleans: a column whose values are all yes/no (any case) is boolean, unless they are all
    1/0 digits (a number). With the ``"data"`` rule a column is boolean also when at least
    NUMERIC_TEXT_SHARE of its values are yes/no (both a yes and a no among them, not only
    digits) and it is not numeric by the same share: the other values become missing, as
    unparseable text does in a numeric column. The ``"labels"`` rule (the target, whose
    rare values are classes, not typos) needs all values yes/no. The ``"schema"`` rule (a
    column the schema declares boolean, e.g. in a batch to score) needs only the share, 1/0
    digits and a single answer included.
    """
    if counts.present == 0:
        return "text"
    if counts.all_boolean and not counts.all_digits:
        return "boolean"
    if rule == "schema" and _boolean_share(counts) >= NUMERIC_TEXT_SHARE:
        return "boolean"
    if counts.all_dates:
        return "date"
    if (
        rule == "data"
        and _likely_boolean(counts, NUMERIC_TEXT_SHARE)
        and not _numeric_share(counts)
    ):
        return "boolean"
    if counts.leading_zeros or _is_ambiguous(counts):
        return "text"
    if counts.numbers / counts.present >= NUMERIC_TEXT_SHARE:
        return "integer" if counts.integral else "float"
    return "text"


def _convert(values: pd.Series, conversion: Conversion, decimal: str) -> pd.Series:
    if conversion == "boolean":
        return yes_no(values)
    if conversion == "date":
        # ISO8601, not a format guessed from the first value: mixed date / date-time values
        # would otherwise turn into missing values. Values with a UTC offset are converted to
        # UTC; values without one are taken as they are (as UTC): no zone in the result.
        dates = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
        return dates.dt.tz_localize(None).astype("datetime64[s]")
    if conversion in ("integer", "float"):
        numbers = _numbers(values, decimal)
        return numbers.astype(np.int64 if conversion == "integer" else np.float64)
    return values


def yes_no_categories(categories: Iterable[object]) -> bool:
    """True when categories include yes/no words other than "True"/"False" (e.g. 'Y', 'no').

    Such a categorical column was text in the training data (ingest kept it so, e.g. for a
    'maybe' among its values), so a batch must keep it as text too: read as booleans, its
    values would be 'True'/'False', categories the model never saw.
    """
    words = {str(c) for c in categories if str(c).strip().lower() in _TRUE | _FALSE}
    return bool(words - {"True", "False", "0", "1"})


def yes_no(values: pd.Series) -> pd.Series:
    """Text as a nullable boolean Series: True / False for yes/no values (``_TRUE`` /
    ``_FALSE``, any case, whitespace stripped), missing for anything else."""
    lower = values.astype("string").str.strip().str.lower()
    flags = lower.isin(_TRUE).astype("boolean")
    return flags.mask(~(flags | lower.isin(_FALSE)).fillna(False).astype(bool))


def _profile_text(
    values: pd.Series, stripped: int, missing: int, prior: TextProfile, decimal: str
) -> TextProfile:
    present = values.dropna()
    all_dates = prior.all_dates and bool(present.str.fullmatch(_DATE.pattern).all())
    offsets = int(present.str.fullmatch(_ZONED_DATE.pattern).sum()) if all_dates else 0
    is_number = _is_number(present, decimal)
    other = present[~is_number]
    numbers = present[is_number]
    # Yes/no values: "1"/"0" among the numbers, words and letters among the rest, found by
    # exact match with every spelling (no lower-cased copy of a large text column).
    ones, noughts = int((numbers == "1").sum()), int((numbers == "0").sum())
    is_word = other.isin(_YES_NO_SPELLINGS).to_numpy(dtype=bool)
    true_words = int(other[is_word].str.lower().isin(_TRUE).sum())
    false_words = int(is_word.sum()) - true_words
    boolean_examples = prior.boolean_examples
    if len(boolean_examples) < EXAMPLES:
        is_boolean = np.zeros(len(present), dtype=bool)
        number_mask = is_number.to_numpy(dtype=bool)
        is_boolean[number_mask] = numbers.isin(("0", "1")).to_numpy(dtype=bool)
        is_boolean[~number_mask] = is_word
        boolean_examples = _more_examples(boolean_examples, present[~is_boolean])
    # Only the values that failed are tried with the other mark (cheap for numeric columns).
    other_numbers = int(_is_number(other, _THOUSANDS[decimal]).sum())
    examples = prior.examples
    if len(examples) < EXAMPLES and len(other):
        for value in other.unique():
            if len(examples) == EXAMPLES:
                break
            if value not in examples:
                examples = (*examples, str(value))
    integral = prior.integral and len(present) == len(values) and _whole_numbers(values, decimal)
    thousands = _THOUSANDS[decimal]
    zeros = numbers[numbers.str.match(LEADING_ZEROS.pattern)]
    ambiguous = numbers[numbers.str.fullmatch(_AMBIGUOUS[decimal].pattern)]
    grouped = numbers.str.contains(thousands, regex=False)
    with_fraction = numbers.str.contains(decimal, regex=False)
    return TextProfile(
        present=prior.present + len(present),
        stripped=prior.stripped + stripped,
        to_missing=prior.to_missing + missing,
        numbers=prior.numbers + int(is_number.sum()),
        other_numbers=prior.other_numbers + other_numbers,
        separators=prior.separators + int(grouped.sum()),
        offsets=prior.offsets + offsets,
        examples=examples,
        ambiguous=prior.ambiguous + len(ambiguous),
        unambiguous=prior.unambiguous + int((with_fraction | grouped).sum()) - len(ambiguous),
        leading_zeros=prior.leading_zeros + len(zeros),
        zero_examples=_more_examples(prior.zero_examples, zeros),
        ambiguous_examples=_more_examples(prior.ambiguous_examples, ambiguous),
        trues=prior.trues + ones + true_words,
        falses=prior.falses + noughts + false_words,
        digit_booleans=prior.digit_booleans + ones + noughts,
        boolean_examples=boolean_examples,
        all_dates=all_dates,
        integral=integral,
    )


def _more_examples(examples: tuple[str, ...], values: pd.Series) -> tuple[str, ...]:
    """``examples`` plus the first distinct ``values`` not in it, at most EXAMPLES in all."""
    if len(examples) >= EXAMPLES or not len(values):
        return examples
    for value in values.unique()[: EXAMPLES * 2]:
        if len(examples) == EXAMPLES:
            break
        if value not in examples:
            examples = (*examples, str(value))
    return examples


def _is_number(present: pd.Series, decimal: str) -> pd.Series:
    """Which present text values are numbers written with the decimal mark ``decimal``."""
    matches = present.str.fullmatch(_NUMBERS[decimal].pattern)
    return (matches & (present != "") & (present != decimal)).astype(bool)


def _whole_numbers(values: pd.Series, decimal: str) -> bool:
    """True when every value parses to a finite whole number (a text column fails fast)."""
    for part in (values.iloc[:64], values):
        numbers = _numbers(part, decimal).astype(np.float64).to_numpy()
        if not (np.isfinite(numbers).all() and (numbers == np.floor(numbers)).all()):
            return False
    return True


def _numbers(values: pd.Series, decimal: str) -> pd.Series:
    """Text to numbers (missing where a value does not parse), thousands separators dropped.

    A value with a thousands mark that is not a number by ``_NUMBERS`` ("0,432" with decimal
    '.') is missing, not read with its separator dropped.
    """
    thousands = _THOUSANDS[decimal]
    grouped = values.str.contains(thousands, regex=False).fillna(False).astype(bool)
    if grouped.any():
        values = values.where(~grouped | _is_number(values.fillna(""), decimal))
    text = values.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def _clean(series: pd.Series, markers: frozenset[str]) -> tuple[pd.Series, int, int]:
    """Stripped text with NA markers as missing; how many values were stripped / marked."""
    text = series.astype("string")
    stripped = text.str.strip()
    changed = int(((stripped != text) & text.notna()).sum())
    is_marker = stripped.str.lower().isin(markers) & stripped.notna()
    return stripped.mask(is_marker), changed, int(is_marker.sum())


def _markers(na_values: tuple[str, ...]) -> frozenset[str]:
    return frozenset({m.strip().lower() for m in na_values} | {""})


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def _with_dtypes(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with stripped column names, columns cast to ``dtypes`` where they differ."""
    out = frame.set_axis(clean_names(frame.columns), axis=1)
    for column, dtype in dtypes.items():
        if out[column].dtype != dtype:
            out[column] = out[column].astype(dtype)
    return out


def _common_dtype(dtypes: tuple[Any, ...]) -> Any:
    if len(dtypes) == 1:
        return dtypes[0]
    if all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        categories = pd.Index(np.concatenate([d.categories.to_numpy() for d in dtypes])).unique()
        return pd.CategoricalDtype(categories, ordered=dtypes[0].ordered)
    try:
        return np.result_type(*dtypes)
    except TypeError:
        return np.dtype(object)
