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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
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
from mlpipe.data.ingest.dates import ISO_DATE, ZONED_DATE, to_utc_dates
from mlpipe.data.ingest.numbers import (
    LEADING_ZEROS,
    NUMERIC_TEXT_SHARE,
    PERCENT,
    NumberFormat,
    Thousands,
    is_number,
    parse_text,
    to_numbers,
)
from mlpipe.data.ingest.report import EXAMPLES, NormalizeReport
from mlpipe.io import InputError

Conversion = Literal["boolean", "date", "integer", "float", "text"]

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
    """

    columns: tuple[str, ...]
    rows: int
    dtypes: dict[str, tuple[Any, ...]]
    text: dict[str, TextProfile]
    decimal: str = "."
    zoned: dict[str, int] = field(default_factory=dict)
    thousands: Thousands = "auto"

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
    """The fixed per-column decisions that ``convert_chunk`` applies to every chunk."""

    columns: tuple[str, ...]
    rows: int
    dtypes: dict[str, Any]
    conversions: dict[str, Conversion]
    markers: frozenset[str]
    report: NormalizeReport
    decimal: str = "."
    thousands: Thousands = "auto"


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
) -> tuple[pd.DataFrame, NormalizeReport]:
    """Tidy a raw table: whitespace, NA markers, numbers, booleans and dates stored as text.

    Column names are stripped too. Columns that are already typed (from Parquet) pass through.
    ``decimal`` and ``thousands`` say how numbers stored as text are written (data.csv.decimal
    and data.csv.thousands, see ``numbers``). Text columns named in ``keep_text`` (id columns)
    are only stripped and NA-mapped, never converted.
    ``booleans`` and ``labels`` change the boolean rule for some columns (see ``_decide``):
    ``booleans`` are columns a schema declares boolean, ``labels`` the target.
    Returns a new frame and a report of every change, by column.
    """
    profile = profile_chunk(frame, na_values, decimal=decimal, thousands=thousands)
    plan = plan_normalization(profile, na_values, keep_text, booleans=booleans, labels=labels)
    return convert_chunk(frame, plan), plan.report


def normalize_chunks(
    read: Callable[[], Iterable[pd.DataFrame]],
    na_values: tuple[str, ...],
    on_header: Callable[[list[str]], None] | None = None,
    decimal: str = ".",
    keep_text: Iterable[str] = (),
    labels: Iterable[str] = (),
    thousands: Thousands = "auto",
) -> Plan:
    """Pass 1 over the chunks ``read()`` yields: the plan ``convert_chunk`` applies to each.

    ``on_header(names)`` is called with the normalised column names before the first chunk is
    profiled (to check them early). A column whose dtype differs between chunks (a Parquet
    integer or boolean column with nulls in some row groups only) is profiled again with the
    whole table's dtype, so the plan is the one ``normalize`` makes for the whole table.
    """
    fmt = NumberFormat(decimal, thousands)
    profile = _profile_all(read(), na_values, None, on_header, fmt)
    if not profile.consistent:
        profile = _profile_all(read(), na_values, profile.table_dtypes, None, fmt)
    return plan_normalization(profile, na_values, keep_text, labels=labels)


def _profile_all(
    chunks: Iterable[pd.DataFrame],
    na_values: tuple[str, ...],
    dtypes: dict[str, Any] | None,
    on_header: Callable[[list[str]], None] | None,
    fmt: NumberFormat,
) -> Profile:
    profile = None
    for chunk in chunks:
        if profile is None and on_header is not None:
            on_header(clean_names(chunk.columns))
        profile = profile_chunk(chunk, na_values, profile, dtypes, fmt.decimal, fmt.thousands)
    if profile is None:
        raise InputError("the source yielded no rows")  # iter_source never does this
    return profile


def profile_chunk(
    frame: pd.DataFrame,
    na_values: tuple[str, ...],
    so_far: Profile | None = None,
    dtypes: dict[str, Any] | None = None,
    decimal: str = ".",
    thousands: Thousands = "auto",
) -> Profile:
    """``so_far`` merged with the counts of ``frame`` (one chunk of the table).

    ``decimal`` is the decimal mark of numbers stored as text ('.' or ','), ``thousands`` the
    data.csv.thousands setting (see ``numbers``).

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
                values, stripped, missing, text.get(column, TextProfile()), fmt
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
        thousands=thousands,
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

    With data.csv.thousands ``auto``, a column whose only grouped values are "1,535"-like (one
    group of the other decimal mark, no decimal part anywhere) is read with thousands (and a
    warning), unless another column of the table holds numbers written with the other decimal
    mark: then the file is likely written with that mark, and the column stays text.
    """
    report = NormalizeReport(decimal=profile.decimal, thousands_setting=profile.thousands)
    conversions: dict[str, Conversion] = {}
    keep, schema_booleans, targets = set(keep_text), set(booleans), set(labels)
    other_decimal = tuple(
        column
        for column, counts in profile.text.items()
        if column not in keep and not _numeric_share(counts) and _other_decimal(counts)
    )
    trust_groups = profile.thousands != "auto" or not other_decimal
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
        conversions[column] = conversion = _decide(counts, rule, trust_groups)
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
        report=dataclasses.replace(
            report,
            other_decimal=tuple(c for c in other_decimal if conversions[c] == "text"),
        ),
        decimal=profile.decimal,
        thousands=profile.thousands,
    )


def convert_chunk(frame: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One chunk converted with the plan's fixed decisions (a new frame; the input is kept)."""
    out = _with_dtypes(frame, plan.dtypes)
    for column, conversion in plan.conversions.items():
        values, _, _ = _clean(out[column], plan.markers)
        out[column] = _convert(values, conversion, NumberFormat(plan.decimal, plan.thousands))
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
    counts: TextProfile, rule: _BooleanRule = "data", trust_groups: bool = True
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
    if counts.all_dates:
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


