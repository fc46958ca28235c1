"""Drift per feature: PSI, KS / chi-square, flags, JSON round trip and markdown."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import DataConfig, DriftConfig
from mlpipe.data.drift import (
    DriftError,
    DriftReport,
    FeatureDrift,
    compute_drift,
    drift_markdown,
    psi,
    report_from_dict,
)
from mlpipe.data.schema import infer_schema
from support.markdown import cell_counts_match, foreign_html, mentions, tables

CONFIG = DriftConfig()


def _table(n: int, seed: int, shift: float = 0.0, p_new: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.3, 0.2]).astype(object)
    plan[rng.random(n) < p_new] = "platinum"
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "amount": rng.normal(50 + shift, 10, n),
            "calls": rng.poisson(2, n),
            "plan": plan,
            "member": rng.random(n) < 0.4,
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
            "y": rng.integers(0, 3, n),
        }
    )


@pytest.fixture(scope="module")
def schema():
    return infer_schema(_table(2000, 0), "y", id_columns=("id",))


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift() -> None:
    assert psi(np.array([10.0, 20, 30]), np.array([20.0, 40, 60])) == pytest.approx(0.0, abs=1e-4)
    small = psi(np.array([50.0, 50]), np.array([45.0, 55]))
    large = psi(np.array([50.0, 50]), np.array([10.0, 90]))
    assert 0 < small < 0.05 < 0.2 < large


def test_same_population_is_not_flagged(schema) -> None:
    report = compute_drift(_table(2000, 1), _table(500, 2), schema, CONFIG)
    assert report.drifted == ()
    names = [f.column for f in report.features]
    assert names == ["amount", "calls", "plan", "member", "y"]  # schema order, no id, no date
    assert report.not_compared == (
        ("id", "id column: changes by design"),
        ("day", "datetime column: changes by design, not a model feature"),
    )
    tests = {f.column: (f.kind, f.test) for f in report.features}
    assert tests["amount"] == ("numeric", "ks")
    assert tests["plan"] == ("categorical", "chi2") and tests["member"] == ("boolean", "chi2")
    assert tests["y"] == ("categorical", "chi2")  # numeric class labels are categories
    assert all(f.psi < 0.05 for f in report.features)


def test_shifted_numeric_and_new_category_are_flagged(schema) -> None:
    current = _table(500, 3, shift=8.0, p_new=0.3)
    report = compute_drift(_table(2000, 1), current, schema, CONFIG)
    assert report.drifted == ("amount", "plan")
    amount = next(f for f in report.features if f.column == "amount")
    assert amount.flags == ("psi", "test") and amount.p_value < 1e-10 and amount.statistic > 0.2
    plan = next(f for f in report.features if f.column == "plan")
    assert plan.psi > 0.2 and "test" in plan.flags


def test_thresholds_come_from_config(schema) -> None:
    current = _table(500, 3, shift=3.0)
    default = compute_drift(_table(2000, 1), current, schema, CONFIG)
    amount = next(f for f in default.features if f.column == "amount")
    assert amount.flags == ("test",) and default.drifted == ()  # real but small: not drifted
    strict = compute_drift(_table(2000, 1), current, schema, DriftConfig(psi_threshold=0.05))
    assert strict.drifted == ("amount",)
    loose = DriftConfig(psi_threshold=0.05, p_value_threshold=1e-30)
    assert compute_drift(_table(2000, 1), current, schema, loose).drifted == ()


def test_small_tables_are_rarely_flagged_by_noise(schema) -> None:
    """PSI alone is noisy on 36 rows; requiring the test to agree keeps false alarms rare."""
    drifted = [
        column
        for i in range(20)
        for column in compute_drift(
            _table(140, 100 + i), _table(36, 200 + i), schema, CONFIG
        ).drifted
    ]
    assert len(drifted) <= 2  # of 20 x 6 columns compared


def test_too_few_rows_are_not_tested_and_never_drifted(schema) -> None:
    current = _table(20, 6, shift=30.0, p_new=0.5)  # a huge shift, but only 20 rows
    report = compute_drift(_table(2000, 1), current, schema, CONFIG)
    assert {f.test for f in report.features} == {"none"}
    assert all(f.statistic is None and f.p_value is None for f in report.features)
    amount = next(f for f in report.features if f.column == "amount")
    assert amount.psi > 1 and amount.flags == ("psi",)  # PSI is reported, not trusted
    assert amount.not_tested == "current: 20 present values < drift.min_rows 30"
    plan = next(f for f in report.features if f.column == "plan")
    assert plan.not_tested == "current: 20 present values < drift.min_rows 30"
    assert report.drifted == ()
    assert report.not_tested == ("amount", "calls", "plan", "member", "y")
    both = compute_drift(_table(12, 1), current, schema, DriftConfig(min_rows=25))
    assert both.features[0].not_tested == (
        "reference: 12 present values, current: 20 present values < drift.min_rows 25"
    )


@pytest.mark.parametrize("rows", [5, 10, 20, 29])
def test_small_samples_of_the_reference_itself_never_drift(schema, rows: int) -> None:
    """The user review's case: a few rows sampled from the training data flagged columns on
    PSI alone in 20 of 20 trials at 10 rows."""
    reference = _table(2000, 1)
    for trial in range(20):
        sample = reference.sample(rows, random_state=trial)
        report = compute_drift(reference, sample, schema, CONFIG)
        assert report.drifted == ()
        assert len(report.not_tested) == 5
        assert report.as_dict()["not_tested"] == ["amount", "calls", "plan", "member", "y"]


def test_from_min_rows_on_the_columns_are_tested(schema) -> None:
    reference = _table(2000, 1)
    report = compute_drift(reference, reference.sample(30, random_state=0), schema, CONFIG)
    assert report.not_tested == () and "none" not in {f.test for f in report.features}
    shifted = compute_drift(reference, _table(30, 3, shift=30.0), schema, CONFIG)
    assert "amount" in shifted.drifted and shifted.not_tested == ()


def test_a_column_with_few_present_values_in_a_large_table_is_not_tested(schema) -> None:
    current = _table(500, 2)
    current.loc[current.index[25:], "amount"] = np.nan
    report = compute_drift(_table(2000, 1), current, schema, CONFIG)
    assert report.not_tested == ("amount",)
    amount = report.features[0]
    assert amount.not_tested == "current: 25 present values < drift.min_rows 30"
    assert "psi" in amount.flags and report.drifted == ()  # the missing bin moves PSI
    assert {f.test for f in report.features[1:]} == {"ks", "chi2"}


def test_constant_columns_are_tested_and_equal() -> None:
    frame = pd.DataFrame({"c": [1.0] * 40, "k": ["a"] * 40, "y": [0, 1] * 20})
    schema = infer_schema(frame, "y")
    report = compute_drift(frame, frame.iloc[:35], schema, CONFIG)
    tests = {f.column: (f.test, f.statistic, f.p_value, f.not_tested) for f in report.features}
    assert tests["c"] == ("ks", 0.0, 1.0, "") and tests["k"] == ("chi2", 0.0, 1.0, "")


def test_an_unlabelled_table_may_lack_the_target(schema) -> None:
    current = _table(500, 2).drop(columns=["y"])
    report = compute_drift(_table(2000, 1), current, schema, CONFIG)
    assert report.missing_columns == ("y",)
    assert [f.column for f in report.features] == ["amount", "calls", "plan", "member"]
    assert report.drifted == ()
    assert "\nNot compared (the target, absent from a table: unlabelled data): y\n" in (
        drift_markdown(report)
    )


def test_other_missing_columns_are_an_error_naming_them(schema) -> None:
    current = _table(500, 2).drop(columns=["calls", "plan"])
    with pytest.raises(DriftError) as error:
        compute_drift(_table(2000, 1), current, schema, CONFIG, names=("train.parquet", "new.csv"))
    assert str(error.value) == (
        "new.csv lacks 2 of the 5 columns of the schema (calls, plan): is it the right file? "
        "Both tables need every column of the schema (only the target may be absent); for other "
        "data pass its schema with --schema. Nothing written"
    )
    reference = _table(2000, 1).drop(columns=["member", "day", "id"])  # day, id: not compared
    with pytest.raises(
        DriftError,
        match=r"^reference lacks 1 of the 5 columns of the schema "
        r"\(member\); current lacks 2 of the 5 columns of the schema \(calls, plan\)",
    ):
        compute_drift(reference, current, schema, CONFIG)


def test_a_wrong_table_names_the_first_ten_missing_columns() -> None:
    wide = pd.DataFrame(
        {f"f{i:02d}": [0.5, 1.5] * 20 for i in range(30)} | {"target": [0, 1] * 20}
    )
    schema = infer_schema(wide, "target")
    other = pd.DataFrame({"alcohol": [13.0] * 40, "target": [0, 1] * 20})
    with pytest.raises(DriftError) as error:
        compute_drift(wide, other, schema, CONFIG, names=("train.parquet", "wine.csv"))
    assert str(error.value).startswith(
        "wine.csv lacks 30 of the 31 columns of the schema (f00, f01, f02, f03, f04, f05, f06, "
        "f07, f08, f09 and 20 more): is it the right file?"
    )


def test_empty_table_is_an_error(schema) -> None:
    with pytest.raises(DriftError, match="current has 0; both need rows"):
        compute_drift(_table(100, 1), _table(100, 1).iloc[:0], schema, CONFIG)


def test_json_is_deterministic_and_round_trips(schema) -> None:
    ref, cur = _table(2000, 1), _table(500, 3, shift=8.0)
    first = compute_drift(ref, cur, schema, CONFIG).as_dict()
    second = compute_drift(ref.copy(), cur.copy(), schema, CONFIG).as_dict()
    text = json.dumps(first, sort_keys=True, allow_nan=False)
    assert text == json.dumps(second, sort_keys=True, allow_nan=False)
    back = report_from_dict(json.loads(text))
    assert back.as_dict() == first
    assert first["thresholds"] == {"psi": 0.2, "p_value": 0.01}
    assert first["drifted"] == ["amount"] and first["not_tested"] == []
    assert first["features"]["amount"]["flags"] == ["psi", "test"]
    assert first["features"]["amount"]["not_tested"] is None
    small = compute_drift(ref, cur.iloc[:10], schema, CONFIG).as_dict()
    assert small["features"]["plan"]["not_tested"] == (
        "current: 10 present values < drift.min_rows 30"
    )
    assert first["not_compared"] == {
        "id": "id column: changes by design",
        "day": "datetime column: changes by design, not a model feature",
    }
    assert report_from_dict(json.loads(json.dumps(small))).as_dict() == small


def test_a_report_written_before_not_tested_existed_reads_back(schema) -> None:
    old = compute_drift(_table(2000, 1), _table(10, 3, shift=30.0), schema, CONFIG).as_dict()
    del old["not_tested"]
    for feature in old["features"].values():
        del feature["not_tested"]
    back = report_from_dict(old)
    assert back.drifted == () and back.features[0].not_tested == "no test ran"


def test_markdown_lists_flagged_columns_first(schema) -> None:
    report = compute_drift(_table(2000, 1), _table(500, 3, shift=8.0), schema, CONFIG)
    text = drift_markdown(report)
    lines = text.splitlines()
    assert lines[0].startswith("**Data drift**: 1 of 5 columns drifted (PSI >= 0.2 and p-value")
    assert lines[2] == "| column | kind | PSI | test | statistic | p-value | flags | drifted |"
    assert lines[4].startswith("| amount | numeric |")
    assert lines[4].endswith("| psi, test | **yes** |")
    assert len(lines) == 4 + 5 + 2 + 2  # the table, the bins note, the not-compared line
    assert lines[-3].endswith("or the reference's values tie): calls 6")
    assert lines[-1] == (
        "Not compared (the model does not read them): id (id column: changes by design), "
        "day (datetime column: changes by design, not a model feature)"
    )


def test_markdown_says_which_columns_were_not_tested_and_why(schema) -> None:
    report = compute_drift(_table(2000, 1), _table(10, 3, shift=30.0), schema, CONFIG)
    lines = drift_markdown(report).splitlines()
    assert lines[0].startswith("**Data drift**: 0 of 5 columns drifted (PSI >= 0.2 and p-value")
    assert lines[2] == (
        "**5 of 5 columns not tested**: too few rows for the KS / chi-square test (see the test "
        "column), so they are never counted as drifted and their PSI is noise-prone; compare a "
        "larger table to judge them."
    )
    assert lines[4] == "| column | kind | PSI | test | statistic | p-value | flags | drifted |"
    amount = next(line for line in lines if line.startswith("| amount |"))
    assert amount.endswith(
        "| not tested (current: 10 present values < drift.min_rows 30) | - | - | psi |  |"
    )
    assert "**yes**" not in "\n".join(lines)


def test_drift_params_are_checked() -> None:
    from mlpipe.config import ConfigError, params_from_dict

    assert params_from_dict({"drift": {"bins": 5}}).drift == DriftConfig(bins=5)
    with pytest.raises(ConfigError, match=r"unknown key 'drift\.psi_treshold'"):
        params_from_dict({"drift": {"psi_treshold": 0.1}})
    with pytest.raises(ConfigError, match=r"'drift.p_value_threshold' is 2.0; allowed range"):
        params_from_dict({"drift": {"p_value_threshold": 2}})


def test_cli_compares_a_csv_export_with_a_parquet_reference(tmp_path, schema) -> None:
    from mlpipe.cli import main
    from mlpipe.data.schema import dump_schema

    (tmp_path / "params.yaml").write_text("drift: {psi_threshold: 0.2}\n")
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    _table(2000, 1).to_parquet(tmp_path / "train.parquet", index=False)
    current = _table(500, 3, shift=8.0)
    current["day"] = current["day"].dt.strftime("%Y-%m-%d")
    current.to_csv(tmp_path / "new.csv", index=False)
    args = [
        "drift",
        "--params",
        str(tmp_path / "params.yaml"),
        "--schema",
        str(tmp_path / "schema.yaml"),
    ]
    args += [
        "--reference",
        str(tmp_path / "train.parquet"),
        "--current",
        str(tmp_path / "new.csv"),
    ]
    out_json, out_md = tmp_path / "out" / "drift.json", tmp_path / "out" / "drift.md"
    assert main([*args, "--output-json", str(out_json), "--output-md", str(out_md)]) == 0
    report = json.loads(out_json.read_text())
    assert report["drifted"] == ["amount"] and report["current_rows"] == 500
    assert out_md.read_text().startswith("**Data drift**: 1 of 5 columns drifted")
    missing = [*args[:-1], str(tmp_path / "nope.csv"), "--output-json", str(tmp_path / "x.json")]
    assert main(missing) == 2
    assert not (tmp_path / "x.json").exists()


def test_cli_refuses_a_table_lacking_schema_columns(tmp_path, schema, caplog) -> None:
    from mlpipe.cli import main
    from mlpipe.data.schema import dump_schema

    (tmp_path / "params.yaml").write_text("drift: {psi_threshold: 0.2}\n")
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    _table(2000, 1).to_parquet(tmp_path / "train.parquet", index=False)
    pd.DataFrame({"alcohol": [13.2] * 50, "y": [0, 1] * 25}).to_csv(
        tmp_path / "wine.csv", index=False
    )
    out = tmp_path / "out"
    args = ["drift", "--params", str(tmp_path / "params.yaml"), "--schema",
            str(tmp_path / "schema.yaml"), "--reference", str(tmp_path / "train.parquet"),
            "--current", str(tmp_path / "wine.csv"), "--output-json", str(out / "d.json"),
            "--output-md", str(out / "d.md")]  # fmt: skip
    assert main(args) == 2
    assert f"drift failed: {tmp_path / 'wine.csv'} lacks 4 of the 5 columns of the schema " in (
        caplog.text
    )
    assert "(amount, calls, plan, member): is it the right file?" in caplog.text
    assert not out.exists()


def test_cli_warns_about_columns_not_tested(tmp_path, schema, caplog) -> None:
    from mlpipe.cli import main
    from mlpipe.data.schema import dump_schema

    (tmp_path / "params.yaml").write_text("drift: {min_rows: 30}\n")
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    reference = _table(2000, 1)
    reference.to_parquet(tmp_path / "train.parquet", index=False)
    reference.sample(10, random_state=0).drop(columns=["y"]).to_parquet(tmp_path / "b.parquet")
    args = ["drift", "--params", str(tmp_path / "params.yaml"), "--schema",
            str(tmp_path / "schema.yaml"), "--reference", str(tmp_path / "train.parquet"),
            "--current", str(tmp_path / "b.parquet"),
            "--output-json", str(tmp_path / "d.json")]  # fmt: skip
    assert main(args) == 0
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["drifted"] == [] and report["missing_columns"] == ["y"]
    assert report["not_tested"] == ["amount", "calls", "plan", "member"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "none of the 4 columns tested: too few rows for KS / chi-square (drift.min_rows 30), so "
        "none can count as drifted; compare a larger table"
    ]
    caplog.clear()
    batch = reference.sample(100, random_state=0)
    batch.loc[batch.index[10:], "calls"] = None
    batch.to_parquet(tmp_path / "b.parquet")
    assert main(args) == 0
    assert json.loads((tmp_path / "d.json").read_text())["not_tested"] == ["calls"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "1 of 5 columns not tested (too few values for KS / chi-square: drift.min_rows 30), "
        "never counted as drifted: calls"
    ]


def test_parquet_tables_read_column_by_column_give_the_same_report(schema, tmp_path) -> None:
    from mlpipe.io import ParquetColumns, write_parquet

    reference, current = _table(2000, 1), _table(500, 3, shift=8.0, p_new=0.3)
    write_parquet(tmp_path / "r.parquet", reference)
    write_parquet(tmp_path / "c.parquet", current)
    on_disk = compute_drift(
        ParquetColumns(tmp_path / "r.parquet"),
        ParquetColumns(tmp_path / "c.parquet"),
        schema,
        CONFIG,
    )
    assert on_disk == compute_drift(reference, current, schema, CONFIG)
    assert on_disk.drifted == ("amount", "plan") and on_disk.reference_rows == 2000


def test_date_and_id_columns_are_not_compared_so_a_later_batch_does_not_drift() -> None:
    """The user review's case: with a time split the date column had PSI 3.78 and drifted, so
    every newer batch raised a monitoring alert."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "visit_date": pd.date_range("2020-01-01", periods=400, freq="D"),
            "ticket": rng.integers(0, 10**6, 400),
            "bmi": rng.normal(25, 3, 400),
            "y": rng.normal(0, 1, 400),
        }
    )
    schema = infer_schema(frame, "y", id_columns=("ticket",))  # ticket: kind id
    data = DataConfig(date_column="visit_date", id_columns=("ticket",), target="y")
    old, new = frame.iloc[:300], frame.iloc[300:]  # a time split: every date is later
    report = compute_drift(old, new, schema, CONFIG, data=data)
    assert report.drifted == ()
    assert [f.column for f in report.features] == ["bmi", "y"]
    assert dict(report.not_compared) == {
        "visit_date": "date column: changes by design",
        "ticket": "id column: changes by design",
    }
    assert drift_markdown(report).endswith(
        "\nNot compared (the model does not read them): visit_date (date column: changes by "
        "design), ticket (id column: changes by design)\n"
    )
    # without the params the datetime column is still left out: no datetime column is a feature
    default = compute_drift(old, new, schema, CONFIG)
    assert dict(default.not_compared) == {
        "visit_date": "datetime column: changes by design, not a model feature",
        "ticket": "id column: changes by design",
    }
    # a column the model reads is compared, whatever its role: here the date is named in
    # data.numeric_features, and the id column of a hand-edited schema is numeric (a feature)
    read = DataConfig(date_column="visit_date", numeric_features=("visit_date", "bmi"))
    compared = compute_drift(old, new, schema, CONFIG, data=read)
    assert compared.drifted == ("visit_date",) and compared.features[0].test == "ks"
    numeric_id = infer_schema(frame, "y")  # ticket: kind numeric, so feature_spec uses it
    kept = compute_drift(old, new, numeric_id, CONFIG, data=data)
    assert [f.column for f in kept.features] == ["ticket", "bmi", "y"]


