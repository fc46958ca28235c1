"""`mlpipe split`: seeded train/test split of the validated table."""

from __future__ import annotations

import argparse
import logging

from mlpipe.config import load_params
from mlpipe.data.split import split_table
from mlpipe.io import InputError, read_json, read_parquet, write_parquet

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    if not read_json(args.validation).get("ok"):
        raise InputError(f"{args.validation}: the data did not pass validation; run validate")
    frame = read_parquet(args.input)
    train, test = split_table(
        frame,
        target=params.data.target,
        method=params.split.method,
        test_size=params.split.test_size,
        seed=params.split.seed,
        date_column=params.data.date_column,
    )
    write_parquet(args.train, train)
    write_parquet(args.test, test)
    log.info(
        "split %d rows (%s, seed %d): %s %d rows, %s %d rows",
        len(frame),
        params.split.method,
        params.split.seed,
        args.train,
        len(train),
        args.test,
        len(test),
    )
    return 0
