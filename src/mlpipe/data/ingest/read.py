"""Reading a source table (CSV or Parquet), in chunks or whole.

Every way a file can be unreadable (missing, empty, wrong encoding, wrong delimiter, ragged
rows, duplicate or blank column names) becomes an InputError that says what, where and how to
fix it. CSV cells are read as text; ``normalize`` decides what they are.
"""

from __future__ import annotations

import codecs
import csv
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from mlpipe.config import CsvConfig
from mlpipe.io import InputError, open_parquet_stream

_SNIFF_BYTES = 256 * 1024


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

    unnamed = not header[0].strip()  # pandas names it 'Unnamed: 0'; the empty name is kept

    def named(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(columns={frame.columns[0]: ""}) if unnamed else frame

    rows = 0
    if chunk_rows is None:
        frame = named(step(lambda: pd.read_csv(path, **options)))
        rows = len(frame)
        if rows:
            yield frame
    else:
        with step(lambda: pd.read_csv(path, chunksize=chunk_rows, **options)) as reader:
            while (chunk := step(lambda: next(reader, None))) is not None:
                if len(chunk):
                    rows += len(chunk)
                    yield named(chunk)
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
    # The first column may be unnamed: a saved row index (``rowindex``) when its values are the
    # row numbers, an error otherwise (``normalize`` decides on the values).
    blank = [i for i, name in enumerate(names) if not str(name).strip() and i > 0]
    if blank:
        raise InputError(
            f"{path}: column(s) at position {blank} have an empty name (0 is the first column). "
            "Give every column a name in the header (only a first column holding the row "
            "numbers, as pandas' to_csv() and R's write.csv() write them, may stay unnamed)"
        )
