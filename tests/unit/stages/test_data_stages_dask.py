"""`mlpipe ingest`, `validate` and `split` on the Dask engine (the session's loopback cluster):
the files are byte for byte the local engine's on one, two and three workers and on a
LocalCluster; a worker killed in the middle of ingest changes nothing."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from distributed import Client

from mlpipe.data.schema import dump_schema
from mlpipe.engine.cluster import DaskExecutor
from mlpipe.io import write_json
from mlpipe.stages import ingest as ingest_stage
from mlpipe.stages import split as split_stage
from support.dask_cluster import LoopbackCluster, extra_worker

pytestmark = pytest.mark.slow

ROWS = 4500  # memory.chunk_rows 1000: five chunks, tasks on every worker


def _source(tmp_path: Path) -> Path:
    """A CSV as people write them: pandas' index kept, day-first dates, some targets missing."""
    frame = pd.DataFrame(
        {
            "visit": pd.date_range("2020-01-01", periods=ROWS, freq="D").strftime("%d/%m/%Y"),
            "age": [str(20 + i % 50) if i % 97 else "NA" for i in range(ROWS)],
            "plan": ["basic", "pro", " pro"] * (ROWS // 3),
            "amount": [f"{i * 1.25:,.2f}" for i in range(ROWS)],
            "churned": ["" if i % 9 == 4 else ("yes" if i % 3 else "no") for i in range(ROWS)],
        }
    )
    path = tmp_path / "source.csv"
    frame.to_csv(path)
    return path


def _params(tmp_path: Path, engine: dict) -> Path:
    path = tmp_path / f"params-{len(list(tmp_path.glob('params-*')))}.yaml"
    data = {"target": "churned", "id_columns": None, "date_column": "visit"}
    split = {"method": "stratified", "test_size": 0.25, "seed": 5}
    path.write_text(
        yaml.safe_dump(
            {"data": data, "split": split, "memory": {"chunk_rows": 1000}, "engine": engine}
        )
    )
    return path


def _pipeline(tmp_path: Path, source: Path, name: str, engine: dict) -> dict[str, bytes]:
    """ingest, then split of the ingested table: every file's bytes, by name."""
    params, out = _params(tmp_path, engine), tmp_path / name
    files = {
        "ingested": out / "ingested.parquet",
        "ingest.json": out / "ingest.json",
        "unlabelled": out / "unlabelled.parquet",
        "train": out / "train.parquet",
        "test": out / "test.parquet",
    }
    ingest = argparse.Namespace(
        params=str(params),
        source=str(source),
        output=str(files["ingested"]),
        report=str(files["ingest.json"]),
        unlabelled=str(files["unlabelled"]),
    )
    assert ingest_stage.run(ingest) == 0
    write_json(out / "validation.json", {"ok": True, "task": "binary"})
    split = argparse.Namespace(
        params=str(params),
        input=str(files["ingested"]),
        validation=str(out / "validation.json"),
        train=str(files["train"]),
        test=str(files["test"]),
    )
    assert split_stage.run(split) == 0
    return {key: path.read_bytes() for key, path in files.items()}


def _restricted(client: Client, workers: tuple[str, ...]):
    """A stage's executor: the Dask engine on ``workers`` of the session's cluster."""

    @contextmanager
    def restricted(engine: object, chunk_rows: int) -> Iterator[DaskExecutor]:
        yield DaskExecutor(client, chunk_rows, workers=workers)

    return restricted


def _on_workers(monkeypatch: pytest.MonkeyPatch, client: Client, workers: tuple[str, ...]):
    """The stages' executor: the Dask engine on ``workers`` of the session's cluster."""
    monkeypatch.setattr(ingest_stage, "executor", _restricted(client, workers))
    monkeypatch.setattr(split_stage, "executor", _restricted(client, workers))


def test_ingest_and_split_are_byte_identical_on_one_two_and_three_workers(
    dask_cluster: LoopbackCluster,
    dask_client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = _source(tmp_path)
    local = _pipeline(tmp_path, source, "local", {"kind": "local"})
    ingested = pd.read_parquet(tmp_path / "local" / "ingested.parquet")
    assert list(ingested.columns) == ["visit", "age", "plan", "amount", "churned"]
    assert ingested["amount"].iloc[-1] == (ROWS - 1) * 1.25  # "5,623.75" read as a number
    assert ingested["plan"].unique().tolist() == ["basic", "pro"]  # stripped
    test = pd.read_parquet(tmp_path / "local" / "test.parquet")
    counts = ingested["churned"].value_counts()
    assert test["churned"].value_counts().to_dict() == (counts * 0.25).round().to_dict()
    for n in (1, 2, 3):
        with monkeypatch.context() as patch:
            _on_workers(patch, dask_client, dask_cluster.workers[:n])
            on_dask = _pipeline(tmp_path, source, f"dask-{n}", {"kind": "dask"})
        for key, expected in local.items():
            assert on_dask[key] == expected, f"{key} on {n} workers"
    # a LocalCluster (one worker), started for each stage and stopped with it
    engine = {"kind": "dask", "dask": {"n_workers": 1, "memory_limit": "1GiB"}}
    assert _pipeline(tmp_path, source, "localcluster", engine) == local


def test_split_merges_the_row_groups_of_a_table_in_any_cut(
    dask_cluster: LoopbackCluster,
    dask_client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table of 30 row groups: 30 split tasks, merged in order; the same files as the
    local engine reading it in chunks of 1000 rows."""
    rng = np.random.default_rng(3)
    n = 6000
    table = pa.table({"y": rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1]), "x": np.arange(n)})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=200)
    write_json(tmp_path / "validation.json", {"ok": True, "task": "multiclass"})

    def split(name: str, method: str) -> tuple[bytes, bytes]:
        params = tmp_path / f"{name}.yaml"
        params.write_text(
            yaml.safe_dump(
                {
                    "data": {"target": "y", "date_column": None},
                    "split": {"method": method, "test_size": 0.2, "seed": 1},
                    "memory": {"chunk_rows": 1000},
                }
            )
        )
        args = argparse.Namespace(
            params=str(params),
            input=str(tmp_path / "in.parquet"),
            validation=str(tmp_path / "validation.json"),
            train=str(tmp_path / f"{name}-train.parquet"),
            test=str(tmp_path / f"{name}-test.parquet"),
        )
        assert split_stage.run(args) == 0
        return Path(args.train).read_bytes(), Path(args.test).read_bytes()

    local = {method: split(f"local-{method}", method) for method in ("stratified", "random")}
    test = pd.read_parquet(tmp_path / "local-stratified-test.parquet")
    assert test["y"].value_counts().to_dict() == {
        label: round(count * 0.2)
        for label, count in table.to_pandas()["y"].value_counts().to_dict().items()
    }
    assert len(pd.read_parquet(tmp_path / "local-random-test.parquet")) == 1200
    _on_workers(monkeypatch, dask_client, dask_cluster.workers)
    for method, expected in local.items():
        assert split(f"dask-{method}", method) == expected, method


def test_a_worker_killed_in_the_middle_of_ingest_changes_nothing(
    dask_cluster: LoopbackCluster,
    dask_client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fourth worker's process exits the moment a task of ingest starts on it (a worker
    plugin sees the task start): Dask runs the task again on another worker, and the files
    are byte for byte the local engine's."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class DieOnFirstTask(WorkerPlugin):  # defined here: pickled by value
        name = "die-on-first-task"

        def setup(self, worker):  # type: ignore[no-untyped-def]
            self.doomed = worker.name == "doomed-in-ingest"

        def transition(self, key, start, finish, **kwargs):  # type: ignore[no-untyped-def]
            if self.doomed and finish == "executing" and "ingest_chunk" in str(key):
                import os

                os._exit(3)

    source = _source(tmp_path)
    local = _pipeline(tmp_path, source, "local", {"kind": "local"})
    with extra_worker(dask_cluster, "doomed-in-ingest") as process:
        dask_client.wait_for_workers(len(dask_cluster.workers) + 1, timeout=60)
        info = dask_client.scheduler_info(n_workers=-1)["workers"]
        doomed = next(a for a, w in info.items() if w["name"] == "doomed-in-ingest")
        dask_client.register_plugin(DieOnFirstTask())
        try:
            _on_workers(monkeypatch, dask_client, (doomed, dask_cluster.workers[0]))
            on_dask = _pipeline(tmp_path, source, "dask", {"kind": "dask"})
            assert process.wait(timeout=60) == 3  # it died, in a task of ingest
        finally:
            dask_client.unregister_worker_plugin(DieOnFirstTask.name)
    assert on_dask == local


def test_validate_on_the_workers_gives_the_local_engines_report(
    dask_cluster: LoopbackCluster,
    dask_client: Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """validation.json byte for byte on 1, 2 and 3 workers (a table of 12 row groups whose
    integer column has missing values in some only, repeated whole rows across groups); and a
    failing table's every violation (repeated ids in two row groups) the same as in memory."""
    from mlpipe.data.validate import validate_parquet, validate_table
    from mlpipe.io import read_parquet
    from mlpipe.stages import validate as validate_stage

    from ..data.validate_tables import SCHEMA, write
    from ..data.validate_tables import frame as broken_table

    good = broken_table().drop(columns=["id", "amount", "active"])
    good["age"] = good["age"].clip(0, 90)
    good["kids"] = good["kids"].round()
    good["fee"] = good["fee"].clip(0, 100).fillna(1.0)
    good["plan"] = good["plan"].where(good["plan"].isin(["basic", "pro"]), "basic")
    good["y"] = good["y"].replace("c", "a")
    good = pd.concat([good, good.iloc[[4, 30]]], ignore_index=True)  # two repeated rows
    write(good, tmp_path / "good.parquet", group_rows=5)
    schema = dataclasses.replace(
        SCHEMA,
        columns=tuple(
            dataclasses.replace(c, max_missing=0.05) if c.name == "age" else c
            for c in SCHEMA.columns
            if c.name in good.columns
        ),
    )
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "data": {"target": "y", "task": "multiclass", "id_columns": None},
                "gate": {"rules": [{"metric": "accuracy", "min": 0.5}]},
                "monitor": {"metrics": ["accuracy"]},
            }
        )
    )

    def validate(name: str) -> bytes:
        args = argparse.Namespace(
            params=str(tmp_path / "params.yaml"),
            input=str(tmp_path / "good.parquet"),
            schema=str(tmp_path / "schema.yaml"),
            report=str(tmp_path / f"{name}.json"),
        )
        assert validate_stage.run(args) == 0
        return (tmp_path / f"{name}.json").read_bytes()

    local = validate("local")
    report = json.loads(local)
    assert report["ok"] is True and report["rows"] == 62
    assert [(w["column"], w["rule"], w["rows"]) for w in report["warnings"]] == [
        ("seen", "min 2020-01-01", 14),
        ("seen", "max 2020-12-31", 7),  # row 30, repeated, is one
        ("extra", "known column", 62),
        ("*", "unique rows", 2),
    ]
    for n in (1, 2, 3):
        with monkeypatch.context() as patch:
            patch.setattr(
                validate_stage,
                "executor",
                _restricted(dask_client, dask_cluster.workers[:n]),
            )
            assert validate(f"dask-{n}") == local, f"{n} workers"

    bad = write(broken_table(), tmp_path / "bad.parquet", group_rows=7)
    on_dask = DaskExecutor(dask_client, 1000, workers=dask_cluster.workers)
    found = validate_parquet(on_dask.map_merge, bad, SCHEMA, id_columns=("id",))
    assert found == validate_table(read_parquet(bad), SCHEMA, id_columns=("id",))
    assert [v.rule for v in found.errors if v.column == "id"] == ["unique ids"]