def test_an_excluded_column_is_not_compared_it_is_not_a_feature() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "bmi": rng.normal(25, 3, 400),
            "after": np.r_[rng.normal(0, 1, 300), rng.normal(5, 1, 100)],  # a leak, shifted
            "y": rng.normal(0, 1, 400),
        }
    )
    schema = infer_schema(frame, "y")
    data = DataConfig(target="y", exclude_columns=("after",))
    report = compute_drift(frame.iloc[:300], frame.iloc[300:], schema, CONFIG, data=data)
    assert [f.column for f in report.features] == ["bmi", "y"] and report.drifted == ()
    assert dict(report.not_compared) == {
        "after": "left out of the features (data.exclude_columns)"
    }
    included = compute_drift(frame.iloc[:300], frame.iloc[300:], schema, CONFIG)
    assert included.drifted == ("after",)


def test_the_date_column_may_be_absent_from_a_batch() -> None:
    frame = pd.DataFrame(
        {
            "d": pd.date_range("2020-01-01", periods=100, freq="D"),
            "x": range(100),
            "y": [0, 1] * 50,
        }
    )
    schema = infer_schema(frame, "y")
    report = compute_drift(frame, frame.drop(columns=["d"]), schema, CONFIG)
    assert [f.column for f in report.features] == ["x", "y"] and report.missing_columns == ()