def _convert(values: pd.Series, conversion: Conversion, fmt: NumberFormat) -> pd.Series:
    if conversion == "boolean":
        return yes_no(values)
    if conversion == "date":
        return to_utc_dates(values)
    if conversion in ("integer", "float"):
        return to_numbers(values, fmt).astype(np.int64 if conversion == "integer" else np.float64)
    return values


def _profile_text(
    values: pd.Series, stripped: int, missing: int, prior: TextProfile, fmt: NumberFormat
) -> TextProfile:
    present = values.dropna()
    all_dates = prior.all_dates and bool(present.str.fullmatch(ISO_DATE.pattern).all())
    offsets = int(present.str.fullmatch(ZONED_DATE.pattern).sum()) if all_dates else 0
    parsed = parse_text(present, fmt)
    is_numeric = parsed.numbers
    other = present[~is_numeric]
    numbers = present[is_numeric]
    # Yes/no values: "1"/"0" among the numbers, words and letters among the rest, found by
    # exact match with every spelling (no lower-cased copy of a large text column).
    ones, noughts = int((numbers == "1").sum()), int((numbers == "0").sum())
    is_word = other.isin(YES_NO_SPELLINGS).to_numpy(dtype=bool)
    true_words = int(other[is_word].str.lower().isin(TRUE_WORDS).sum())
    false_words = int(is_word.sum()) - true_words
    boolean_examples = prior.boolean_examples
    if len(boolean_examples) < EXAMPLES:
        is_boolean = np.zeros(len(present), dtype=bool)
        number_mask = is_numeric.to_numpy(dtype=bool)
        is_boolean[number_mask] = numbers.isin(("0", "1")).to_numpy(dtype=bool)
        is_boolean[~number_mask] = is_word
        boolean_examples = _more_examples(boolean_examples, present[~is_boolean])
    # Only the values that failed are tried with the other mark, and with the separators the
    # setting rejects (cheap for numeric columns).
    other_numbers = int(is_number(other, fmt.other).sum())
    rejected = other[is_number(other, fmt.lenient)] if fmt.lenient != fmt else other[:0]
    examples = prior.examples
    if len(examples) < EXAMPLES and len(other):
        for value in other.unique():
            if len(examples) == EXAMPLES:
                break
            if value not in examples:
                examples = (*examples, str(value))
    integral = (
        prior.integral
        and len(present) == len(values)
        and bool(is_numeric.all())
        and _whole(parsed.number)
    )
    zeros = numbers[numbers.str.match(LEADING_ZEROS.pattern)]
    ambiguous = numbers[parsed.ambiguous[is_numeric]]
    grouped = parsed.grouped[is_numeric]
    with_fraction = parsed.number[is_numeric].str.contains(".", regex=False)
    sign = parsed.sign[is_numeric]
    signed = numbers[(sign != "").to_numpy(dtype=bool)]
    signs = dict(prior.signs)
    for symbol, count in sign[sign != ""].value_counts().items():
        signs[str(symbol)] = signs.get(str(symbol), 0) + int(count)
    return TextProfile(
        present=prior.present + len(present),
        stripped=prior.stripped + stripped,
        to_missing=prior.to_missing + missing,
        numbers=prior.numbers + int(is_numeric.sum()),
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
        parentheses=prior.parentheses + int(parsed.parentheses.sum()),
        signs=tuple(sorted(signs.items())),
        sign_examples=_more_examples(prior.sign_examples, signed),
        rejected=prior.rejected + len(rejected),
        rejected_examples=_more_examples(prior.rejected_examples, rejected),
        all_dates=all_dates,
        integral=integral,
    )


def _whole(numbers: pd.Series) -> bool:
    """True when every number text parses to a finite whole number (fails fast on a few)."""
    for part in (numbers.iloc[:64], numbers):
        values = pd.to_numeric(part, errors="coerce").astype(np.float64).to_numpy()
        if not (np.isfinite(values).all() and (values == np.floor(values)).all()):
            return False
    return True


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
