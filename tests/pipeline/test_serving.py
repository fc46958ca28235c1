"""The pipeline's model in use: the model card it writes and `mlpipe predict` on new rows."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipe.config import load_params
from mlpipe.data.schema import load_schema
from mlpipe.evaluation.card import read_card
from mlpipe.model.features import feature_spec, model_frame
from mlpipe.model.persist import load_model
from support.repo import BIN, PROJECT, Repo

pytestmark = pytest.mark.slow

PAUSE_PREDICT = PROJECT / "tests" / "support" / "pause_predict"


def _lock_md5(repo: Repo, path: str) -> str:
    lock = yaml.safe_load((repo.path / "dvc.lock").read_text())
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return out["md5"]
    raise AssertionError(f"{path} not among dvc.lock outs")


def test_model_card_records_the_data_version_and_metrics(reproduced: Repo) -> None:
    card_path = reproduced.path / reproduced.params()["paths"]["model_card"]
    front = read_card(card_path)
    for split in ("train", "test"):
        entry = front["data"][split]
        assert entry["md5"] == _lock_md5(reproduced, entry["path"])
    assert front["model"]["md5"] == _lock_md5(reproduced, "data/model/model.skops")
    assert front["metrics"] == reproduced.read_json("data/results/metrics.json")
    assert front["estimator"] == reproduced.params()["train"]["estimator"]
    assert front["data"]["test"]["rows"] == 4000 and front["data"]["train"]["rows"] == 16000
    text = card_path.read_text()
    assert f"| roc_auc | {front['metrics']['test']['roc_auc']:.4f} |" in text
    assert "Weakest slice:" in text


@pytest.fixture(scope="module")
def new_rows(reproduced: Repo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test rows without labels, as a CSV export with three unseen plan values."""
    frame = pd.read_parquet(reproduced.path / "data/processed/test.parquet")
    frame = frame.drop(columns=["churned"])
    frame["plan"] = frame["plan"].astype(object)
    frame.loc[[10, 2000, 3999], "plan"] = "platinum"
    path = tmp_path_factory.mktemp("rows") / "batch.csv"
    frame.to_csv(path, index=False)
    return path


def test_predict_scores_new_rows_like_the_model(
    reproduced: Repo, new_rows: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores.parquet"
    result = reproduced.mlpipe(
        "predict",
        "--model",
        "data/model/model.skops",
        "--input",
        str(new_rows),
        "--output",
        str(out),
        "--chunk-rows",
        "1500",
    )
    assert (
        "unseen categories in 'plan': 3 rows ('platinum' x3); scored as unknown" in result.stderr
    )
    assert "4000 rows in 3 chunk(s)" in result.stderr
    scores = pd.read_parquet(out)
    assert list(scores.columns) == ["customer_id", "prediction", "proba_False", "proba_True"]
    assert len(scores) == 4000

    params = load_params(reproduced.path / "params.yaml")
    schema = load_schema(reproduced.path / "data/schema.yaml")
    spec = feature_spec(schema)
    test = pd.read_parquet(reproduced.path / "data/processed/test.parquet")
    test["plan"] = test["plan"].astype(object)
    test.loc[[10, 2000, 3999], "plan"] = "platinum"
    model = load_model(reproduced.path / "data/model/model.skops")
    expected = model.predict_proba(model_frame(test, spec))
    assert scores["customer_id"].tolist() == test["customer_id"].tolist()
    np.testing.assert_allclose(scores[["proba_False", "proba_True"]], expected, atol=1e-12)
    np.testing.assert_allclose(scores[["proba_False", "proba_True"]].sum(axis=1), 1.0)
    assert scores["prediction"].dtype == test["churned"].dtype == bool  # the target's type
    assert scores["prediction"].tolist() == (expected[:, 1] > 0.5).tolist()
    assert params.predict.unknown_categories == "warn"


def _predict(repo: Repo, source: Path, out: Path, tmp_path: Path, **params: object):
    """`mlpipe predict` with the repo's params changed by ``params`` ("section.key": value), in
    this process (test_predict_scores_new_rows_like_the_model runs the installed command)."""
    values = repo.params()
    for key, value in params.items():
        section, name = key.split(".")
        values[section][name] = value
    path = tmp_path / f"params-{len(list(tmp_path.glob('params-*')))}.yaml"
    path.write_text(yaml.safe_dump(values))
    return repo.mlpipe_in_process(
        "predict", "--params", str(path), "--model", "data/model/model.skops",
        "--input", str(source), "--output", str(out), check=False,
    )  # fmt: skip


def test_predict_accepts_random_samples_of_the_training_data(
    reproduced: Repo, tmp_path: Path
) -> None:
    """The issue's case: 100-row samples of the training data, missing values included, were
    refused at random by the exact missing-value budgets."""
    train = pd.read_parquet(reproduced.path / "data/processed/train.parquet")
    for seed in range(3):
        sample = train.sample(100, random_state=seed)
        assert sample.isna().any().any()  # the generator's missing values are in the samples
        source, out = tmp_path / f"s{seed}.csv", tmp_path / f"o{seed}.csv"
        sample.to_csv(source, index=False)
        result = _predict(reproduced, source, out, tmp_path)
        assert result.returncode == 0, result.stderr
        assert len(pd.read_csv(out)) == 100


def test_predict_under_unknown_fail_tolerates_a_few_and_refuses_many(
    reproduced: Repo, new_rows: Path, tmp_path: Path
) -> None:
    # 3 unseen plans in 4000 rows: within chance of a population that never showed one in
    # 20 000 training rows; scored as unknown, with a warning that gives the p-value.
    strict = {"predict.unknown_categories": "fail"}
    out = tmp_path / "scores.csv"
    result = _predict(reproduced, new_rows, out, tmp_path, **strict)
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"schema warning: plan: invalid values within the contract for 4000 rows \(binomial "
        r"p-value 0\.\d+ >= [\d.e-]+\), scored as they are \(text as a missing value\): "
        r"unknown category 'platinum' x3 \(3 rows\)",
        result.stderr,
    )
    assert len(pd.read_csv(out)) == 4000

    frame = pd.read_csv(new_rows)
    frame.loc[:397, "plan"] = "platinum"  # and rows 2000, 3999: 400
    frame.to_csv(tmp_path / "many.csv", index=False)
    refused = tmp_path / "refused.csv"
    result = _predict(reproduced, tmp_path / "many.csv", refused, tmp_path, **strict)
    assert result.returncode == 2
    assert "plan: 400 invalid values in 4000 rows (10.0%: unknown category 'platinum' x400)" in (
        result.stderr
    )
    assert "binomial p-value 0 < " in result.stderr and "No output was written" in result.stderr
    assert not refused.exists()


