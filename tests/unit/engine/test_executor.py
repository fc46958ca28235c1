"""The local executor and the drift stage's chunk functions: any cut of the table, the same
report as the whole table in memory (mlpipe.engine.executor, mlpipe.data.drift)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mlpipe.config import params_from_dict
from mlpipe.data.drift import (
    ColumnCounts,
    compute_drift,
    drift_counts,
    drift_plan,
    drift_report,
    merge_column_counts,
    merge_drift_counts,
)
from mlpipe.engine import LocalExecutor, executor
from mlpipe.io import ParquetColumns, read_parquet
from support.repo import PROJECT, base_env

from .drift_tables import CONFIG, SCHEMA, as_bytes, write_tables


def _report(engine, reference: Path, current: Path) -> bytes:
    plan = drift_plan(ParquetColumns(reference), ParquetColumns(current), SCHEMA)
    chunk = functools.partial(drift_counts, plan=plan)
    counts = [
        engine.map_merge(p, plan.names, chunk, merge_drift_counts, {})
        for p in (reference, current)
    ]
    rows = (pq.read_metadata(reference).num_rows, pq.read_metadata(current).num_rows)
    return as_bytes(drift_report(plan, *counts, rows, CONFIG))


def test_the_local_executor_folds_chunks_of_each_row_group_in_file_order(tmp_path: Path) -> None:
    """Row group by row group, as the Dask engine's tasks: the same chunks on both engines."""
    reference, _ = write_tables(tmp_path)  # 3000 rows in row groups of 250
    seen = LocalExecutor(chunk_rows=100).map_merge(
        reference, ["cid"], lambda chunk: [(chunk["cid"].iloc[0], len(chunk))], list.__add__, []
    )
    assert seen[:4] == [("c1-0", 100), ("c1-100", 100), ("c1-200", 50), ("c1-250", 100)]
    assert len(seen) == 36 and sum(rows for _, rows in seen) == 3000
    whole_groups = LocalExecutor(chunk_rows=700).map_merge(
        reference, ["cid"], lambda chunk: [len(chunk)], list.__add__, []
    )
    assert whole_groups == [250] * 12


@pytest.mark.parametrize("chunk_rows", [97, 1000, 1_000_000])
def test_drift_by_chunks_is_byte_identical_to_the_whole_tables(
    tmp_path: Path, chunk_rows: int
) -> None:
    reference, current = write_tables(tmp_path)
    whole = compute_drift(read_parquet(reference), read_parquet(current), SCHEMA, CONFIG)
    assert whole.drifted  # a real comparison: the shift is found
    assert _report(LocalExecutor(chunk_rows), reference, current) == as_bytes(whole)


def test_merged_counts_do_not_depend_on_the_order() -> None:
    a = ColumnCounts(np.array([1.0, 3.0]), np.array([2, 1]), 3, 4)
    b = ColumnCounts(np.array([0.5, 3.0]), np.array([1, 5]), 6, 6)
    empty = ColumnCounts(np.array([]), np.array([], dtype=np.int64), 0, 0)
    for merged in (
        merge_column_counts(a, b),
        merge_column_counts(merge_column_counts(empty, b), a),
    ):
        assert merged.values.tolist() == [0.5, 1.0, 3.0]
        assert merged.counts.tolist() == [1, 2, 6]
        assert (merged.present, merged.rows) == (9, 10)


@pytest.mark.slow
def test_the_local_engine_never_imports_dask(tmp_path: Path) -> None:
    """The drift stage on the local engine, in a new process: Dask is not among its modules."""
    from mlpipe.data.generate import generate_churn
    from mlpipe.io import write_parquet

    write_parquet(tmp_path / "a.parquet", generate_churn(300, seed=1))
    write_parquet(tmp_path / "b.parquet", generate_churn(300, seed=2))
    (tmp_path / "params.yaml").write_text(json.dumps({"engine": {"kind": "local"}}))
    code = (
        "import sys; from mlpipe.cli import main\n"
        "status = main(['drift', '--params', 'params.yaml', '--reference', 'a.parquet', "
        f"'--current', 'b.parquet', '--schema', {str(PROJECT / 'data' / 'schema.yaml')!r}, "
        "'--output-json', 'd.json'])\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'mlpipe')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=base_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    status, modules = out.stdout.split(" ", 1)
    assert status == "0"
    assert "mlpipe.engine.executor" in modules  # the stage went through the executor
    assert "'dask" not in modules and "'distributed" not in modules
    assert json.loads((tmp_path / "d.json").read_text())["reference_rows"] == 300


def test_executor_follows_engine_kind() -> None:
    params = params_from_dict({"memory": {"chunk_rows": 5000}})
    with executor(params.engine, params.memory.chunk_rows) as local:
        assert local == LocalExecutor(5000)
