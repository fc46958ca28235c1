"""`mlpipe monitor` on the reproduced pipeline: a batch like the training data, a shifted one,
and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mlpipe.evaluation.card import read_card
from support.repo import Repo
from support.s3 import S3Server, new_bucket

pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _outputs(out: Path) -> list[str]:
    return ["--output-json", str(out / "m.json"), "--output-md", str(out / "m.md"),
            "--output-png", str(out / "m.png")]  # fmt: skip


@pytest.fixture(scope="module")
def shifted_batch(reproduced: Repo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test split, shifted: charges x1.5, every contract month-to-month, labels flipped;
    written as CSV (read and normalised as ingest does)."""
    frame = pd.read_parquet(reproduced.path / "data/processed/test.parquet")
    frame["monthly_charges"] = frame["monthly_charges"] * 1.5
    frame["contract"] = "month-to-month"
    frame["churned"] = ~frame["churned"].astype(bool)
    path = tmp_path_factory.mktemp("batches") / "shifted.csv"
    frame.to_csv(path, index=False)
    return path


def test_batch_from_the_same_population_is_ok(reproduced: Repo, tmp_path: Path) -> None:
    test_split = reproduced.path / "data/processed/test.parquet"
    result = reproduced.mlpipe(
        "monitor", "--current", str(test_split), "--labels", *_outputs(tmp_path)
    )
    assert "verdict ok" in result.stderr
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["verdict"] == "ok" and report["reasons"] == []
    assert report["drifted"] == [] and report["warnings"] == []
    assert report["rows"] == 4000
    features = report["drift"]["features"]
    assert {"monthly_charges", "contract", "tenure_months", "churned"} <= set(features)
    assert all(f["psi"] < 0.2 for f in features.values())
    # the date column and the id change by design: listed, never tested (params data:)
    assert report["drift"]["not_compared"] == {
        "customer_id": "id column: changes by design",
        "signup_date": "date column: changes by design",
    }
    assert "signup_date" not in features and report["labelled_rows"] == 4000
    assert all(m["not_compared"] is None for m in report["metrics"].values())
    # the test split is what the card's test metrics were computed on: identical values
    card = read_card(reproduced.path / "data/results/model_card.md")
    intervals = json.loads((reproduced.path / "data/results/intervals.json").read_text())
    for name in ("roc_auc", "average_precision", "log_loss"):
        entry = report["metrics"][name]
        assert entry["base"] == pytest.approx(card["metrics"]["test"][name])
        assert entry["current"] == pytest.approx(card["metrics"]["test"][name], abs=1e-6)
        assert entry["worse"] is False
        # the same rows bootstrapped with evaluate's settings: the card's own interval
        expected = intervals["test"][name]
        assert entry["base_interval"] == expected and entry["confidence"] == 0.95
        assert entry["interval"] == pytest.approx(expected, abs=1e-6)
        half = (expected["high"] - expected["low"]) / 2
        assert entry["noise_half_width"] == pytest.approx(math.sqrt(2) * half, abs=2e-6)
        assert entry["beyond_noise"] is False and entry["noise_not_tested"] is None
    # the stratified test split keeps the training churn rate: no label shift
    shift = report["label_shift"]
    assert shift["fired"] == [] and shift["labelled_rows"] == 4000
    assert all(abs(c["change"]) < 0.001 for c in shift["classes"].values())
    text = (tmp_path / "m.md").read_text()
    assert text.startswith("## Model monitoring: ✅ ok") and "No threshold crossed." in text
    assert "**Label shift** of `churned`: not shifted." in text


