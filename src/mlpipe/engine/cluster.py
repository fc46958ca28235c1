"""The Dask engine: a client to a running scheduler or to a LocalCluster, and its executor.

Imported only when ``engine.kind`` is ``dask``: importing this module imports Dask.
Every worker must be able to import mlpipe (the same version as the client) and read the
paths the stage passes (a shared filesystem): tasks read the Parquet files themselves.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from distributed import Client, LocalCluster

from mlpipe.config import DaskConfig
from mlpipe.engine.executor import fold_chunks
from mlpipe.errors import MlpipeError
from mlpipe.io import parquet_row_groups

log = logging.getLogger(__name__)
T = TypeVar("T")
ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT_S = 20
# Chunks per worker sent ahead of the one ``map_chunks`` yields (the client holds that many).
AHEAD = 2


class ClusterError(MlpipeError):
    """The Dask cluster cannot be reached or cannot do the work; the message says what to do."""


def scheduler_address(config: DaskConfig) -> str | None:
    """``DASK_SCHEDULER_ADDRESS`` when set, else ``engine.dask.address`` (None: LocalCluster)."""
    return os.environ.get(ADDRESS_VARIABLE) or config.address


@contextmanager
def get_client(config: DaskConfig, timeout: float = CONNECT_TIMEOUT_S) -> Iterator[Client]:
    """A Dask client for the stage, closed when the stage ends.

    With a scheduler address (``scheduler_address``), a client to that cluster (the cluster
    keeps running); without one, a LocalCluster of ``n_workers`` processes started here and
    shut down on exit, whether the stage succeeded or not. ``timeout``: seconds to wait for
    the scheduler to answer.
    """
    with _quiet_distributed():
        yield from _client(config, timeout)


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Dask's own INFO lines (every connection, every worker started and stopped) shown only
    when mlpipe logs at DEBUG (``mlpipe -v``); warnings and errors always."""
    logger = logging.getLogger("distributed")
    level = logger.level
    if not log.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _client(config: DaskConfig, timeout: float) -> Iterator[Client]:
    address = scheduler_address(config)
    if address:
        source = ADDRESS_VARIABLE if os.environ.get(ADDRESS_VARIABLE) else "engine.dask.address"
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} ({source}): {exc}. Start one "
                "(`dask scheduler`, then `dask worker <address>` on each machine), fix the "
                "address, or leave engine.dask.address empty for a LocalCluster"
            ) from None
        with client:
            log.info("dask engine: scheduler %s, %d workers", address, _workers(client))
            yield client
        return
    memory: Any = config.memory_limit
    with (
        LocalCluster(
            n_workers=config.n_workers,
            threads_per_worker=config.threads_per_worker,
            memory_limit=memory,
            processes=True,
            dashboard_address=":0",  # a free port: stages running at once never collide
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        log.info(
            "dask engine: LocalCluster of %d workers x %d threads, memory limit %s each",
            config.n_workers,
            config.threads_per_worker,
            config.memory_limit,
        )
        yield client


def _workers(client: Client) -> int:
    return len(client.scheduler_info(n_workers=-1).get("workers", {}))


def worker_memory_limits(client: Client) -> dict[str, int]:
    """Each worker's memory limit in bytes, by address (0: the worker has no limit)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return {address: int(info.get("memory_limit") or 0) for address, info in workers.items()}


def worker_memory_used(client: Client) -> dict[str, int]:
    """The memory each worker's process holds (resident set, bytes), by address, after handing
    back to the OS what earlier tasks freed (Arrow's pool and the C heap keep freed blocks:
    a worker that read Parquet looks hundreds of MiB fuller than it is)."""
    return {str(address): int(rss) for address, rss in client.run(_released_rss).items()}


def _released_rss() -> int:
    import psutil

    from mlpipe.io import release_arrow_memory

    release_arrow_memory()
    try:  # glibc: return the heap's free pages
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return int(psutil.Process().memory_info().rss)


@dataclass(frozen=True)
class DaskExecutor:
    """The Dask engine's executor: one task per Parquet row group, merged in file order.

    A task reads its row group in batches of ``chunk_rows`` rows and folds them with the
    stage's chunk and merge functions (``fold_chunks``, the local engine's loop); the client
    then merges the tasks' partials in row-group order, releasing each as it is merged. Tasks
    are pure, so a task whose worker dies is run again by Dask with the same result.
    """

    client: Client
    chunk_rows: int
    workers: tuple[str, ...] | None = None
    """Run the tasks on these workers (addresses) only; None: on any."""
    name: str = "dask"

    def map_merge(
        self,
        path: str | Path,
        columns: list[str],
        chunk: Callable[[pd.DataFrame], T],
        merge: Callable[[T, T], T],
        initial: T,
    ) -> T:
        where = str(Path(path).resolve())  # workers do not share this process's directory
        groups = parquet_row_groups(where)
        futures = [
            self.client.submit(
                fold_chunks,
                where,
                [group],
                columns,
                chunk,
                merge,
                initial,
                self.chunk_rows,
                pure=False,
                workers=list(self.workers) if self.workers else None,
            )
            for group in range(groups)
        ]
        result = initial
        for future in futures:  # in row-group order, whatever order the tasks finish in
            result = merge(result, future.result())
            future.release()
        return result

    def map_chunks(
        self, chunks: Iterable[pd.DataFrame], function: Callable[[pd.DataFrame], T]
    ) -> Iterator[T]:
        """One task per chunk, at most ``AHEAD`` per worker submitted ahead of the one whose
        result is yielded (in the chunks' order). A chunk travels inside its task, so the
        scheduler can run the task again when its worker dies (the same result)."""
        ahead = AHEAD * max(1, len(self.workers) if self.workers else _workers(self.client))
        pending: deque[Any] = deque()
        for chunk in chunks:
            with warnings.catch_warnings():
                # The chunk is meant to be in the task: a worker lost is a task run again.
                warnings.filterwarnings("ignore", message=".*[Ll]arge (graph|object)")
                pending.append(
                    self.client.submit(
                        function,
                        chunk,
                        pure=False,
                        workers=list(self.workers) if self.workers else None,
                    )
                )
            del chunk
            while len(pending) > ahead:
                yield _take(pending)
        while pending:
            yield _take(pending)


def _take(pending: deque[Any]) -> Any:
    future = pending.popleft()
    result = future.result()
    future.release()
    return result
