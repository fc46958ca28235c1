"""`mlpipe split`: seeded train/test split of the validated table, streamed in batches."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator

import numpy as np

from mlpipe.config import load_params
from mlpipe.data.split import split_columns, split_mask
from mlpipe.io import (
    InputError,
    ParquetColumns,
    iter_parquet,
    read_json,
    read_parquet,
    write_parquet_batches,
)

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    validation = read_json(args.validation)
    if not validation.get("ok"):
        raise InputError(f"{args.validation}: the data did not pass validation; run validate")
    # The task the schema decided (validate records it), else data.task when it is not auto.
    task = validation.get("task") or params.data.task
    table = ParquetColumns(args.input)
    method, target, date_column = params.split.method, params.data.target, params.data.date_column
    needed = [c for c in split_columns(method, target, date_column) if c in table.columns]
    test_mask = split_mask(
        read_parquet(args.input, columns=needed),
        target=target,
        method=method,
        test_size=params.split.test_size,
        seed=params.split.seed,
        date_column=date_column,
        columns=table.columns,
        rows=len(table),
        task=task,
    )
    # Memory holds one batch of rows (plus the mask), not the table. The input is read once
    # per output, so only one Parquet writer is open at a time.
    batch_rows = params.memory.chunk_rows
    train_rows = write_parquet_batches(args.train, _rows(args.input, ~test_mask, batch_rows))
    test_rows = write_parquet_batches(args.test, _rows(args.input, test_mask, batch_rows))
    log.info(
        "split %d rows (%s, seed %d): %s %d rows, %s %d rows",
        len(table),
        method,
        params.split.seed,
        args.train,
        train_rows,
        args.test,
        test_rows,
    )
    return 0


def _rows(path: str, keep: np.ndarray, batch_rows: int) -> Iterator:
    """The rows of ``path`` where ``keep`` is True, batch by batch, in file order."""
    start = 0
    for batch in iter_parquet(path, batch_rows):
        selected = keep[start : start + len(batch)]
        start += len(batch)
        if selected.any():
            yield batch[selected]