def test_predict_bad_rows_skip_sets_broken_rows_aside(reproduced: Repo, tmp_path: Path) -> None:
    frame = pd.read_parquet(reproduced.path / "data/processed/test.parquet").head(50)
    frame.loc[5, "tenure_months"] = -3
    source = tmp_path / "bad.parquet"
    frame.to_parquet(source, index=False)
    # default (bad_rows: fail): one value out of range in 50 rows is within chance, scored
    result = _predict(reproduced, source, tmp_path / "scores.csv", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tenure_months: invalid values within the contract for 50 rows" in result.stderr
    assert "-3 < min 0 x1 (1 rows)" in result.stderr
    assert len(pd.read_csv(tmp_path / "scores.csv")) == 50

    out = tmp_path / "skip" / "scores.csv"
    result = _predict(reproduced, source, out, tmp_path, **{"predict.bad_rows": "skip"})
    assert result.returncode == 4, result.stderr
    side = tmp_path / "skip" / "scores.rejected.csv"
    assert (
        f"set aside 1 of 50 rows that break a row rule (predict.bad_rows: skip): {side} lists "
        "them with the reasons; exit code 4"
    ) in result.stderr
    scores, rejected = pd.read_csv(out), pd.read_csv(side)
    assert scores["customer_id"].tolist() == frame["customer_id"].drop(index=5).tolist()
    assert rejected.to_dict("records") == [
        {
            "customer_id": frame.loc[5, "customer_id"],
            "input_row": 6,
            "reasons": "tenure_months: -3 < min 0",
        }
    ]

    frame.loc[:19, "tenure_months"] = -3  # 20 of 50: a real shift, refused even with skip
    frame.to_parquet(source, index=False)
    out = tmp_path / "shift" / "scores.csv"
    result = _predict(reproduced, source, out, tmp_path, **{"predict.bad_rows": "skip"})
    assert result.returncode == 2
    assert "bad.parquet (50 rows) breaks the data contract" in result.stderr
    assert "tenure_months: 20 invalid values in 50 rows (40.0%: -3 < min 0 x20)" in result.stderr
    assert not (tmp_path / "shift").exists()


def test_predict_numbers_written_as_words_are_tolerated_or_set_aside(
    reproduced: Repo, tmp_path: Path
) -> None:
    # The user review's case: 3 ages in the churn test rows replaced by words.
    frame = pd.read_parquet(reproduced.path / "data/processed/test.parquet")
    frame["age"] = frame["age"].astype(object)
    frame.loc[[7, 1800, 3500], "age"] = ["thirty", "forty", "unknown"]
    source = tmp_path / "churn_bad.csv"
    frame.to_csv(source, index=False)

    result = _predict(reproduced, source, tmp_path / "scores.csv", tmp_path)
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "is not a number" in line]
    assert len(warned) == 1 and " WARNING " in warned[0]
    assert warned[0].endswith(
        "scored as they are (text as a missing value): 'thirty' is not a number x1, 'forty' is "
        "not a number x1, 'unknown' is not a number x1 (3 rows)"
    )
    assert len(pd.read_csv(tmp_path / "scores.csv")) == 4000

    out = tmp_path / "skip.parquet"
    result = _predict(reproduced, source, out, tmp_path, **{"predict.bad_rows": "skip"})
    assert result.returncode == 4, result.stderr
    rejected = pd.read_parquet(tmp_path / "skip.rejected.parquet")
    assert rejected["input_row"].tolist() == [8, 1801, 3501]
    assert rejected["reasons"].tolist() == [
        "age: 'thirty' is not a number",
        "age: 'forty' is not a number",
        "age: 'unknown' is not a number",
    ]
    assert len(pd.read_parquet(out)) == 3997