def test_an_all_empty_column_is_not_tested() -> None:
    """The user review's case: an all-blank categorical column was tested (chi2, p-value 1.0)
    with 0 values on both sides, as if compared."""
    frame = pd.DataFrame(
        {"empty": [None] * 200, "sparse": ["a"] * 20 + [None] * 180, "y": ["p", "q"] * 100},
        dtype=object,
    )
    schema = infer_schema(frame, "y")
    report = compute_drift(frame, frame.iloc[:100], schema, CONFIG)
    got = {f.column: (f.test, f.p_value, f.reference_rows, f.current_rows, f.not_tested)
           for f in report.features}  # fmt: skip
    assert got["empty"] == (
        "none", None, 0, 0,
        "reference: 0 present values, current: 0 present values < drift.min_rows 30",
    )  # fmt: skip
    assert got["sparse"][0] == "none" and got["sparse"][4] == (
        "reference: 20 present values, current: 20 present values < drift.min_rows 30"
    )
    assert got["y"][0] == "chi2" and report.not_tested == ("empty", "sparse")


def test_cli_reads_the_date_and_id_columns_from_params(tmp_path, schema, caplog) -> None:
    import logging

    from mlpipe.cli import main
    from mlpipe.data.schema import dump_schema

    (tmp_path / "params.yaml").write_text("data: {target: y, date_column: day}\n")
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    _table(2000, 1).to_parquet(tmp_path / "train.parquet", index=False)
    later = _table(500, 2)
    later["day"] = later["day"] + pd.Timedelta(days=400)  # every date after the reference's
    later.to_parquet(tmp_path / "new.parquet", index=False)
    args = ["drift", "--params", str(tmp_path / "params.yaml"), "--schema",
            str(tmp_path / "schema.yaml"), "--reference", str(tmp_path / "train.parquet"),
            "--current", str(tmp_path / "new.parquet"),
            "--output-json", str(tmp_path / "d.json")]  # fmt: skip
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["drifted"] == [] and "day" not in report["features"]
    assert report["not_compared"] == {
        "id": "id column: changes by design",
        "day": "date column: changes by design",
    }
    assert "not compared: 'day' (date column: changes by design)" in caplog.text


