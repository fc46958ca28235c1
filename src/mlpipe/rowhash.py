"""Per-row seeded hashes: every random choice about a row (its side of the train/test split,
the early-stopping rows, the samples evaluate scores) is decided from the row's number and
the seed alone, never from how the table is cut into chunks or Dask partitions."""

from __future__ import annotations

import numpy as np

_MASK64 = (1 << 64) - 1


def row_hash(rows: np.ndarray, seed: int) -> np.ndarray:
    """The SplitMix64 hash (uint64) of each row number in ``rows`` (0-based) under ``seed``.

    A bijection of the row numbers for each seed: two rows never share a hash.
    """
    with np.errstate(over="ignore"):
        z = np.asarray(rows).astype(np.uint64) + np.uint64(
            ((seed + 1) * 0x9E3779B97F4A7C15) & _MASK64
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def row_fraction(rows: np.ndarray, seed: int) -> np.ndarray:
    """``row_hash`` as a number in [0, 1) (its top 53 bits), per row."""
    return (row_hash(rows, seed) >> np.uint64(11)).astype(np.float64) * 2.0**-53
