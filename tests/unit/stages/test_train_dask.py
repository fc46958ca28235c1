"""`mlpipe train` on the Dask engine: xgboost trained on the cluster, then evaluated, scored and
smoke-tested on one machine, predict and the smoke test in processes that cannot import Dask;
scikit-learn's estimators refused on that engine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from mlpipe.cli import main
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import load_schema
from mlpipe.data.split import split_table
from mlpipe.io import read_parquet, write_parquet
from mlpipe.model.features import feature_spec
from mlpipe.model.persist import load_model
from mlpipe.model.predict import predictions
from support.dask_cluster import LoopbackCluster
from support.repo import BIN, PROJECT, base_env

SCHEMA = PROJECT / "data" / "schema.yaml"
# Imported first by every Python process started with this directory on PYTHONPATH.
NO_DASK = """
import sys

class _NoDask:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, _NoDask())
"""


def _params(directory: Path, estimator: str) -> Path:
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["train"]["estimator"] = estimator
    params["train"]["xgboost"]["n_estimators"] = 40
    params["evaluate"].update(importance_rows=300, importance_repeats=1)
    params["engine"] = {"kind": "dask", "dask": {"address": "tcp://127.0.0.1:9"}}
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_scikit_learn_estimators_are_refused_on_the_dask_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_parquet(tmp_path / "train.parquet", generate_churn(200, seed=1))
    params = _params(tmp_path, "hist_gradient_boosting")
    model = tmp_path / "m.skops"
    args = ["--params", str(params), "--schema", str(SCHEMA), "--model", str(model)]
    status = main(["train", *args, "--train", str(tmp_path / "train.parquet")])
    assert status == 2  # a user error, before any cluster is reached (the address is wrong)
    assert (
        "train.estimator 'hist_gradient_boosting' is scikit-learn's and trains on one machine; "
        "on engine.kind: dask set train.estimator: xgboost (trained with xgboost.dask), or set "
        "engine.kind: local"
    ) in caplog.text
    assert not model.exists()


@pytest.mark.slow
def test_trained_on_the_cluster_used_on_one_machine_without_dask(
    dask_cluster: LoopbackCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    train, test = split_table(generate_churn(2000, seed=4), "churned", "stratified", 0.25, seed=0)
    write_parquet(tmp_path / "train.parquet", train)
    write_parquet(tmp_path / "test.parquet", test)
    params = _params(tmp_path, "xgboost")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", dask_cluster.address)
    model = tmp_path / "model.skops"
    common = ["--params", str(params), "--schema", str(SCHEMA)]
    monkeypatch.chdir(tmp_path)  # relative paths, as dvc.yaml gives them (the workers run
    # in a directory of their own)
    assert main(["train", *common, "--train", "train.parquet", "--model", "model.skops"]) == 0
    results = tmp_path / "results"
    assert (
        main(
            [
                "evaluate",
                *common,
                "--model",
                str(model),
                "--train",
                str(tmp_path / "train.parquet"),
                "--test",
                str(tmp_path / "test.parquet"),
                "--metrics",
                str(results / "metrics.json"),
                "--slices",
                str(results / "slices.json"),
                "--plots",
                str(results / "plots"),
                "--figures",
                str(results / "figures"),
                "--card",
                str(results / "card.md"),
            ]
        )
        == 0
    )
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["test"]["roc_auc"] > 0.7
    # --predictions, --intervals and --audit left out: paths.* (the audit's report is absent)
    defaults = yaml.safe_load(params.read_text())["paths"]
    rows = read_parquet(tmp_path / defaults["test_predictions"])
    assert rows["row"].tolist() == list(range(len(test)))
    intervals = json.loads((tmp_path / defaults["intervals"]).read_text())
    assert intervals["rows"] == len(test) and "roc_auc" in intervals["test"]
    card = (results / "card.md").read_text()
    assert "# Model card: `churned` (binary), xgboost" in card
    assert "its XGBoost booster in XGBoost's UBJSON format" in card
    assert "| `n_estimators` | 40 |" in card

    # the same model, scored in processes where `import dask` fails
    blocker = tmp_path / "no-dask"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_DASK)
    env = {**base_env(), "PYTHONPATH": str(blocker)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    probe = subprocess.run(
        [str(BIN / "python"), "-c", "import dask"], env=env, capture_output=True, text=True
    )
    assert "No module named 'dask' (blocked by the test)" in probe.stderr
    out = tmp_path / "scores.parquet"
    run = subprocess.run(
        [
            str(BIN / "mlpipe"),
            "predict",
            *common,
            "--model",
            str(model),
            "--input",
            str(tmp_path / "test.parquet"),
            "--output",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    scores = read_parquet(out)
    expected = predictions(
        load_model(model),
        test,
        feature_spec(load_schema(SCHEMA)),
        "churned",
        "binary",
    )
    np.testing.assert_allclose(
        scores["proba_True"].to_numpy(), expected.proba[:, 1], rtol=0, atol=1e-12
    )
    assert scores["customer_id"].tolist() == test["customer_id"].tolist()
    smoke = subprocess.run(
        [str(BIN / "mlpipe"), "smoke-test", *common, "--model", str(model)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert smoke.returncode == 0, smoke.stderr
    report = json.loads(smoke.stdout)
    assert report["ok"] is True and report["rows"] == 200, report