def test_a_small_sample_gets_fewer_bins_and_the_report_records_them(schema) -> None:
    """The user review's case: drift.bins 10, an 88-row current table -> 4 bins (88 // 20),
    silently. The bins used are now in the JSON and named in the markdown."""
    ref, cur = _table(2000, 1), _table(88, 2, shift=3.0)
    report = compute_drift(ref, cur, schema, CONFIG)
    amount = next(f for f in report.features if f.column == "amount")
    assert CONFIG.bins == 10 and amount.bins == 4
    # the PSI is the one over the reference's quartiles (plus the empty missing bin)
    edges = np.quantile(ref["amount"], [0.25, 0.5, 0.75])
    expected = psi(
        np.append(np.bincount(np.searchsorted(edges, ref["amount"], side="right")), 0.0),
        np.append(
            np.bincount(np.searchsorted(edges, cur["amount"], side="right"), minlength=4), 0.0
        ),
    )
    assert amount.psi == round(expected, 6)
    large = compute_drift(ref, _table(500, 2, shift=3.0), schema, CONFIG)
    assert next(f for f in large.features if f.column == "amount").bins == 10
    assert next(f for f in large.features if f.column == "plan").bins is None  # categories
    calls = next(f for f in large.features if f.column == "calls")
    assert calls.bins == len(np.unique(np.quantile(ref["calls"], np.linspace(0, 1, 11)[1:-1]))) + 1
    assert calls.bins < 10  # Poisson counts: tied quantiles merge bins even on 500 rows
    data = report.as_dict()
    assert data["bins"] == 10 and data["features"]["amount"]["bins"] == 4
    assert data["features"]["plan"]["bins"] is None
    assert report_from_dict(json.loads(json.dumps(data))).as_dict() == data
    text = drift_markdown(report)
    assert (
        "PSI over fewer than drift.bins 10 quantile bins (the smaller table has fewer than 20 "
        "present values per bin, or the reference's values tie): amount 4, calls 4\n"
    ) in text
    # 500 rows: amount gets its 10 bins and is not named; calls' ties still are
    assert f"values tie): calls {calls.bins}\n" in drift_markdown(large)


