"""The Dask engine on a real loopback cluster: the drift stage's bytes do not depend on the
executor or the number of workers; the stage on a scheduler address, on DASK_SCHEDULER_ADDRESS
and on a LocalCluster it starts and stops (mlpipe.engine.cluster)."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest
import yaml
from distributed import Client

from mlpipe.config import DaskConfig
from mlpipe.data.drift import drift_counts, drift_plan, drift_report, merge_drift_counts
from mlpipe.data.schema import dump_schema
from mlpipe.engine import LocalExecutor
from mlpipe.engine.cluster import ClusterError, DaskExecutor, get_client, worker_memory_limits
from mlpipe.io import ParquetColumns
from mlpipe.stages import drift as drift_stage
from support.dask_cluster import LoopbackCluster, extra_worker

from .drift_tables import CONFIG, SCHEMA, as_bytes, write_tables

pytestmark = pytest.mark.slow


def _report(engine, reference: Path, current: Path) -> bytes:
    plan = drift_plan(ParquetColumns(reference), ParquetColumns(current), SCHEMA)
    chunk = functools.partial(drift_counts, plan=plan)
    counts = [
        engine.map_merge(p, plan.names, chunk, merge_drift_counts, {})
        for p in (reference, current)
    ]
    rows = (pq.read_metadata(reference).num_rows, pq.read_metadata(current).num_rows)
    return as_bytes(drift_report(plan, *counts, rows, CONFIG))


def test_drift_is_byte_identical_on_one_two_and_three_workers(
    dask_cluster: LoopbackCluster, dask_client: Client, tmp_path: Path
) -> None:
    reference, current = write_tables(tmp_path)  # 12 and 8 row groups: 12 and 8 tasks
    expected = _report(LocalExecutor(1000), reference, current)
    assert b'"drifted": ["amount"]' in expected
    workers = dask_cluster.workers
    for n in (1, 2, 3):
        engine = DaskExecutor(dask_client, chunk_rows=100, workers=workers[:n])
        assert _report(engine, reference, current) == expected, f"{n} workers"
    # the restriction holds: one worker ran every task of the one-worker run
    where = DaskExecutor(dask_client, chunk_rows=100, workers=workers[:1]).map_merge(
        reference,
        ["cid"],
        lambda chunk: {__import__("distributed").get_worker().address},
        set.union,
        set(),
    )
    assert where == {workers[0]}
    assert worker_memory_limits(dask_client) == dict.fromkeys(workers, 2**30)


def test_a_worker_that_dies_mid_task_changes_nothing(
    dask_cluster: LoopbackCluster, dask_client: Client, tmp_path: Path
) -> None:
    """A fourth worker dies (its process exits) in the middle of its first drift task: Dask
    runs its tasks again on another worker, and the report is byte for byte the same."""
    reference, current = write_tables(tmp_path)
    expected = _report(LocalExecutor(1000), reference, current)
    plan = drift_plan(ParquetColumns(reference), ParquetColumns(current), SCHEMA)

    def dying(frame, plan=plan):  # pickled by value: the workers do not import this file
        import os

        from distributed import get_worker

        if get_worker().name == "doomed":
            os._exit(1)
        return drift_counts(frame, plan)

    with extra_worker(dask_cluster, "doomed") as process:
        dask_client.wait_for_workers(4, timeout=60)
        info = dask_client.scheduler_info(n_workers=-1)["workers"]
        doomed = next(a for a, w in info.items() if w["name"] == "doomed")
        engine = DaskExecutor(
            dask_client, chunk_rows=100, workers=(doomed, dask_cluster.workers[0])
        )
        counts = [
            engine.map_merge(p, plan.names, dying, merge_drift_counts, {})
            for p in (reference, current)
        ]
        assert process.wait(timeout=60) == 1  # it did die
    rows = (pq.read_metadata(reference).num_rows, pq.read_metadata(current).num_rows)
    assert as_bytes(drift_report(plan, *counts, rows, CONFIG)) == expected


def _stage_args(directory: Path, engine: dict, name: str) -> argparse.Namespace:
    reference, current = directory / "reference.parquet", directory / "current.parquet"
    (directory / f"{name}.yaml").write_text(yaml.safe_dump({"engine": engine}))
    return argparse.Namespace(
        params=str(directory / f"{name}.yaml"),
        reference=str(reference),
        current=str(current),
        schema=str(directory / "schema.yaml"),
        output_json=str(directory / f"{name}.json"),
        output_md=str(directory / f"{name}.md"),
    )


def _children() -> set[int]:
    """This process's children, but multiprocessing's resource tracker (started once, kept)."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(p.cmdline())
    }


def test_the_drift_stage_writes_the_same_files_on_every_engine(
    dask_cluster: LoopbackCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tables(tmp_path)
    (tmp_path / "schema.yaml").write_text(dump_schema(SCHEMA))
    assert drift_stage.run(_stage_args(tmp_path, {"kind": "local"}, "local")) == 0
    # a LocalCluster of one worker, started for the stage and stopped with it
    children = _children()
    local_cluster = {"kind": "dask", "dask": {"n_workers": 1, "memory_limit": "1GiB"}}
    assert drift_stage.run(_stage_args(tmp_path, local_cluster, "localcluster")) == 0
    assert _children() <= children
    # the scheduler from DASK_SCHEDULER_ADDRESS, over a wrong engine.dask.address
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.address)
    wrong = {"kind": "dask", "dask": {"address": "tcp://127.0.0.1:9"}}
    assert drift_stage.run(_stage_args(tmp_path, wrong, "cluster")) == 0
    for suffix in ("json", "md"):
        local = (tmp_path / f"local.{suffix}").read_bytes()
        assert b"amount" in local
        assert (tmp_path / f"localcluster.{suffix}").read_bytes() == local
        assert (tmp_path / f"cluster.{suffix}").read_bytes() == local


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with (
        pytest.raises(ClusterError) as error,
        get_client(DaskConfig(address="tcp://127.0.0.1:9"), timeout=1),
    ):
        pass
    message = str(error.value)
    assert message.startswith(
        "cannot reach the Dask scheduler at tcp://127.0.0.1:9 (engine.dask.address): "
    )
    assert message.endswith(
        "Start one (`dask scheduler`, then `dask worker <address>` on each machine), fix the "
        "address, or leave engine.dask.address empty for a LocalCluster"
    )