def test_shifted_batch_raises_an_alert_naming_features_and_metrics(
    reproduced: Repo, shifted_batch: Path, tmp_path: Path
) -> None:
    result = reproduced.mlpipe_in_process(
        "monitor", "--current", str(shifted_batch), "--labels", *_outputs(tmp_path), check=False
    )
    assert result.returncode == 3, result.stderr
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["verdict"] == "alert"
    assert {"monthly_charges", "contract", "churned"} <= set(report["drifted"])
    assert "tenure_months" not in report["drifted"]
    roc = report["metrics"]["roc_auc"]
    assert roc["worse"] is True and roc["current"] < roc["base"] - 0.2
    assert report["metrics"]["log_loss"]["current"] > report["metrics"]["log_loss"]["base"]
    assert any(r.startswith("roc_auc dropped from") for r in report["reasons"])
    assert any("monthly_charges" in r and "contract" in r for r in report["reasons"])
    # the flipped labels: a label shift of its own, not one of the drifted columns counted
    assert "2 column(s) drifted (allowed: 0): contract, monthly_charges" in report["reasons"]
    assert report["label_shift"]["fired"] == ["class_share", "drift"]
    assert any(
        r.startswith("label shift in 'churned' (class share rule and drift rule")
        for r in report["reasons"]
    )
    text = (tmp_path / "m.md").read_text()
    assert text.startswith("## Model monitoring: 🚨 alert")
    assert "- roc_auc dropped from" in text
    assert "| contract | categorical |" in text and "| monthly_charges | numeric |" in text
    png = (tmp_path / "m.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 20_000


def test_without_labels_the_target_is_not_needed(reproduced: Repo, tmp_path: Path) -> None:
    frame = pd.read_parquet(reproduced.path / "data/processed/test.parquet").drop(
        columns=["churned"]
    )
    batch = tmp_path / "unlabelled.parquet"
    frame.to_parquet(batch)
    out = tmp_path / "out"
    reproduced.mlpipe_in_process("monitor", "--current", str(batch), *_outputs(out))
    report = json.loads((out / "m.json").read_text())
    assert report["verdict"] == "ok" and report["metrics"] is None
    assert "churned" not in report["drift"]["features"]
    assert "not computed (run with `--labels`" in (out / "m.md").read_text()


def test_a_small_sample_of_the_training_data_is_ok_with_a_too_small_warning(
    reproduced: Repo, tmp_path: Path
) -> None:
    """The user review's case: 10 rows of the training data used to give 'alert' (exit 3) with
    4 columns drifted on PSI alone; too few rows for the tests means not tested, not drifted."""
    train = pd.read_parquet(reproduced.path / "data/processed/train.parquet")
    batch = tmp_path / "batch10.csv"
    # complete rows: the data contract section then lists no budget (see the test below)
    train.dropna().sample(10, random_state=7).to_csv(batch, index=False)
    out = tmp_path / "out"
    result = reproduced.run("bash", ".github/scripts/monitor.sh", str(batch), str(out))
    assert "monitoring: ok, no issue needed" in result.stdout
    warning = (
        "the batch has 10 rows, fewer than drift.min_rows 30: drift was not tested for any of "
        "the 17 columns, so this batch cannot raise a drift alert; monitor batches of at least "
        "30 rows"
    )
    assert f"WARNING mlpipe.stages.monitor: {warning}" in result.stderr
    assert "verdict ok" in result.stderr
    report = json.loads((out / "monitor.json").read_text())
    assert report["verdict"] == "ok" and report["reasons"] == [] and report["drifted"] == []
    not_compared = (
        "the batch has 10 labelled rows, fewer than monitor.min_labelled_rows 30: the label "
        "shift of 'churned' is reported but not compared, so it cannot raise an alert"
    )
    assert report["warnings"] == [not_compared, warning] and report["rows"] == 10
    features = report["drift"]["features"]
    assert len(report["drift"]["not_tested"]) == len(features) == 17
    assert features["contract"]["not_tested"] == ("current: 10 present values < drift.min_rows 30")
    assert features["tenure_months"]["not_tested"] == (
        "current: 10 present values < drift.min_rows 30"
    )
    assert any("psi" in f["flags"] for f in features.values())  # PSI alone no longer alerts
    text = (out / "monitor.md").read_text()
    assert text.startswith("## Model monitoring: ✅ ok") and f"> **Warning**: {warning}" in text
    assert "**17 of 17 columns not tested**" in text and "**yes**" not in text


def test_a_small_labelled_batch_reports_metrics_without_comparing_them(
    reproduced: Repo, tmp_path: Path
) -> None:
    """The user review's case: 10 labelled rows gave exit 3 on a log_loss 'rise' and leaked
    sklearn's 'A single label was found in y_true' warning."""
    test = pd.read_parquet(reproduced.path / "data/processed/test.parquet").dropna()
    batch = tmp_path / "tiny.csv"
    test[~test["churned"].astype(bool)].head(10).to_csv(batch, index=False)  # one class only
    result = reproduced.mlpipe_in_process(
        "monitor", "--current", str(batch), "--labels", *_outputs(tmp_path)
    )
    assert "verdict ok" in result.stderr and "UserWarning" not in result.stderr
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["verdict"] == "ok" and report["reasons"] == [] and report["labelled_rows"] == 10
    held_back = (
        "the batch has 10 labelled rows, fewer than monitor.min_labelled_rows 30: live metrics "
        "and the label shift of 'churned' are reported but not compared, so they cannot raise "
        "an alert; monitor batches of at least 30 labelled rows"
    )
    undefined = (
        "monitor.metrics roc_auc, average_precision, log_loss: undefined for this batch: its "
        "labels hold 1 of the model's 2 classes (False)"
    )
    assert report["warnings"][:2] == [held_back, undefined]
    assert f"WARNING mlpipe.stages.monitor: {held_back}" in result.stderr
    assert f"WARNING mlpipe.stages.monitor: {undefined}" in result.stderr
    assert report["metrics"] == {} and set(report["unavailable_metrics"]) == {
        "roc_auc", "average_precision", "log_loss"
    }  # fmt: skip
    text = (tmp_path / "m.md").read_text()
    assert "- roc_auc, average_precision, log_loss: undefined for this batch" in text
    # both classes, still below the floor: the metrics are shown, marked, and never alert
    mixed = pd.concat([test[test["churned"].astype(bool)].head(5), test.head(10)]).head(12)
    mixed.to_csv(batch, index=False)
    out = tmp_path / "mixed"
    reproduced.mlpipe_in_process("monitor", "--current", str(batch), "--labels", *_outputs(out))
    report = json.loads((out / "m.json").read_text())
    assert report["verdict"] == "ok" and set(report["metrics"]) == {
        "roc_auc", "average_precision", "log_loss"
    }  # fmt: skip
    for entry in report["metrics"].values():
        assert entry["not_compared"] == "12 labelled rows < monitor.min_labelled_rows 30"
        assert entry["worse"] is False
    assert "| not compared |" in (out / "m.md").read_text()


def test_without_the_intervals_file_live_metrics_fall_back_to_the_tolerance(
    reproduced: Repo, tmp_path: Path
) -> None:
    """An older model card has no intervals file: the live metrics are judged on
    monitor.max_metric_drop_relative alone and a warning says so. With the file, the same batch
    gives the same bytes twice (the batch's bootstrap is seeded from params)."""
    batch = tmp_path / "batch.parquet"
    pd.read_parquet(reproduced.path / "data/processed/test.parquet").head(400).to_parquet(batch)
    gone = tmp_path / "gone.json"
    out = tmp_path / "old"
    result = reproduced.mlpipe_in_process(
        "monitor", "--current", str(batch), "--labels", "--intervals", str(gone),
        *_outputs(out), check=False,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr
    warning = (
        "monitor.noise: roc_auc, average_precision, log_loss judged on "
        f"monitor.max_metric_drop_relative alone, not tested against noise: {gone} not found (a "
        "model card from before the intervals, or evaluate has not run); run `dvc repro` "
        "(evaluate writes it) or pass --intervals"
    )
    assert f"WARNING mlpipe.stages.monitor: {warning}" in result.stderr
    report = json.loads((out / "m.json").read_text())
    assert report["warnings"] == [warning] and report["thresholds"]["noise"] == "significant"
    for entry in report["metrics"].values():
        assert entry["beyond_noise"] is None and entry["base_interval"] is None
        assert entry["noise_not_tested"].startswith(f"{gone} not found")
        assert entry["interval"]["low"] < entry["current"] < entry["interval"]["high"]
    assert (
        "> **Warning**: monitor.noise: roc_auc, average_precision, log_loss judged"
        in (out / "m.md").read_text()
    )
    texts = []
    for run in ("first", "second"):
        reproduced.mlpipe_in_process(
            "monitor", "--current", str(batch), "--labels", *_outputs(tmp_path / run),
            check=False,
        )  # fmt: skip
        texts.append((tmp_path / run / "m.json").read_bytes())
    assert texts[0] == texts[1]
    report = json.loads(texts[0])
    assert report["warnings"] == []
    assert all(isinstance(e["beyond_noise"], bool) for e in report["metrics"].values())


def test_live_metrics_need_the_model_the_card_describes(reproduced: Repo, tmp_path: Path) -> None:
    card = (reproduced.path / "data/results/model_card.md").read_text()
    md5 = card.split("model:\n  md5: ")[1].split("\n")[0]
    other = tmp_path / "other_card.md"  # the card of another model version
    other.write_text(card.replace(md5, "f" * 32))
    test_split = str(reproduced.path / "data/processed/test.parquet")
    out = tmp_path / "out"
    result = reproduced.mlpipe_in_process(
        "monitor",
        "--current",
        test_split,
        "--labels",
        "--card",
        str(other),
        *_outputs(out),
        check=False,
    )
    assert result.returncode == 2
    assert (
        f"data/model/model.skops (md5 {md5}) is not the model {other} describes (md5 "
        f"{'f' * 32}): the live metrics would be compared with another model's test metrics"
    ) in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_reference_that_is_not_the_training_data_is_warned_about(
    reproduced: Repo, tmp_path: Path
) -> None:
    test_split = str(reproduced.path / "data/processed/test.parquet")
    result = reproduced.mlpipe_in_process(
        "monitor", "--current", test_split, "--reference", test_split, *_outputs(tmp_path)
    )
    report = json.loads((tmp_path / "m.json").read_text())
    assert len(report["warnings"]) == 1
    assert "is not the model's training data" in report["warnings"][0]
    assert "is not the model's training data" in result.stderr


def test_the_data_contract_is_tested_on_the_whole_batch_with_p_values(
    reproduced: Repo, tmp_path: Path
) -> None:
    """A 100-row sample of the training data with its missing values passes; its report lists
    the binomial p-value of each budget with missing values. A column 30 % missing does not."""
    train = pd.read_parquet(reproduced.path / "data/processed/train.parquet")
    sample = train.sample(100, random_state=11)
    missing = {c: int(n) for c, n in sample.isna().sum().items() if n}
    assert missing  # the generator's missing values
    sample.to_csv(tmp_path / "sample.csv", index=False)
    out = tmp_path / "out"
    args = ["monitor", "--current", str(tmp_path / "sample.csv"), *_outputs(out)]
    result = reproduced.mlpipe_in_process(
        *args, "--params", str(_chunked(reproduced, tmp_path)), check=False
    )
    assert result.returncode in (0, 3), result.stderr  # drift may alert; the contract holds
    contract = json.loads((out / "m.json").read_text())["contract"]
    assert contract["alpha"] == 0.001
    found = {t["column"]: t for t in contract["tests"] if t["count"]}
    assert {c: t["count"] for c, t in found.items()} == missing  # summed over 7 chunks of 16
    assert all(t["budget"] == "missing" and not t["crossed"] for t in found.values())
    assert all(t["rows"] == 100 and 0 < t["p_value"] <= 1 for t in found.values())
    text = (out / "m.md").read_text()
    for column, test in found.items():
        assert f"| {column} | missing | {test['count']} | {test['count']:.2f}% |" in text

    sample.loc[sample.index[:30], "total_charges"] = None
    sample.to_csv(tmp_path / "shifted.csv", index=False)
    out = tmp_path / "shifted"
    result = reproduced.mlpipe_in_process(
        "monitor", "--current", str(tmp_path / "shifted.csv"), *_outputs(out), check=False
    )
    assert result.returncode == 2
    assert "shifted.csv (100 rows) breaks the data contract" in result.stderr
    assert "total_charges: " in result.stderr and "missing values in 100 rows" in result.stderr
    assert "binomial p-value" in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def _chunked(repo: Repo, tmp_path: Path) -> Path:
    """params.yaml with predict.chunk_rows 16 (monitor reads batches in those chunks)."""
    params = repo.params()
    params["predict"]["chunk_rows"] = 16
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize(
    ("edit", "labels", "message"),
    [
        (lambda f: f.assign(monthly_charges="lots"), False, "monthly_charges"),
        (lambda f: f.drop(columns=["churned"]), True, "--labels was given but the batch has no"),
        (lambda f: f.iloc[0:0], False, "only a header line (19 columns), no data rows"),
    ],
    ids=["not-a-number", "labels-missing", "no-rows"],
)
def test_bad_input_exits_2_and_writes_nothing(
    reproduced: Repo, tmp_path: Path, edit, labels: bool, message: str
) -> None:
    frame = edit(pd.read_parquet(reproduced.path / "data/processed/test.parquet"))
    batch = tmp_path / "bad.csv"
    frame.to_csv(batch, index=False)
    out = tmp_path / "out"
    args = ["monitor", "--current", str(batch), *_outputs(out)] + (["--labels"] if labels else [])
    result = reproduced.mlpipe_in_process(*args, check=False)
    assert result.returncode == 2
    assert "monitor failed:" in result.stderr and message in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_missing_reference_exits_2_with_the_fix(reproduced: Repo, tmp_path: Path) -> None:
    test_split = str(reproduced.path / "data/processed/test.parquet")
    out = tmp_path / "out"
    result = reproduced.mlpipe_in_process(
        "monitor", "--current", test_split, "--reference", str(tmp_path / "gone.parquet"),
        *_outputs(out), check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "gone.parquet: reference table not found" in result.stderr
    assert "dvc pull split" in result.stderr
    assert not out.exists()


def test_monitor_script_fetches_an_s3_batch_with_dvc_get_url(
    work_repo: Repo, s3: S3Server, tmp_path: Path
) -> None:
    bucket = new_bucket(s3)
    batch = work_repo.path / "data/processed/test.parquet"
    s3.client().put_object(Bucket=bucket, Key="batches/week-48.parquet", Body=batch.read_bytes())
    out = tmp_path / "out"
    result = work_repo.run(
        "bash", ".github/scripts/monitor.sh", f"s3://{bucket}/batches/week-48.parquet", str(out),
        env={**s3.env(), "MLPIPE_S3_ENDPOINT": s3.endpoint},
    )  # fmt: skip
    assert "monitoring: ok, no issue needed" in result.stdout
    fetched = out / "week-48.parquet"
    assert fetched.read_bytes() == batch.read_bytes()
    report = json.loads((out / "monitor.json").read_text())
    assert report["batch"] == str(fetched) and report["verdict"] == "ok"
    assert report["rows"] == 4000 and report["metrics"] is None
    assert s3.env()["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def fresh_customers(reproduced: Repo, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """12 000 new customers from the embedded generator with another seed (the review used
    seed 7): the same population as the training data."""
    tmp = tmp_path_factory.mktemp("fresh")
    params = yaml.safe_load((reproduced.path / "params.yaml").read_text())
    assert params["generate"] == {"rows": 20000, "seed": 42}
    params["generate"] = {"rows": 12000, "seed": 7}
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = tmp / "fresh.parquet"
    reproduced.mlpipe_in_process(
        "generate", "--params", str(tmp / "params.yaml"), "--output", str(out)
    )
    return pd.read_parquet(out)


def _monitor_json(repo: Repo, frame: pd.DataFrame, out: Path, *extra: str) -> tuple[int, dict]:
    out.mkdir(parents=True)
    frame.sort_values("customer_id").to_parquet(out / "batch.parquet")
    result = repo.mlpipe_in_process(
        "monitor", "--current", str(out / "batch.parquet"), "--labels", *_outputs(out), *extra,
        check=False,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr
    return result.returncode, json.loads((out / "m.json").read_text())


def test_label_shift_from_24_to_40_percent_churn_alerts_on_its_own(
    reproduced: Repo, fresh_customers: pd.DataFrame, tmp_path: Path
) -> None:
    """The user review's case (F3): churn 24.3 % in training, 40 % in 5 000 labelled rows was
    no alert, since the target's PSI (0.114) is under drift.psi_threshold. Watching only
    roc_auc (which a prior shift does not move), the label shift alone must alert."""
    params = reproduced.params()
    params["monitor"]["metrics"] = ["roc_auc"]
    only_auc = tmp_path / "params.yaml"
    only_auc.write_text(yaml.safe_dump(params))
    churned = fresh_customers[fresh_customers["churned"].astype(bool)]
    stayed = fresh_customers[~fresh_customers["churned"].astype(bool)]
    prior40 = pd.concat([churned.iloc[:2000], stayed.iloc[:3000]])
    code, report = _monitor_json(
        reproduced, prior40, tmp_path / "prior40", "--params", str(only_auc)
    )
    train = pd.read_parquet(reproduced.path / "data/processed/train.parquet", columns=["churned"])
    rate = float(train["churned"].astype(bool).mean())
    assert 0.2 < rate < 0.3
    assert code == 3 and report["verdict"] == "alert"
    assert report["drifted"] == [] and report["drift"]["features"]["churned"]["psi"] < 0.2
    assert report["metrics"]["roc_auc"]["worse"] is False  # the ranking is as good as before
    assert report["reasons"] == [
        f"label shift in 'churned' (class share rule, 5000 labelled rows): class True "
        f"{rate:.1%} in training -> 40.0% in this batch ({100 * (0.4 - rate):+.1f} points) "
        "(allowed: ±5.0 points, monitor.max_class_share_change; chi-square p-value 0.00e+00 "
        "< 0.01)"
    ]
    shift = report["label_shift"]
    assert shift["classes"]["True"] == {
        "reference_share": round(rate, 6),
        "batch_share": 0.4,
        "change": round(0.4 - round(rate, 6), 6),
    }
    assert shift["fired"] == ["class_share"] and shift["p_value"] < 1e-12
    text = (tmp_path / "prior40" / "m.md").read_text()
    assert text.startswith("## Model monitoring: 🚨 alert")
    assert f"| True | {rate:.1%} | 40.0% | {100 * (0.4 - rate):+.1f} | **yes** |" in text

    # 5 000 customers as they come: the same churn rate as training, no alert
    code, report = _monitor_json(reproduced, fresh_customers.iloc[:5000], tmp_path / "same")
    assert code == 0 and report["verdict"] == "ok" and report["reasons"] == []
    assert report["label_shift"]["fired"] == [] and report["label_shift"]["labelled_rows"] == 5000
    assert abs(report["label_shift"]["classes"]["True"]["change"]) < 0.02
    # average precision is more than 5 % below the card's (the plain tolerance alerted), but
    # the drop is within the noise of two samples of 4 000 and 5 000 rows (monitor.noise)
    precision = report["metrics"]["average_precision"]
    assert precision["worsening_relative"] > 0.05 and precision["beyond_noise"] is False
    drop = precision["base"] - precision["current"]
    assert 0 < drop <= precision["noise_half_width"] and precision["worse"] is False


@pytest.mark.parametrize(
    ("rows", "not_compared"),
    [(29, "29 labelled rows < monitor.min_labelled_rows 30"), (30, None)],
)
def test_small_batches_with_40_percent_churn_raise_no_label_shift(
    reproduced: Repo, fresh_customers: pd.DataFrame, tmp_path: Path, rows: int, not_compared
) -> None:
    """29 labelled rows are not compared (monitor.min_labelled_rows); 30 are, but +15.7 points
    on 30 rows is not significant (chi-square p ~0.04 >= drift.p_value_threshold 0.01)."""
    complete = fresh_customers.dropna()  # a missing value in 30 rows breaks the schema's limits
    churned = complete[complete["churned"].astype(bool)]
    stayed = complete[~complete["churned"].astype(bool)]
    positives = round(rows * 0.4)
    batch = pd.concat([churned.iloc[:positives], stayed.iloc[: rows - positives]])
    code, report = _monitor_json(reproduced, batch, tmp_path / "out")
    # (30 rows can still alert on a live metric: log_loss rises with the churn rate)
    assert not any(r.startswith("label shift") for r in report["reasons"])
    shift = report["label_shift"]
    assert shift["labelled_rows"] == rows and shift["not_compared"] == not_compared
    assert shift["fired"] == [] and shift["classes"]["True"]["change"] > 0.1
    if not_compared is None:
        assert 0.01 < shift["p_value"] < 0.1
    else:  # nothing can alert: metrics and label shift are both held back
        assert code == 0 and report["verdict"] == "ok" and report["reasons"] == []
        assert report["warnings"][0].startswith(
            "the batch has 29 labelled rows, fewer than monitor.min_labelled_rows 30: live "
            "metrics and the label shift of 'churned' are reported but not compared"
        )


def test_labels_not_known_yet_raise_no_alert_and_are_counted(
    reproduced: Repo, fresh_customers: pd.DataFrame, tmp_path: Path
) -> None:
    """The user review's case (F11): 5 000 new customers, the first 500 without a label yet
    (labels arrive after the scores), gave 'churned drifted' (PSI 0.82) and exit 3 as CSV and
    as Parquet: the missing labels were counted as a class of the target."""
    batch = fresh_customers.iloc[:5000].copy()
    batch["churned"] = batch["churned"].astype("boolean")
    batch.loc[batch.index[:500], "churned"] = pd.NA
    labelled = batch["churned"].dropna().astype(bool)
    reports = {}
    for suffix in ("csv", "parquet"):
        out = tmp_path / suffix
        out.mkdir()
        path = out / f"partial.{suffix}"
        if suffix == "csv":
            batch.to_csv(path, index=False)
        else:
            batch.to_parquet(path, index=False)
        result = reproduced.mlpipe_in_process(
            "monitor", "--current", str(path), "--labels", *_outputs(out), check=False
        )
        assert result.returncode == 0, result.stderr
        assert (
            "500 of 5000 rows have no 'churned' label yet: left out of the label shift, the "
            "target's drift and the live metrics"
        ) in result.stderr
        report = reports[suffix] = json.loads((out / "m.json").read_text())
        assert report["verdict"] == "ok" and report["reasons"] == [] and report["drifted"] == []
        assert (report["rows"], report["labelled_rows"], report["unlabelled_rows"]) == (
            5000, 4500, 500
        )  # fmt: skip
        churned = report["drift"]["features"]["churned"]
        assert churned["current_rows"] == 4500 and churned["psi"] < 0.01
        assert "psi" not in churned["flags"]  # was PSI 0.82 with the missing "class"
        shift = report["label_shift"]
        assert shift["fired"] == [] and shift["labelled_rows"] == 4500
        assert set(shift["classes"]) == {"False", "True"}  # no "(missing)" class
        assert shift["classes"]["True"]["batch_share"] == round(float(labelled.mean()), 6)
        assert all(m["worse"] is False for m in report["metrics"].values())
        text = (out / "m.md").read_text()
        assert text.startswith("## Model monitoring: ✅ ok")
        assert (
            f"Batch `partial.{suffix}`: 5000 rows, 4500 labelled, 500 without a label yet (left "
            "out of the label shift, the target's drift and the live metrics)."
        ) in text
        assert "**Live metrics** (4500 labelled rows)" in text
    assert reports["csv"]["label_shift"] == reports["parquet"]["label_shift"]
    assert reports["csv"]["metrics"] == reports["parquet"]["metrics"]
