"""`mlpipe generate`: write the embedded churn dataset (the default raw data)."""

from __future__ import annotations

import argparse
import logging

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from mlpipe.config import load_params
from mlpipe.data.generate import BLOCK_ROWS, churn_blocks
from mlpipe.io import atomic_path

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    config = load_params(args.params).generate
    blocks = (config.rows + BLOCK_ROWS - 1) // BLOCK_ROWS
    writer = None
    with atomic_path(args.output) as tmp:
        try:
            for block in tqdm(
                churn_blocks(config.rows, config.seed),
                total=blocks,
                unit="block",
                desc="generate",
                disable=blocks < 3,
            ):
                table = pa.Table.from_pandas(block, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    log.info("wrote %s: %d rows (seed %d)", args.output, config.rows, config.seed)
    return 0