def test_cli_compares_a_yes_no_csv_column_as_booleans(tmp_path, schema, caplog) -> None:
    # The review's case: a CSV batch whose boolean column holds Yes/n text and one 'maybe'
    # was compared as strings with the reference's True/False (PSI 7.5, "drifted").
    from mlpipe.cli import main
    from mlpipe.data.schema import dump_schema

    (tmp_path / "params.yaml").write_text("drift: {psi_threshold: 0.2}\n")
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    reference = _table(2000, 1)
    reference.to_parquet(tmp_path / "train.parquet", index=False)
    current = _table(500, 3)
    text = current.assign(member=np.where(current["member"], "Yes", "n").astype(object))
    text.loc[7, "member"] = "maybe"
    text.to_csv(tmp_path / "new.csv", index=False)
    args = ["drift", "--params", str(tmp_path / "params.yaml"), "--schema",
            str(tmp_path / "schema.yaml"), "--reference", str(tmp_path / "train.parquet"),
            "--current", str(tmp_path / "new.csv"),
            "--output-json", str(tmp_path / "d.json")]  # fmt: skip
    with caplog.at_level("WARNING"):
        assert main(args) == 0
    member = json.loads((tmp_path / "d.json").read_text())["features"]["member"]
    typed = current.assign(member=current["member"].astype("boolean"))
    typed.loc[7, "member"] = pd.NA
    expected = compute_drift(reference, typed, schema, DriftConfig(psi_threshold=0.2))
    expected_member = expected.as_dict()["features"]["member"]
    assert member == expected_member and member["current_rows"] == 499
    assert member["psi"] < 0.05 and member["flags"] == []
    assert (
        f"{tmp_path / 'new.csv'}: column 'member': 1 value(s) are not yes/no (true/false, y/n, "
        "t/f, 1/0, any case) and became missing values, e.g. 'maybe'"
    ) in [r.getMessage() for r in caplog.records]


