"""`mlpipe generate`: write the embedded churn dataset (the default raw data)."""

from __future__ import annotations

import argparse
import logging

from tqdm import tqdm

from mlpipe.config import load_params
from mlpipe.data.generate import BLOCK_ROWS, churn_blocks
from mlpipe.io import write_parquet_batches

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    config = load_params(args.params).generate
    blocks = (config.rows + BLOCK_ROWS - 1) // BLOCK_ROWS
    progress = tqdm(
        churn_blocks(config.rows, config.seed),
        total=blocks,
        unit="block",
        desc="generate",
        disable=blocks < 3,
    )
    # One block in memory at a time.
    rows = write_parquet_batches(args.output, progress)
    log.info("wrote %s: %d rows (seed %d)", args.output, rows, config.seed)
    return 0
