"""`mlpipe split`: seeded train/test split of the validated table, decided per row.

Pass 1 runs on the executor (``engine.kind``): each chunk's keys (row hashes by class, or date
counts), merged in row order; the client decides the test rows from them. Pass 2 streams the
table in batches and writes the two parts, so memory holds one batch plus a mask of one byte a
row. The split depends on the rows and ``split.*`` only: every engine and cluster gives the
same bytes.
"""

from __future__ import annotations

import argparse
import functools
import logging
from collections.abc import Iterator

import pandas as pd

from mlpipe.config import load_params
from mlpipe.data.split import (
    SplitKeys,
    SplitPlan,
    SplitRule,
    decide_split,
    in_test,
    merge_split_keys,
    split_keys,
)
from mlpipe.engine import executor
from mlpipe.io import (
    InputError,
    ParquetColumns,
    iter_parquet,
    read_json,
    write_parquet_batches,
)

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    validation = read_json(args.validation)
    if not validation.get("ok"):
        raise InputError(f"{args.validation}: the data did not pass validation; run validate")
    table = ParquetColumns(args.input)
    plan = SplitPlan(
        method=params.split.method,
        target=params.data.target,
        test_size=params.split.test_size,
        seed=params.split.seed,
        date_column=params.data.date_column,
        columns=tuple(table.columns),
        # The task the schema decided (validate records it), else data.task when not auto.
        task=validation.get("task") or params.data.task,
    )
    plan.check()
    batch_rows = params.memory.chunk_rows
    with executor(params.engine, batch_rows) as engine:
        keys = engine.map_merge(
            args.input,
            plan.reads,
            functools.partial(split_keys, plan=plan),
            merge_split_keys,
            SplitKeys(),
        )
    rule = decide_split(plan, keys, len(table))
    # The input is read once per output, so only one Parquet writer is open at a time.
    n_train = write_parquet_batches(args.train, _rows(args.input, rule, False, batch_rows))
    n_test = write_parquet_batches(args.test, _rows(args.input, rule, True, batch_rows))
    log.info(
        "split %d rows (%s, seed %d, %s engine): %s %d rows, %s %d rows",
        len(table),
        plan.method,
        plan.seed,
        params.engine.kind,
        args.train,
        n_train,
        args.test,
        n_test,
    )
    return 0


def _rows(path: str, rule: SplitRule, test: bool, batch_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``path`` on the ``test`` side of ``rule``, batch by batch, in file order."""
    for batch in iter_parquet(path, batch_rows, positions=True):
        selected = in_test(batch, rule) == test
        if selected.any():
            yield batch[selected].reset_index(drop=True)