def test_yes_no_text_in_a_boolean_column_is_compared_as_true_and_false(schema) -> None:
    # A table that kept the column as text (10 % 'maybe'): yes/no values are still True /
    # False, and 'maybe' is a category the reference lacks.
    reference, current = _table(2000, 1), _table(500, 3)
    text = np.where(current["member"], "YES", "no").astype(object)
    text[::10] = "maybe"
    report = compute_drift(reference, current.assign(member=text), schema, CONFIG)
    typed = current["member"].astype(object)
    typed[::10] = "maybe"
    same = compute_drift(reference, current.assign(member=typed), schema, CONFIG)
    assert report.as_dict()["features"]["member"] == same.as_dict()["features"]["member"]
    r_counts = reference["member"].value_counts()
    c_counts = pd.Series(typed).astype(str).value_counts()
    keys = ["False", "True", "maybe"]
    expected = psi(
        np.array([r_counts.get(k == "True", 0) if k != "maybe" else 0 for k in keys], float),
        np.array([c_counts.get(k, 0) for k in keys], float),
    )
    assert report.features[[f.column for f in report.features].index("member")].psi == round(
        expected, 6
    )


def test_cli_keeps_a_yes_no_categorical_column_as_text(tmp_path) -> None:
    # The column was text in training ('maybe' among Y/n): a CSV batch that is 99 % Y/n must not
    # be read as booleans, whose 'True'/'False' would be categories the reference lacks.
    from mlpipe.cli import main
    from mlpipe.data.schema import dump_schema

    reference = _table(2000, 1)
    answers = np.asarray(["Y", "n", "maybe"], dtype=object)
    reference["plan"] = answers[np.random.default_rng(1).choice(3, 2000, p=[0.5, 0.45, 0.05])]
    schema = infer_schema(reference, "y", id_columns=("id",))
    assert schema.column("plan").categories == ("Y", "maybe", "n")
    (tmp_path / "params.yaml").write_text("drift: {psi_threshold: 0.2}\n")
    (tmp_path / "schema.yaml").write_text(dump_schema(schema))
    reference.to_parquet(tmp_path / "train.parquet", index=False)
    current = _table(500, 3).assign(plan=["Y", "n"] * 249 + ["maybe", "Y"])
    current.to_csv(tmp_path / "new.csv", index=False)
    args = ["drift", "--params", str(tmp_path / "params.yaml"), "--schema",
            str(tmp_path / "schema.yaml"), "--reference", str(tmp_path / "train.parquet"),
            "--current", str(tmp_path / "new.csv"),
            "--output-json", str(tmp_path / "d.json")]  # fmt: skip
    assert main(args) == 0
    plan = json.loads((tmp_path / "d.json").read_text())["features"]["plan"]
    expected = compute_drift(reference, current, schema, DriftConfig(psi_threshold=0.2))
    assert plan == expected.as_dict()["features"]["plan"] and plan["current_rows"] == 500
    assert plan["psi"] < 0.2


