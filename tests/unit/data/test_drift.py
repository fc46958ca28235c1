"""Drift per feature: PSI, KS / chi-square, flags, JSON round trip and markdown."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import DriftConfig
from mlpipe.data.drift import (
    DriftError,
    compute_drift,
    drift_markdown,
    psi,
    report_from_dict,
)
from mlpipe.data.schema import infer_schema

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
    assert names == ["amount", "calls", "plan", "member", "day", "y"]  # schema order, no id
    tests = {f.column: (f.kind, f.test) for f in report.features}
    assert tests["amount"] == ("numeric", "ks") and tests["day"] == ("datetime", "ks")
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


def test_missing_columns_are_listed_and_too_few_rows_skip_the_test(schema) -> None:
    current = _table(20, 6).drop(columns=["calls"])
    report = compute_drift(_table(2000, 1), current, schema, CONFIG)
    assert report.missing_columns == ("calls",)
    assert {f.test for f in report.features} == {"none"}
    assert all(f.statistic is None and f.p_value is None for f in report.features)


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
    assert first["drifted"] == ["amount"]
    assert first["features"]["amount"]["flags"] == ["psi", "test"]


def test_markdown_lists_flagged_columns_first(schema) -> None:
    report = compute_drift(_table(2000, 1), _table(500, 3, shift=8.0), schema, CONFIG)
    text = drift_markdown(report)
    lines = text.splitlines()
    assert lines[0].startswith("**Data drift**: 1 of 6 columns drifted (PSI >= 0.2 and p-value")
    assert lines[2] == "| column | kind | PSI | test | statistic | p-value | flags | drifted |"
    assert lines[4].startswith("| amount | numeric |")
    assert lines[4].endswith("| psi, test | **yes** |")
    assert len(lines) == 4 + 6


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
    assert out_md.read_text().startswith("**Data drift**: 1 of 6 columns drifted")
    missing = [*args[:-1], str(tmp_path / "nope.csv"), "--output-json", str(tmp_path / "x.json")]
    assert main(missing) == 2
    assert not (tmp_path / "x.json").exists()


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
