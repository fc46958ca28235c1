"""Where a stage computes: in this process (the local engine) or on a Dask cluster.

A stage's chunk-wise work is a pure function (a table chunk in, a partial result out) and a
pure merge of two partials; ``Executor.map_merge`` applies them to a Parquet table. The local
engine loops over chunks in this process; the Dask engine maps the table's row groups as
tasks and merges their partials in row-group order. A merge that is exact (counts added, sets
united) gives the same result for every way of cutting the table, so the outputs do not
depend on the engine, the number of workers or the order in which tasks finish.

``executor(params.engine, params.memory.chunk_rows)`` is the one entry point a stage uses.
Dask is imported only when ``engine.kind`` is ``dask`` (``mlpipe.engine.cluster``); the local
engine never imports it.
"""

from mlpipe.engine.executor import Executor, LocalExecutor, executor

__all__ = ["Executor", "LocalExecutor", "executor"]