@pytest.mark.parametrize("unlabelled", [0.1, 0.5])
def test_missing_labels_are_no_class_of_the_target(schema, unlabelled: float) -> None:
    """The user review's case (F11): 10 % of a batch's labels not known yet gave the target PSI
    0.82 and 'drifted', missing counting as a class the training labels never had. The target
    is compared on its labelled rows only: as if the unlabelled rows were not there."""
    current = _table(1000, 2)
    current["y"] = current["y"].astype("Int64")
    current.loc[current.sample(frac=unlabelled, random_state=0).index, "y"] = pd.NA
    report = compute_drift(_table(2000, 1), current, schema, CONFIG)
    y = next(f for f in report.features if f.column == "y")
    labelled = current.dropna(subset=["y"])
    alone = compute_drift(_table(2000, 1), labelled, schema, CONFIG)
    assert y == next(f for f in alone.features if f.column == "y")
    assert y.current_rows == len(labelled) == round(1000 * (1 - unlabelled))
    assert y.psi < 0.02 and y.flags == () and report.drifted == ()
    # the same gaps in a feature are still a category: a real change of the data
    current["plan"] = current["plan"].where(current["y"].notna(), None)
    gaps = compute_drift(_table(2000, 1), current, schema, CONFIG)
    plan = next(f for f in gaps.features if f.column == "plan")
    assert plan.current_rows == len(labelled) and plan.psi > 0.2 and gaps.drifted == ("plan",)


