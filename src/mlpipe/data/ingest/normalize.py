"""Normalising a raw table: whitespace, NA markers, numbers, booleans and dates stored as text.

It strips whitespace, maps NA markers, converts numbers stored as text, yes/no booleans and ISO
dates, and reports how many values it changed. Id columns, numbers with leading zeros ("00123")
and columns whose only thousands-grouped values are ambiguous ("1,535": 1535 or 1.535?) stay
text. Date-times with a time zone (a Parquet column with a zone, ISO text with a UTC offset such
as ``2021-01-01T00:00:00+01:00``) become UTC without a zone: every table after ingest holds
zone-free UTC times, so ranges, splits and drift compare them safely.

A column's conversion depends on all of its values (a column is numeric only if >= 95 % of its
values parse, integral only if all do, boolean only if >= 95 % are yes/no), so a table too big
for memory is normalised in two passes over its chunks: ``profile_chunk`` accumulates mergeable
per-column counts, ``plan_normalization`` fixes each column's conversion from them, and
``convert_chunk`` applies it to each chunk. ``normalize`` runs the same three steps on one
whole frame, so the chunked and the whole-table results are identical.

The text columns of a chunk are cleaned, profiled and converted together, stacked into one
Series (``_Stack``): a pandas string operation has a fixed cost per call, which a table of a
thousand columns would otherwise pay a thousand times. Every test works value by value and
the counts are summed per column, so the result is the one column by column.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlpipe.data.ingest.booleans import (
    NEAR_BOOLEAN_SHARE,
    TRUE_WORDS,
    YES_NO_SPELLINGS,
    yes_no,
)
from mlpipe.data.ingest.dates import (
    COMMON_FORMS,
    ISO_DATE,
    ZONED_DATE,
    ambiguous_form,
    decide_form,
    matches_form,
    to_utc_dates,
)
from mlpipe.data.ingest.numbers import (
    LEADING_ZEROS,
    NUMERIC_TEXT_SHARE,
    PERCENT,
    NumberFormat,
    Thousands,
    is_number,
    number_values,
    parse_text,
)
from mlpipe.data.ingest.report import EXAMPLES, NormalizeReport
from mlpipe.data.ingest.rowindex import (
    RowNumbers,
    check_row_numbers,
    merge_row_numbers,
    row_index_candidate,
)
from mlpipe.io import InputError

Conversion = Literal["boolean", "date", "integer", "float", "text"]

# How pass 1 maps a function over the chunks: results in the chunks' order (an executor's
# ``map_chunks``; the local one calls the function here).
MapChunks = Callable[[Iterable[pd.DataFrame], Callable[[pd.DataFrame], Any]], Iterable[Any]]

# Which rule makes a text column boolean (see ``_decide``).
_BooleanRule = Literal["data", "labels", "schema"]


@dataclass(frozen=True)
class TextProfile:
    """Counts over the values of one text column seen so far; two profiles merge by adding.

    Values are counted after stripping whitespace and mapping NA markers to missing. The flags
    are "so far" facts (false once one value disproves them); ``integral`` means every value is
    present and parses to a finite whole number. ``other_numbers`` counts values that are numbers
    only with the other decimal mark; ``examples`` keeps the first EXAMPLES distinct values that
    are not numbers.
    ``offsets`` counts ISO date-times with a UTC offset (tracked while ``all_dates`` holds).
    ``date_forms`` are the date forms (strftime formats, see ``dates``) that every value so far
    parses with.
    ``ambiguous`` counts numbers with exactly one thousands group ("1,535"), ``unambiguous``
    the numbers that show the decimal mark is right ("1,234.5", "12,345,678", "7.25");
    ``leading_zeros`` counts numbers written with leading zeros ("00123");
    ``zero_examples`` and ``ambiguous_examples`` keep the first EXAMPLES distinct values of each.
    ``separators`` counts numbers written with a thousands separator, ``parentheses`` the
    accounting negatives ("(5.00)"), ``signs`` the numbers per currency or percent sign
    (sorted by sign) and ``sign_examples`` keeps the first EXAMPLES of them; ``rejected``
    counts values that are numbers only with a separator data.csv.thousands does not accept
    ("30,200" when it is 'none'), ``rejected_examples`` keeps the first EXAMPLES of them.
    ``trues`` and ``falses`` count yes/no values (``TRUE_WORDS`` / ``FALSE_WORDS``, any case),
    of which ``digit_booleans`` are "1" or "0"; ``boolean_examples`` keeps the first EXAMPLES
    distinct values that are not yes/no.
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
    parentheses: int = 0
    signs: tuple[tuple[str, int], ...] = ()
    sign_examples: tuple[str, ...] = ()
    rejected: int = 0
    rejected_examples: tuple[str, ...] = ()
    all_dates: bool = True
    integral: bool = True
    date_forms: tuple[str, ...] = tuple(COMMON_FORMS)

    @property
    def signed(self) -> int:
        """Numbers written with a currency or percent sign."""
        return sum(count for _, count in self.signs)

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
    ``forms`` are the date forms checked besides the common ones (data.date_format, the
    schema's); ``row_index`` the check of a first column that may be the file's row numbers.
    """

    columns: tuple[str, ...]
    rows: int
    dtypes: dict[str, tuple[Any, ...]]
    text: dict[str, TextProfile]
    decimal: str = "."
    zoned: dict[str, int] = field(default_factory=dict)
    thousands: Thousands = "auto"
    forms: tuple[str, ...] = ()
    row_index: RowNumbers | None = None

    @property
    def number_format(self) -> NumberFormat:
        return NumberFormat(self.decimal, self.thousands)

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
    """The fixed per-column decisions that ``convert_chunk`` applies to every chunk.

    ``columns`` are the table's columns after ``dropped`` (a saved row index) is left out;
    ``date_formats`` the strftime form of each date column not written in ISO.
    """

    columns: tuple[str, ...]
    rows: int
    dtypes: dict[str, Any]
    conversions: dict[str, Conversion]
    markers: frozenset[str]
    report: NormalizeReport
    decimal: str = "."
    thousands: Thousands = "auto"
    dropped: tuple[str, ...] = ()
    date_formats: dict[str, str] = field(default_factory=dict)


def clean_names(columns: Iterable[Hashable]) -> list[str]:
    """Column names as the normalised table has them (text, stripped)."""
    return [str(c).strip() for c in columns]


def normalize(
    frame: pd.DataFrame,
    na_values: tuple[str, ...],
    decimal: str = ".",
    keep_text: Iterable[str] = (),
    *,
    thousands: Thousands = "auto",
    booleans: Iterable[str] = (),
    labels: Iterable[str] = (),
    date_format: str | None = None,
) -> tuple[pd.DataFrame, NormalizeReport]:
    """Tidy a raw table: whitespace, NA markers, numbers, booleans and dates stored as text.

    Column names are stripped too. Columns that are already typed (from Parquet) pass through.
    ``decimal`` and ``thousands`` say how numbers stored as text are written (data.csv.decimal
    and data.csv.thousands, see ``numbers``). Text columns named in ``keep_text`` (id columns)
    are only stripped and NA-mapped, never converted.
    ``booleans`` and ``labels`` change the boolean rule for some columns (see ``_decide``):
    ``booleans`` are columns a schema declares boolean, ``labels`` the target.
    ``date_format`` (data.date_format) is the form of dates written as text, besides ISO and
    the common forms (see ``dates``). A first column that holds the file's row numbers is left
    out (see ``rowindex``).
    Returns a new frame and a report of every change, by column.
    """
    forms = () if date_format is None else (date_format,)
    profile = profile_chunk(frame, na_values, decimal=decimal, thousands=thousands, forms=forms)
    plan = plan_normalization(
        profile, na_values, keep_text, booleans=booleans, labels=labels, date_format=date_format
    )
    return convert_chunk(frame, plan), plan.report


def normalize_chunks(
    read: Callable[[], Iterable[pd.DataFrame]],
    na_values: tuple[str, ...],
    on_header: Callable[[list[str]], None] | None = None,
    decimal: str = ".",
    keep_text: Iterable[str] = (),
    labels: Iterable[str] = (),
    thousands: Thousands = "auto",
    date_format: str | None = None,
    source: str = "the table",
    date_column: str | None = None,
    map_chunks: MapChunks | None = None,
) -> Plan:
    """Pass 1 over the chunks ``read()`` yields: the plan ``convert_chunk`` applies to each.

    ``on_header(names)`` is called with the normalised column names before the first chunk is
    profiled (to check them early). A column whose dtype differs between chunks (a Parquet
    integer or boolean column with nulls in some row groups only) is profiled again with the
    whole table's dtype, so the plan is the one ``normalize`` makes for the whole table.
    ``date_format``: see ``normalize``; ``source`` names the file in errors; a text
    ``date_column`` that ``date_format`` does not read is an error (see ``plan_normalization``).

    Each chunk is profiled on its own (``profile_chunk``; a chunk's index holds its rows'
    positions in the source) by ``map_chunks`` (an executor's, e.g. Dask tasks; default: in
    this process), and the profiles are merged in source order (``merge_profiles``): the
    same plan as one pass over the whole table, whatever the chunks.
    """
    fmt = NumberFormat(decimal, thousands)
    forms = () if date_format is None else (date_format,)
    mapper: MapChunks = map_chunks or _map_here
    profile = _profile_all(mapper, read(), na_values, None, on_header, fmt, forms)
    if not profile.consistent:
        profile = _profile_all(mapper, read(), na_values, profile.table_dtypes, None, fmt, forms)
    return plan_normalization(
        profile,
        na_values,
        keep_text,
        labels=labels,
        date_format=date_format,
        where=source,
        date_column=date_column,
    )


def _map_here(chunks: Iterable[pd.DataFrame], function: Callable[[pd.DataFrame], Any]):
    """The local engine's ``map_chunks``: ``function`` of each chunk, in order, here."""
    return map(function, chunks)


def _profile_all(
    map_chunks: MapChunks,
    chunks: Iterable[pd.DataFrame],
    na_values: tuple[str, ...],
    dtypes: dict[str, Any] | None,
    on_header: Callable[[list[str]], None] | None,
    fmt: NumberFormat,
    forms: tuple[str, ...] = (),
) -> Profile:
    def headed() -> Iterator[pd.DataFrame]:
        for number, chunk in enumerate(positioned(chunks)):
            if number == 0 and on_header is not None:
                on_header(clean_names(chunk.columns))
            yield chunk

    profile = None
    job = functools.partial(
        _profile_one,
        na_values=na_values,
        dtypes=dtypes,
        decimal=fmt.decimal,
        thousands=fmt.thousands,
        forms=forms,
    )
    for part in map_chunks(headed(), job):
        profile = part if profile is None else merge_profiles(profile, part)
    if profile is None:
        raise InputError("the source yielded no rows")  # iter_source never does this
    return profile


def positioned(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The chunks, each indexed by its rows' positions in the source (0-based, running on
    from chunk to chunk), so a function of one chunk knows where its rows are."""
    start = 0
    for chunk in chunks:
        yield chunk.set_axis(pd.RangeIndex(start, start + len(chunk)), axis=0)
        start += len(chunk)


def _profile_one(
    chunk: pd.DataFrame,
    na_values: tuple[str, ...],
    dtypes: dict[str, Any] | None,
    decimal: str,
    thousands: Thousands,
    forms: tuple[str, ...],
) -> Profile:
    """``profile_chunk`` of one chunk whose index holds its rows' positions in the source."""
    first = int(chunk.index[0]) if len(chunk) else 0
    return profile_chunk(
        chunk, na_values, None, dtypes, decimal, thousands, forms=forms, first_row=first
    )


def merge_profiles(a: Profile, b: Profile) -> Profile:
    """The profile of ``a``'s rows followed by ``b``'s (each profiled on its own, e.g. by a
    Dask task): counts added, "so far" flags and date forms intersected, examples kept in
    row order. Equal to profiling ``b`` with ``so_far=a`` as far as the plan can tell."""
    if a.columns != b.columns:
        raise InputError(f"a chunk has columns {list(b.columns)}, the first had {list(a.columns)}")
    dtypes = {
        column: (*seen, *(d for d in b.dtypes.get(column, ()) if d not in seen))
        for column, seen in a.dtypes.items()
    }
    text = {}
    for column in a.columns:
        if column in a.text and column in b.text:
            text[column] = merge_text_profiles(a.text[column], b.text[column])
        elif column in a.text or column in b.text:
            text[column] = a.text.get(column) or b.text[column]
    zoned = {
        column: a.zoned.get(column, 0) + b.zoned.get(column, 0)
        for column in a.columns
        if column in a.zoned or column in b.zoned
    }
    return dataclasses.replace(
        a,
        rows=a.rows + b.rows,
        dtypes=dtypes,
        text=text,
        zoned=zoned,
        row_index=merge_row_numbers(a.row_index, b.row_index),
    )


_ADDED = (
    "present",
    "stripped",
    "to_missing",
    "numbers",
    "other_numbers",
    "separators",
    "offsets",
    "ambiguous",
    "unambiguous",
    "leading_zeros",
    "trues",
    "falses",
    "digit_booleans",
    "parentheses",
    "rejected",
)
_EXAMPLES = (
    "examples",
    "zero_examples",
    "ambiguous_examples",
    "boolean_examples",
    "sign_examples",
    "rejected_examples",
)


def merge_text_profiles(a: TextProfile, b: TextProfile) -> TextProfile:
    """One text column's counts over ``a``'s rows then ``b``'s (see ``merge_profiles``).

    ``offsets`` are added whatever ``all_dates`` says: the plan reads them only for a column
    that is all dates, where every chunk counted them.
    """
    signs = dict(a.signs)
    for sign, count in b.signs:
        signs[sign] = signs.get(sign, 0) + count
    return TextProfile(
        **{key: getattr(a, key) + getattr(b, key) for key in _ADDED},
        **{key: _add_examples(getattr(a, key), list(getattr(b, key))) for key in _EXAMPLES},
        signs=tuple(sorted(signs.items())),
        all_dates=a.all_dates and b.all_dates,
        integral=a.integral and b.integral,
        date_forms=tuple(form for form in a.date_forms if form in b.date_forms),
    )


def profile_chunk(
    frame: pd.DataFrame,
    na_values: tuple[str, ...],
    so_far: Profile | None = None,
    dtypes: dict[str, Any] | None = None,
    decimal: str = ".",
    thousands: Thousands = "auto",
    *,
    forms: tuple[str, ...] = (),
    first_row: int = 0,
) -> Profile:
    """``so_far`` merged with the counts of ``frame`` (one chunk of the table).

    ``decimal`` is the decimal mark of numbers stored as text ('.' or ','), ``thousands`` the
    data.csv.thousands setting (see ``numbers``). ``forms``: date forms checked besides the
    common ones (ignored with ``so_far``: its own are kept). ``first_row``: the 0-based data
    row of the file the first chunk starts at (``so_far``: its rows).

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
    fmt = NumberFormat(decimal, thousands)
    forms = forms if so_far is None else so_far.forms
    fresh = TextProfile(date_forms=tuple(dict.fromkeys((*forms, *COMMON_FORMS))))
    first = first_row if so_far is None else so_far.rows
    row_index = None if so_far is None else so_far.row_index
    if so_far is None and (candidate := row_index_candidate(columns)) is not None:
        row_index = RowNumbers(candidate)
    if row_index is not None:
        row_index = check_row_numbers(frame[row_index.column], first, row_index)
    seen = {} if so_far is None else so_far.dtypes
    text = {} if so_far is None else so_far.text
    zoned = {} if so_far is None else so_far.zoned
    new_dtypes: dict[str, tuple[Any, ...]] = {}
    new_text: dict[str, TextProfile] = {}
    new_zoned: dict[str, int] = {}
    text_columns = []
    for column, dtype in frame.dtypes.items():
        before = seen.get(column, ())
        new_dtypes[column] = before if dtype in before else (*before, dtype)
        if _is_text(frame[column]):
            text_columns.append(column)
        elif column in text:
            new_text[column] = text[column]
        if isinstance(dtype, pd.DatetimeTZDtype):
            new_zoned[column] = zoned.get(column, 0) + int(frame[column].notna().sum())
        elif column in zoned:
            new_zoned[column] = zoned[column]
    for stack in _stacks(frame, text_columns):
        values, stripped, missing = _clean(stack.values, markers)
        priors = [text.get(column, fresh) for column in stack.columns]
        profiles = _profile_text(
            values, stack.counts(stripped), stack.counts(missing), priors, fmt
        )
        new_text.update(zip(stack.columns, profiles, strict=True))
    new_text = {column: new_text[column] for column in columns if column in new_text}
    rows = len(frame) + (0 if so_far is None else so_far.rows)
    return Profile(
        columns=columns,
        rows=rows,
        dtypes=new_dtypes,
        text=new_text,
        decimal=decimal,
        zoned=new_zoned,
        thousands=thousands,
        forms=forms,
        row_index=row_index,
    )


def plan_normalization(
    profile: Profile,
    na_values: tuple[str, ...],
    keep_text: Iterable[str] = (),
    *,
    booleans: Iterable[str] = (),
    labels: Iterable[str] = (),
    date_format: str | None = None,
    date_formats: Mapping[str, str] | None = None,
    where: str = "the table",
    date_column: str | None = None,
) -> Plan:
    """Fix each text column's conversion from its whole-table counts; build the report.

    Dates written as text: ISO, or a form every value of the column parses with (``dates``):
    ``date_format`` (data.date_format) first, then the common forms; a column whose values
    read both day first and month first stays text (``report.ambiguous_dates``). A column in
    ``date_formats`` (the schema's, for a batch) is a date only in ISO or in its own form.
    A first column without a name that is not the file's row numbers is an InputError naming
    ``where``; one with row numbers is left out (``Plan.dropped``). So is a text
    ``date_column`` (data.date_column) that ``date_format`` does not read (nor ISO).

    Columns in ``keep_text`` (id columns) stay text whatever their values look like. Columns in
    ``booleans`` (declared boolean by a schema) and ``labels`` (the target) follow their own
    boolean rule (see ``_decide``).

    With data.csv.thousands ``auto``, a column whose only grouped values are "1,535"-like (one
    group of the other decimal mark, no decimal part anywhere) is read with thousands (and a
    warning), unless another column of the table holds numbers written with the other decimal
    mark: then the file is likely written with that mark, and the column stays text.
    """
    dropped = _row_index(profile.row_index, where)
    report = NormalizeReport(
        decimal=profile.decimal,
        thousands_setting=profile.thousands,
        row_index=profile.row_index.describe() if dropped else None,
    )
    conversions: dict[str, Conversion] = {}
    forms: dict[str, str] = {}
    keep, schema_booleans, targets = set(keep_text), set(booleans), set(labels)
    given = () if date_format is None else (date_format,)
    other_decimal = tuple(
        column
        for column, counts in profile.text.items()
        if column not in keep and not _numeric_share(counts) and _other_decimal(counts)
    )
    trust_groups = profile.thousands != "auto" or not other_decimal
    for column, counts in profile.text.items():
        if column in dropped:
            continue
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
        own = (date_formats or {}).get(column)
        alive = (
            counts.date_forms if own is None else tuple(f for f in counts.date_forms if f == own)
        )
        column_given = given if own is None else (own,)
        form = None if counts.all_dates or not counts.present else decide_form(alive, column_given)
        if form is not None:
            forms[column] = form
        conversions[column] = conversion = _decide(counts, rule, trust_groups, form is not None)
        if conversion == "text" and counts.present and ambiguous_form(alive, column_given):
            report.ambiguous_dates[column] = counts.examples
        if conversion == "text" and _near_boolean(counts):
            report.near_boolean[column] = (
                counts.present - counts.booleans,
                counts.present,
                counts.boolean_examples,
            )
        if conversion == "text" and counts.leading_zeros and _numeric_share(counts):
            report.leading_zeros[column] = counts.zero_examples
        elif conversion == "text" and _numeric_share(counts) and _sign_problem(counts):
            report.mixed_signs[column] = (counts.signs, counts.numbers, counts.sign_examples)
        elif conversion == "text" and _rejected_separators(counts):
            report.rejected_separators[column] = counts.rejected_examples
        elif conversion == "text" and _is_ambiguous(counts) and _numeric_share(counts):
            report.ambiguous[column] = counts.ambiguous_examples
        if conversion == "boolean":
            report.to_boolean[column] = counts.booleans
            if counts.present - counts.booleans:
                report.unparsed_boolean[column] = counts.present - counts.booleans
                report.unparsed_examples[column] = counts.boolean_examples
        elif conversion == "date" and column in forms:
            report.date_formats[column] = forms[column]
        elif conversion == "date" and counts.offsets:
            report.to_utc[column] = counts.offsets
            report.zones[column] = "UTC offsets"
        elif conversion in ("integer", "float"):
            if counts.separators:
                report.thousands[column] = counts.separators
            if counts.separators and profile.thousands == "auto" and _is_ambiguous(counts):
                report.assumed_thousands[column] = counts.ambiguous_examples
            for sign, count in counts.signs:
                (report.percent if sign == PERCENT else report.currency)[column] = count
                report.signs[column] = sign
            if counts.parentheses:
                report.parentheses[column] = counts.parentheses
            if counts.present - counts.numbers:
                report.unparsed_numeric[column] = counts.present - counts.numbers
                report.unparsed_examples[column] = counts.examples
    for column, count in profile.zoned.items():
        if column in dropped:
            continue
        dtype = profile.table_dtypes[column]
        if count and isinstance(dtype, pd.DatetimeTZDtype):
            report.to_utc[column] = count
            report.zones[column] = str(dtype.tz)
    if (
        date_format is not None
        and date_column in profile.text
        and (
            conversions.get(date_column) != "date"
            or forms.get(date_column, date_format) != date_format
        )
    ):
        examples = ", ".join(repr(v) for v in profile.text[date_column].examples)
        raise InputError(
            f"{where}: data.date_format {date_format!r} does not read data.date_column "
            f"'{date_column}': its values (e.g. {examples or '(none)'}) do not all parse with it. "
            "Set data.date_format to the form the column is written in (strftime codes, "
            "e.g. '%d/%m/%Y' for 31/01/2020), or to null (empty) to recognise ISO and "
            "common forms"
        )
    dtypes = {c: t for c, t in profile.table_dtypes.items() if c not in dropped}
    return Plan(
        columns=tuple(c for c in profile.columns if c not in dropped),
        rows=profile.rows,
        dtypes=dtypes,
        conversions=conversions,
        markers=_markers(na_values),
        report=dataclasses.replace(
            report,
            other_decimal=tuple(c for c in other_decimal if conversions.get(c) == "text"),
        ),
        decimal=profile.decimal,
        thousands=profile.thousands,
        dropped=dropped,
        date_formats={c: f for c, f in forms.items() if conversions[c] == "date"},
    )


def _row_index(found: RowNumbers | None, where: str) -> tuple[str, ...]:
    """The columns to leave out: the saved row index, if the first column is one. A first
    column with an empty name that is not the row numbers is an InputError."""
    if found is None:
        return ()
    if found.ok and found.start is not None:
        return (found.column,)
    if found.column:
        return ()  # 'Unnamed: 0' with other values: a column like any other
    value = "is empty" if found.value is None else f"holds {found.value!r}"
    at = "" if found.row is None else f" (data row {found.row + 1} {value})"
    raise InputError(
        f"{where}: column 1 has an empty name in the header and does not hold the row numbers "
        f"(0, 1, 2, ... or 1, 2, 3, ...){at}, so it cannot be left out as the file's saved row "
        "index. Give it a name in the header's first cell (or remove the column) and run again"
    )


def convert_chunk(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One chunk converted with the plan's fixed decisions (a new frame; the input is kept)."""
    out = _with_dtypes(frame, plan.dtypes)
    if plan.dropped:
        out = out.drop(columns=list(plan.dropped))
    fmt = NumberFormat(plan.decimal, plan.thousands)
    by_conversion: dict[Conversion, list[str]] = {}
    for column, conversion in plan.conversions.items():
        by_conversion.setdefault(conversion, []).append(column)
    converted: dict[str, Any] = {}
    for conversion, columns in by_conversion.items():
        # Columns of one conversion are cleaned (and parsed) together; see ``_stacks``.
        for stack in _stacks(out, columns):
            values, _, _ = _clean(stack.values, plan.markers)
            parts = _convert_stack(stack, values, conversion, fmt, plan.date_formats)
            converted.update(zip(stack.columns, parts, strict=True))
    if converted:
        out = pd.DataFrame(
            {column: converted.get(column, out[column].array) for column in out.columns},
            index=out.index,
            columns=out.columns,
            copy=False,
        )
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


def _decide(
    counts: TextProfile,
    rule: _BooleanRule = "data",
    trust_groups: bool = True,
    dated: bool = False,
) -> Conversion:
    """A text column's conversion from its whole-table counts.

    Booleans: a column whose values are all yes/no (any case) is boolean, unless they are all
    1/0 digits (a number). With the ``"data"`` rule a column is boolean also when at least
    NUMERIC_TEXT_SHARE of its values are yes/no (both a yes and a no among them, not only
    digits) and it is not numeric by the same share: the other values become missing, as
    unparseable text does in a numeric column. The ``"labels"`` rule (the target, whose
    rare values are classes, not typos) needs all values yes/no. The ``"schema"`` rule (a
    column the schema declares boolean, e.g. in a batch to score) needs only the share, 1/0
    digits and a single answer included.

    Numbers: numeric when at least NUMERIC_TEXT_SHARE of the values are numbers, unless they
    have leading zeros (codes), carry more than one currency / percent sign or a sign on fewer
    than NUMERIC_TEXT_SHARE of them (``_sign_problem``), or are "1,535"-like groups only and
    ``trust_groups`` is false (see ``plan_normalization``).
    """
    if counts.present == 0:
        return "text"
    if counts.all_boolean and not counts.all_digits:
        return "boolean"
    if rule == "schema" and _boolean_share(counts) >= NUMERIC_TEXT_SHARE:
        return "boolean"
    if counts.all_dates or dated:
        return "date"
    if (
        rule == "data"
        and _likely_boolean(counts, NUMERIC_TEXT_SHARE)
        and not _numeric_share(counts)
    ):
        return "boolean"
    if counts.leading_zeros or (_is_ambiguous(counts) and not trust_groups):
        return "text"
    if counts.numbers / counts.present >= NUMERIC_TEXT_SHARE and not _sign_problem(counts):
        return "integer" if counts.integral else "float"
    return "text"


def _convert_stack(
    stack: _Stack,
    values: pd.Series,
    conversion: Conversion,
    fmt: NumberFormat,
    forms: Mapping[str, str],
) -> list[Any]:
    """The converted values (arrays) of each column of ``stack``; ``values`` are its cleaned
    values. Text, yes/no and number parsing work value by value, so they run once on the
    stack; the steps whose result type depends on a whole column (``pd.to_numeric``,
    ``pd.to_datetime``) run column by column, as on a single column."""
    if conversion == "boolean":
        return stack.split(yes_no(values))
    if conversion == "text":
        return stack.split(values)
    if conversion == "date":
        parts = stack.split_series(values)
        return [
            to_utc_dates(part, forms.get(column)).array
            for column, part in zip(stack.columns, parts, strict=True)
        ]
    dtype = np.int64 if conversion == "integer" else np.float64
    number = parse_text(values, fmt).number
    return [number_values(part).astype(dtype).array for part in stack.split_series(number)]


def _profile_text(
    values: pd.Series,
    stripped: list[int],
    missing: list[int],
    priors: list[TextProfile],
    fmt: NumberFormat,
) -> list[TextProfile]:
    """``priors`` merged with the counts of their columns' cleaned ``values``.

    ``values`` holds len(priors) columns of equal length one after another (a ``_Stack``),
    ``stripped`` and ``missing`` the counts ``_clean`` found per column. Every test below
    works value by value, so each runs once over all the columns; the counts are then summed
    per column (``np.bincount`` on the column numbers).
    """
    width = len(priors)
    rows = len(values) // width
    keep = values.notna().to_numpy(dtype=bool)
    present = values[keep].reset_index(drop=True)
    code = np.repeat(np.arange(width), rows)[keep]
    size = len(present)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code[mask], minlength=width)

    def where(
        mask: np.ndarray,
        test: Callable[[pd.Series], pd.Series],
        selected: pd.Series | None = None,
    ) -> np.ndarray:
        """``test`` run on the present values ``mask`` selects (False elsewhere);
        ``selected``: those values when already at hand."""
        out = np.zeros(size, dtype=bool)
        if mask.any():
            chosen = present[mask] if selected is None else selected
            out[mask] = test(chosen).to_numpy(dtype=bool)
        return out

    present_count = count(np.ones(size, dtype=bool))
    # Dates: only the columns that are all dates so far (the rest can never become dates).
    dated = np.array([prior.all_dates for prior in priors], dtype=bool)
    not_date = where(dated[code], lambda v: ~v.str.fullmatch(ISO_DATE.pattern))
    all_dates = dated & (count(not_date) == 0)
    offsets = count(where(all_dates[code], lambda v: v.str.fullmatch(ZONED_DATE.pattern)))
    position = np.tile(np.arange(rows), width)[keep]
    date_forms = _date_forms(present, code, position, width, priors)
    parsed = parse_text(present, fmt)
    is_numeric = parsed.numbers.to_numpy(dtype=bool)
    other = ~is_numeric
    number_texts, other_texts = present[is_numeric], present[other]
    # Yes/no values: "1"/"0" among the numbers, words and letters among the rest, found by
    # exact match with every spelling (no lower-cased copy of a large text column).
    ones = count(where(is_numeric, lambda v: v == "1", number_texts))
    noughts = count(where(is_numeric, lambda v: v == "0", number_texts))
    is_word = where(other, lambda v: v.isin(YES_NO_SPELLINGS), other_texts)
    true_words = count(where(is_word, lambda v: v.str.lower().isin(TRUE_WORDS)))
    false_words = count(is_word) - true_words
    is_boolean = where(is_numeric, lambda v: v.isin(("0", "1")), number_texts) | is_word
    # Only the values that failed are tried with the other mark, and with the separators the
    # setting rejects (cheap for numeric columns).
    other_numbers = count(where(other, lambda v: is_number(v, fmt.other), other_texts))
    rejected = np.zeros(size, dtype=bool)
    if fmt.lenient != fmt:
        rejected = where(other, lambda v: is_number(v, fmt.lenient), other_texts)
    # Integral: every value of the column present and a finite whole number.
    numbers = count(is_numeric)
    whole = np.array([prior.integral for prior in priors], dtype=bool)
    whole &= (present_count == rows) & (numbers == present_count)
    # Such a column's values are all present: the first 64 of each fail a float column fast.
    for part in (position < 64, position >= 64):
        not_whole = where(whole[code] & part, lambda v: ~_whole(parsed.number[v.index]))
        whole &= count(not_whole) == 0
    integral = whole
    zeros = where(is_numeric, lambda v: v.str.match(LEADING_ZEROS.pattern), number_texts)
    ambiguous = is_numeric & parsed.ambiguous.to_numpy(dtype=bool)
    grouped = is_numeric & parsed.grouped.to_numpy(dtype=bool)
    with_fraction = where(
        is_numeric,
        lambda v: v.str.contains(".", regex=False),
        parsed.number[is_numeric],
    )
    signed = is_numeric & (parsed.sign != "").to_numpy(dtype=bool)
    signs: list[dict[str, int]] = [dict(prior.signs) for prior in priors]
    if signed.any():
        pairs = pd.DataFrame({"column": code[signed], "sign": parsed.sign[signed].array})
        for (column, symbol), n in pairs.value_counts(sort=False).items():
            signs[column][str(symbol)] = signs[column].get(str(symbol), 0) + int(n)

    def first(mask: np.ndarray, have: Callable[[TextProfile], tuple[str, ...]]) -> list[list[str]]:
        """Per column, the first EXAMPLES * 2 distinct values ``mask`` selects (only for the
        columns whose examples are not complete)."""
        wanted = np.array([len(have(prior)) < EXAMPLES for prior in priors], dtype=bool)
        return _first_distinct(present, code, mask & wanted[code], width)

    examples = first(other, lambda p: p.examples)
    boolean_examples = first(~is_boolean, lambda p: p.boolean_examples)
    zero_examples = first(zeros, lambda p: p.zero_examples)
    ambiguous_examples = first(ambiguous, lambda p: p.ambiguous_examples)
    sign_examples = first(signed, lambda p: p.sign_examples)
    rejected_examples = first(rejected, lambda p: p.rejected_examples)
    counts = {
        "present": present_count,
        "numbers": numbers,
        "other_numbers": other_numbers,
        "separators": count(grouped),
        "offsets": offsets,
        "ambiguous": count(ambiguous),
        "unambiguous": count(with_fraction | grouped) - count(ambiguous),
        "leading_zeros": count(zeros),
        "trues": ones + true_words,
        "falses": noughts + false_words,
        "digit_booleans": ones + noughts,
        "parentheses": count(parsed.parentheses.to_numpy(dtype=bool)),
        "rejected": count(rejected),
        "stripped": np.asarray(stripped),
        "to_missing": np.asarray(missing),
    }
    per_column = {key: value.tolist() for key, value in counts.items()}
    out = []
    for i, prior in enumerate(priors):
        out.append(
            TextProfile(
                **{key: getattr(prior, key) + value[i] for key, value in per_column.items()},
                examples=_add_examples(prior.examples, examples[i]),
                zero_examples=_add_examples(prior.zero_examples, zero_examples[i]),
                ambiguous_examples=_add_examples(prior.ambiguous_examples, ambiguous_examples[i]),
                boolean_examples=_add_examples(prior.boolean_examples, boolean_examples[i]),
                signs=tuple(sorted(signs[i].items())),
                sign_examples=_add_examples(prior.sign_examples, sign_examples[i]),
                rejected_examples=_add_examples(prior.rejected_examples, rejected_examples[i]),
                all_dates=bool(all_dates[i]),
                integral=bool(integral[i]),
                date_forms=date_forms[i],
            )
        )
    return out


# A value in one of the common date forms has this shape (a cheap first filter).
_DATE_SHAPE = re.compile("|".join(f"(?:{shape.pattern})" for shape in COMMON_FORMS.values()))


def _date_forms(
    present: pd.Series,
    code: np.ndarray,
    position: np.ndarray,
    width: int,
    priors: list[TextProfile],
) -> list[tuple[str, ...]]:
    """Per column of the stack, the date forms of its prior that all its ``present`` values
    parse with (``code``: each value's column, ``position``: its row in the chunk).

    A column loses every common form at its first value without a common date's shape, and a
    form at its first value that does not parse: the first 64 rows are tried first, so a column
    of other text is settled on them.
    """
    alive = [set(prior.date_forms) for prior in priors]
    for part in (position < 64, position >= 64):
        shaped = np.array([bool(forms & COMMON_FORMS.keys()) for forms in alive], dtype=bool)
        mask = part & shaped[code]
        if mask.any():
            bad = ~present[mask].str.fullmatch(_DATE_SHAPE.pattern).fillna(False).to_numpy(bool)
            for column in np.unique(code[mask][bad]):
                alive[column] -= COMMON_FORMS.keys()
        for form in dict.fromkeys(f for forms in alive for f in forms):
            has = np.array([form in forms for forms in alive], dtype=bool)
            mask = part & has[code]
            if not mask.any():
                continue
            bad = ~matches_form(present[mask], form).to_numpy(dtype=bool)
            for column in np.unique(code[mask][bad]):
                alive[column].discard(form)
    return [
        tuple(f for f in prior.date_forms if f in forms)
        for prior, forms in zip(priors, alive, strict=True)
    ]


def _whole(numbers: pd.Series) -> pd.Series:
    """Which number texts parse to a finite whole number (a boolean Series)."""
    values = pd.to_numeric(numbers, errors="coerce").astype(np.float64).to_numpy()
    return pd.Series(np.isfinite(values) & (values == np.floor(values)), index=numbers.index)


def _sign_problem(counts: TextProfile) -> bool:
    """True when a column's numbers carry more than one currency / percent sign, or a sign on
    fewer than NUMERIC_TEXT_SHARE of them: the values do not share one unit."""
    if not counts.signs:
        return False
    return len(counts.signs) > 1 or counts.signed < NUMERIC_TEXT_SHARE * counts.numbers


def _rejected_separators(counts: TextProfile) -> bool:
    """True when a text column would be numeric if data.csv.thousands accepted its separator."""
    return (
        bool(counts.present)
        and counts.rejected > 0
        and (counts.numbers + counts.rejected) / counts.present >= NUMERIC_TEXT_SHARE
    )


def _add_examples(examples: tuple[str, ...], values: list[str]) -> tuple[str, ...]:
    """``examples`` plus the first ``values`` not in it, at most EXAMPLES in all."""
    for value in values:
        if len(examples) >= EXAMPLES:
            break
        if value not in examples:
            examples = (*examples, value)
    return examples


def _first_distinct(
    values: pd.Series, code: np.ndarray, mask: np.ndarray, width: int
) -> list[list[str]]:
    """For each of ``width`` columns (``code``: each value's column), the first EXAMPLES * 2
    distinct ``values`` that ``mask`` selects, in their order.

    EXAMPLES * 2 are enough to complete a column's examples: fewer than EXAMPLES of them are
    there already.
    """
    out: list[list[str]] = [[] for _ in range(width)]
    if not mask.any():
        return out
    # Distinct pairs first (on the Arrow strings): only they become Python strings.
    found = pd.DataFrame({"column": code[mask], "value": values[mask].array})
    found = found.drop_duplicates().groupby("column", sort=False).head(EXAMPLES * 2)
    for column, value in zip(found["column"].tolist(), found["value"].tolist(), strict=True):
        out[column].append(str(value))
    return out


def _clean(series: pd.Series, markers: frozenset[str]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Stripped text with NA markers as missing; which values were stripped / marked."""
    text = series.astype("string")
    stripped = text.str.strip()
    changed = ((stripped != text) & text.notna()).to_numpy(dtype=bool)
    is_marker = (stripped.str.lower().isin(markers) & stripped.notna()).to_numpy(dtype=bool)
    return stripped.mask(is_marker), changed, is_marker


@dataclass(frozen=True)
class _Stack:
    """Columns of one chunk stacked into one Series, one column after another (index 0..n-1).

    A pandas string operation costs about the same for 1 value as for a thousand: run once on
    a stack, not once per column, a wide table's normalisation costs what a long one's does.
    """

    columns: tuple[str, ...]
    values: pd.Series
    rows: int

    def counts(self, mask: np.ndarray) -> list[int]:
        """How many values ``mask`` (aligned with ``values``) selects in each column."""
        return mask.reshape(len(self.columns), self.rows).sum(axis=1).tolist()

    def split(self, stacked: pd.Series) -> list[Any]:
        """The arrays of each column's values in ``stacked`` (aligned with ``values``)."""
        array = stacked.array
        return [array[i * self.rows : (i + 1) * self.rows] for i in range(len(self.columns))]

    def split_series(self, stacked: pd.Series) -> list[pd.Series]:
        """Each column's part of ``stacked`` as a Series (index: positions in the stack)."""
        return [
            stacked.iloc[i * self.rows : (i + 1) * self.rows] for i in range(len(self.columns))
        ]


# At most this many values in a ``_Stack`` (unless one column holds more): a long table's
# chunk is handled column by column, as before, so its memory does not grow with its width.
_STACK_VALUES = 1 << 18


def _stacks(frame: pd.DataFrame, columns: list[str]) -> Iterator[_Stack]:
    """``columns`` of ``frame`` in stacks of at most ``_STACK_VALUES`` values (or one column).

    Only text columns (``_is_text``) are stacked together; any other column is a stack of its
    own, so it is cleaned and converted as it would be alone.
    """
    rows = len(frame)
    group: list[str] = []

    def stack(names: list[str]) -> _Stack:
        parts = [frame[name] for name in names]
        values = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        return _Stack(tuple(names), values.reset_index(drop=True), rows)

    for column in columns:
        if not _is_text(frame[column]):
            yield stack([column])
            continue
        if group and (len(group) + 1) * rows > _STACK_VALUES:
            yield stack(group)
            group = []
        group.append(column)
    if group:
        yield stack(group)


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
