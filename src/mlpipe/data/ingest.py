"""Reading a source table (CSV or Parquet) and normalising the messy parts of real exports.

``read_source`` does the IO and turns every way a file can be unreadable into an InputError that
says what, where and how to fix it. ``normalize`` is pure: it strips whitespace, maps NA markers,
converts numbers stored as text and yes/no booleans, and reports how many values it changed.
"""

from __future__ import annotations

import csv
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mlpipe.config import CsvConfig, DataConfig
from mlpipe.io import InputError

log = logging.getLogger(__name__)

_TRUE = {"true", "yes", "y", "t", "1"}
_FALSE = {"false", "no", "n", "f", "0"}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")
# A text column becomes numeric when at least this share of its non-missing values parse.
NUMERIC_TEXT_SHARE = 0.95


@dataclass(frozen=True)
class NormalizeReport:
    """What ``normalize`` changed, per column (counts of values)."""

    stripped: dict[str, int] = field(default_factory=dict)
    to_missing: dict[str, int] = field(default_factory=dict)
    to_numeric: dict[str, int] = field(default_factory=dict)
    unparsed_numeric: dict[str, int] = field(default_factory=dict)
    to_boolean: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            "stripped_whitespace": self.stripped,
            "became_missing": self.to_missing,
            "text_to_number": self.to_numeric,
            "unparseable_number_to_missing": self.unparsed_numeric,
            "text_to_boolean": self.to_boolean,
        }


def read_source(path: str | Path, csv_config: CsvConfig) -> pd.DataFrame:
    """Read a CSV or Parquet file; raise InputError for any unreadable input."""
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
        return _read_parquet(path)
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path, csv_config)
    raise InputError(f"{path}: unsupported file type '{suffix}'; use .csv, .tsv or .parquet")


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        _check_header(path, names)
        frame = pd.read_parquet(path, engine="pyarrow")
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    if frame.empty:
        raise InputError(f"{path}: the table has columns but no rows")
    return frame


def sniff_delimiter(path: Path, config: CsvConfig, sample: str) -> str:
    """The configured delimiter, or the one csv.Sniffer finds in ``sample`` (default ',')."""
    if config.delimiter != "auto":
        return "\t" if config.delimiter == "\\t" else config.delimiter
    if path.suffix.lower() == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(path: Path, config: CsvConfig) -> pd.DataFrame:
    with path.open("rb") as handle:
        head = handle.read(256 * 1024)
    try:
        sample = head.decode(config.encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a multi-byte char cut by the sample's end
            raise _encoding_error(path, config, head, exc.start) from None
        sample = head[: exc.start].decode(config.encoding)
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the file holds only blank lines; expected a header and rows")
    delimiter = sniff_delimiter(path, config, sample)
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    _check_header(path, header)
    if len(header) == 1 and len(lines) > 1 and any(d in lines[0] for d in ",;\t|"):
        raise InputError(
            f"{path}: the header parsed as a single column {header[0]!r} with delimiter "
            f"{delimiter!r}; set data.csv.delimiter in params.yaml to the file's delimiter"
        )
    try:
        with warnings.catch_warnings():
            # A row with more fields than the header must not silently become the index
            # (pandas' default) or lose its last fields (index_col=False warns): it is an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                path,
                sep=delimiter,
                encoding=config.encoding,
                # Every cell is read as text; `normalize` maps NA markers and counts them.
                keep_default_na=False,
                dtype=str,
                skipinitialspace=False,
                index_col=False,
            )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: bytes that are not valid {config.encoding} ({exc.reason}). Re-export the "
            "file as UTF-8 or set data.csv.encoding in params.yaml (e.g. latin-1)"
        ) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise InputError(
            f"{path}: rows do not match the header ({exc}). Check data.csv.delimiter and quoting"
        ) from None
    if frame.empty:
        raise InputError(f"{path}: only a header line ({len(header)} columns), no data rows")
    return frame


def check_roles(frame: pd.DataFrame, data: DataConfig, source: str | Path) -> None:
    """Raise InputError when a column named in params.yaml [data] is not in the table.

    Checked at ingest so a wrong name stops the pipeline before anything is trained.
    """
    columns = [str(c) for c in frame.columns]
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


def _encoding_error(path: Path, config: CsvConfig, head: bytes, offset: int) -> InputError:
    line = head[:offset].count(b"\n") + 1
    return InputError(
        f"{path}: byte {head[offset]:#04x} at offset {offset} (line {line}) is not valid "
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


def normalize(
    frame: pd.DataFrame, na_values: tuple[str, ...]
) -> tuple[pd.DataFrame, NormalizeReport]:
    """Tidy a raw table: whitespace, NA markers, numbers and booleans stored as text.

    Column names are stripped too. Columns that are already typed (from Parquet) pass through.
    Returns a new frame and a report of every change, by column.
    """
    report = NormalizeReport()
    out = frame.rename(columns=lambda c: str(c).strip()).copy()
    markers = {m.strip().lower() for m in na_values} | {""}
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        text = series.astype("string")
        stripped = text.str.strip()
        changed = int(((stripped != text) & text.notna()).sum())
        if changed:
            report.stripped[column] = changed
        is_marker = stripped.str.lower().isin(markers) & stripped.notna()
        if int(is_marker.sum()):
            report.to_missing[column] = int(is_marker.sum())
        cleaned = stripped.mask(is_marker)
        out[column] = _convert_text(column, cleaned, report)
    return out, report


def _convert_text(column: str, values: pd.Series, report: NormalizeReport) -> pd.Series:
    present = values.dropna()
    if present.empty:
        return values
    lowered = present.str.lower()
    # Yes/yes/Y/No/n... (any case) is a boolean; a column of only 0/1 digits stays numeric.
    if lowered.isin(_TRUE | _FALSE).all() and not present.str.isdigit().all():
        report.to_boolean[column] = len(present)
        mapped = values.str.lower().map(lambda v: None if pd.isna(v) else v in _TRUE)
        return mapped.astype("boolean")
    if present.str.fullmatch(_DATE.pattern).all():
        # ISO8601, not a format guessed from the first value: mixed date / date-time values
        # would otherwise turn into missing values.
        return pd.to_datetime(values, errors="coerce", format="ISO8601").astype("datetime64[s]")
    is_number = present.str.fullmatch(_NUMBER.pattern) & (present != "") & (present != ".")
    share = float(is_number.mean())
    if share >= NUMERIC_TEXT_SHARE:
        numbers = pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")
        had_separator = int(present.str.contains(",", regex=False).sum())
        if had_separator:
            report.to_numeric[column] = had_separator
        unparsed = int((~is_number).sum())
        if unparsed:
            report.unparsed_numeric[column] = unparsed
        if numbers.notna().all() and (numbers == np.floor(numbers)).all():
            return numbers.astype(np.int64)
        return numbers.astype(np.float64)
    return values