def test_missing_values_of_a_regression_target_are_left_out() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(100, 10, 2000)})
    current = pd.DataFrame({"x": rng.normal(size=600), "y": rng.normal(100, 10, 600)})
    current.loc[:199, "y"] = np.nan  # a third not known yet
    schema = infer_schema(reference, "y")
    assert schema.task == "regression"
    y = compute_drift(reference, current, schema, CONFIG).features[1]
    assert y.current_rows == 400 and y.test == "ks" and y.psi < 0.05 and y.flags == ()
    x = compute_drift(
        reference, current.assign(x=current["x"].where(current["y"].notna())), schema, CONFIG
    ).features[0]
    assert x.psi > 0.2  # a feature's missing values are their own bin


def test_markdown_escapes_column_names_and_says_when_it_shortens() -> None:
    """Column names are data: drift.md renders on GitHub, so none may mention, inject HTML or
    shift the table; a very long one is shortened and the report says so."""
    long = "@octocat " + "z" * 100

    def feature(name: str, psi: float) -> FeatureDrift:
        flags = ("psi", "test") if psi >= 0.2 else ()
        return FeatureDrift(name, "categorical", psi, "chi2", 3.5, 0.001, 80, 20, flags)

    report = DriftReport(
        80,
        20,
        0.2,
        0.01,
        (feature("income | net", 0.4512), feature("<img src=x>", 0.3), feature(long, 0.01)),
        missing_columns=("@octocat",),
        not_compared=(("#12", "id column: changes by design"),),
    )
    text = drift_markdown(report)
    cell_counts_match(text)
    assert foreign_html(text) == [] and mentions(text) == []
    (table,) = tables(text)
    assert table.row("income | net")[table.column("PSI")] == "0.4512"
    assert table.row("<img src=x>")[table.column("drifted")] == "yes"
    assert table.row(long[:79] + "…")[table.column("PSI")] == "0.0100"
    assert text.endswith(
        "Column names longer than 80 characters are shortened here (ending in …); the JSON "
        "drift report holds them in full.\n"
    )
    assert "shortened" not in drift_markdown(dataclasses.replace(report, features=()))


@pytest.mark.parametrize("seed", range(6))
def test_quantiles_and_ks_from_counts_are_numpys_and_scipys_on_the_rows(seed: int) -> None:
    """Drift never rebuilds a column's rows from its counts: its quantiles and KS test read
    the counts, and give the very floats numpy and scipy give on the rows (ties, one value,
    sizes of 1 and 2, dates as seconds included)."""
    from scipy import stats

    from mlpipe.data.drift import ColumnCounts, ks_of_counts, quantiles_of_counts

    rng = np.random.default_rng(seed)
    for size in (1, 2, 3, 37, 1000, 20_011):
        distinct = int(rng.integers(1, min(size, 400) + 1))
        pool = np.sort(rng.normal(size=distinct) * 10 ** rng.integers(0, 9))
        rows = [rng.choice(pool, size), rng.choice(pool[: max(1, distinct // 2)], size + 5)]
        sides = []
        for values in rows:
            unique, counts = np.unique(values, return_counts=True)
            sides.append(ColumnCounts(unique, counts, len(values), len(values) + 3))
        q = np.linspace(0, 1, 11)[1:-1]
        expected = np.quantile(np.sort(rows[0]), q)
        assert quantiles_of_counts(sides[0], q).tobytes() == expected.tobytes(), size
        result = stats.ks_2samp(rows[0], rows[1], method="asymp")
        assert ks_of_counts(*sides) == (float(result.statistic), float(result.pvalue)), size
