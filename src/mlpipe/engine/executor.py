"""The executor abstraction: ``map_merge`` of a pure chunk function over a Parquet table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import pandas as pd

from mlpipe.config import EngineConfig
from mlpipe.io import iter_parquet, parquet_row_groups

T = TypeVar("T")


class Executor(Protocol):
    """Runs a stage's chunk-wise work; ``name`` is ``local`` or ``dask`` (for log lines)."""

    name: str

    def map_merge(
        self,
        path: str | Path,
        columns: list[str],
        chunk: Callable[[pd.DataFrame], T],
        merge: Callable[[T, T], T],
        initial: T,
    ) -> T:
        """``merge`` folded over ``chunk`` of each piece of the table's ``columns``.

        The pieces are taken in file order and merged in that order, starting from
        ``initial``; how the table is cut differs between executors, so the result is the
        same on every executor only when ``merge`` is exact and associative (counts added,
        sets united, values sorted), which is what a stage's merge must be.
        """
        ...

    def map_chunks(
        self, chunks: Iterable[pd.DataFrame], function: Callable[[pd.DataFrame], T]
    ) -> Iterator[T]:
        """``function`` of each chunk that this process reads (a source that is not a
        Parquet table of the pipeline, e.g. a CSV file), yielded in the chunks' order.

        The local engine calls it here; the Dask engine sends each chunk to a worker as a
        task, a few chunks ahead of the one being yielded, so memory here holds a few chunks.
        """
        ...


@dataclass(frozen=True)
class LocalExecutor:
    """The local engine: chunks of at most ``chunk_rows`` rows (``memory.chunk_rows``) of each
    Parquet row group, in this process."""

    chunk_rows: int
    name: str = "local"

    def map_merge(
        self,
        path: str | Path,
        columns: list[str],
        chunk: Callable[[pd.DataFrame], T],
        merge: Callable[[T, T], T],
        initial: T,
    ) -> T:
        """Row group by row group, as the Dask engine's tasks (``fold_chunks`` of each group,
        merged in file order): the same chunks on both engines, so even work that is not
        exact in floating point (a model's probabilities) gives the same bits."""
        result = initial
        for group in range(parquet_row_groups(path)):
            part = fold_chunks(path, [group], columns, chunk, merge, initial, self.chunk_rows)
            result = merge(result, part)
        return result

    def map_chunks(
        self, chunks: Iterable[pd.DataFrame], function: Callable[[pd.DataFrame], T]
    ) -> Iterator[T]:
        return map(function, chunks)


def fold_chunks(
    path: str | Path,
    row_groups: list[int] | None,
    columns: list[str],
    chunk: Callable[[pd.DataFrame], T],
    merge: Callable[[T, T], T],
    initial: T,
    chunk_rows: int,
) -> T:
    """``merge`` folded over ``chunk`` of batches of at most ``chunk_rows`` rows of ``path``
    (of ``row_groups`` only, when given), in file order. The one loop both executors run: the
    local one over the whole file, each Dask task over its row group. Each batch's index holds
    its rows' positions in the file, so ``chunk`` can decide per row (a seeded hash of the row
    number) the same way whatever the cut."""
    result = initial
    batches = iter_parquet(
        path, chunk_rows, columns=columns, row_groups=row_groups, positions=True
    )
    for batch in batches:
        result = merge(result, chunk(batch))
    return result


@contextmanager
def executor(engine: EngineConfig, chunk_rows: int) -> Iterator[Executor]:
    """The executor ``engine.kind`` names, ready for the stage's work, closed afterwards;
    ``chunk_rows``: rows per chunk (``memory.chunk_rows``).

    ``dask``: a client to ``engine.dask.address`` (or ``DASK_SCHEDULER_ADDRESS``), or a
    LocalCluster started for the stage and closed when it ends (see ``mlpipe.engine.cluster``).
    """
    if engine.kind == "local":
        yield LocalExecutor(chunk_rows)
        return
    from mlpipe.engine.cluster import DaskExecutor, get_client  # imports Dask

    with get_client(engine.dask) as client:
        yield DaskExecutor(client, chunk_rows)