def test_smoke_test_of_the_pipeline_model(reproduced: Repo, tmp_path: Path) -> None:
    report_path = tmp_path / "smoke.json"
    reproduced.mlpipe_in_process(
        "smoke-test", "--model", "data/model/model.skops", "--output", str(report_path)
    )
    report = json.loads(report_path.read_text())
    assert report["ok"] is True
    assert report["output"] == {"shape": [200, 2], "classes": ["False", "True"]}
    assert report["model_md5"] == _lock_md5(reproduced, "data/model/model.skops")


@pytest.fixture(scope="module")
def big_batch(reproduced: Repo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 000 generated customers: scored in 20 chunks of 10 000, seconds of work to stop."""
    tmp = tmp_path_factory.mktemp("big")
    params = yaml.safe_load((reproduced.path / "params.yaml").read_text())
    assert params["generate"]["rows"] == 20000
    params["generate"]["rows"] = 200_000
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = tmp / "b200k.parquet"
    reproduced.mlpipe_in_process(
        "generate", "--params", str(tmp / "params.yaml"), "--output", str(out)
    )
    return out


def _signals_not_ignored() -> None:
    """In the child before exec: SIGINT and SIGTERM at their default actions. A suite started as
    a shell's background job inherits SIGINT ignored, which mlpipe rightly keeps ignored."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


@pytest.mark.timing
@pytest.mark.parametrize(
    ("signum", "previous"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-new-output", "sigint-over-a-previous-output"],
)
def test_predict_stopped_by_a_signal_leaves_no_partial_file(
    reproduced: Repo, big_batch: Path, tmp_path: Path, signum: int, previous: bool
) -> None:
    """The user review's case (F8): `kill` of a running `mlpipe predict` left the hidden
    temporary file `.s.parquet.<random>.tmp` of its atomic write beside the output."""
    folder = tmp_path / "out" / "scores"  # created by predict, so removed with it
    output = folder / "s.parquet"
    if previous:
        folder.mkdir(parents=True)
        output.write_bytes(b"yesterday's scores")
    # The process pauses after writing its first chunk (support/pause_predict/sitecustomize.py)
    # and says so with a file: the test waits for that event, then signals.
    paused = tmp_path / "paused"
    env = {
        **reproduced.env,
        "PYTHONPATH": os.pathsep.join([str(PAUSE_PREDICT), reproduced.env["PYTHONPATH"]]),
        "MLPIPE_TEST_PAUSED": str(paused),
    }
    process = subprocess.Popen(
        [str(BIN / "mlpipe"), "predict", "--model", "data/model/model.skops",
         "--input", str(big_batch), "--output", str(output), "--chunk-rows", "10000"],
        cwd=reproduced.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_signals_not_ignored,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not paused.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert paused.exists(), "predict never wrote its first chunk"
        partial = [p for p in folder.glob(".s.parquet.*.tmp") if p.stat().st_size > 0]
        assert partial and process.poll() is None  # mid-write: the first chunk is in the file
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum, stderr
    assert (
        f"ERROR   mlpipe: predict stopped by {name}: files not finished were discarded (no "
        "partial output left)"
    ) in stderr
    assert "Traceback" not in stderr and "wrote " not in stderr
    assert not partial[0].exists()
    if previous:  # the old output is untouched, nothing else is there
        assert [p.name for p in folder.iterdir()] == ["s.parquet"]
        assert output.read_bytes() == b"yesterday's scores"
    else:  # no output, no temporary file, not even the directories predict created
        assert not (tmp_path / "out").exists()
